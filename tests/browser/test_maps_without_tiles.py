"""Maps with no tiles and the district picker, on a 360 × 640 phone (issue 8, items 11, 12)."""

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from nuanxin.stations import services
from tests.factories.people import SuperuserFactory
from tests.factories.places import YIJIASHAN, YIJIASHAN_POINT, YIWU

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Nothing listens on the discard port: every tile fails, as with no network or AMap blocked.
DEAD_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"
SHOTS = Path(os.environ.get("NUANXIN_SCREENSHOTS", tempfile.gettempdir()))


@pytest.fixture
def stations(regions):
    root = SuperuserFactory()
    made = []
    # Five stations a few metres apart (one street corner) and five spread over the town.
    spots = [(0.0004 + i * 0.00005, 0.0) for i in range(5)]
    spots += [(0.01, 0.01), (-0.01, 0.02), (0.02, -0.01), (-0.02, -0.02), (0.03, 0.0)]
    for n, (dlat, dlng) in enumerate(spots, start=1):
        station = services.station_create(user=root, data=services.StationData(
            name=f"驿站{n}号", type="center", region_code=YIJIASHAN,
            lat=YIJIASHAN_POINT[0] + dlat, lng=YIJIASHAN_POINT[1] + dlng, amenities=("hot_water",),
        ))
        services.station_set_hours(user=root, station_id=station.pk,
                                   spans=[(w, 0, 1440) for w in range(7)])
        made.append(station)
    return made


def test_without_tiles_the_map_shows_district_outlines_and_the_nearest_station_is_on_screen(
        new_page, stations, settings):
    settings.NUANXIN_TILE_URL = DEAD_TILES
    new_page.allow_error_status("127.0.0.1:9")  # the one probe tile
    page = new_page(geolocation={"latitude": YIJIASHAN_POINT[0], "longitude": YIJIASHAN_POINT[1]},
                    permissions=["geolocation"])
    page.set_viewport_size({"width": 360, "height": 640})
    tile_requests = []
    page.on("request", lambda r: tile_requests.append(r.url) if ":9/" in r.url else None)

    page.goto("/")
    first = page.locator("#results li").first
    expect(first).to_contain_text("驿站1号")
    box = first.bounding_box()
    assert box["y"] + box["height"] <= 640, "the nearest station is below the fold"
    page.screenshot(path=str(SHOTS / "home-no-tiles-360x640.png"))

    # The shipped boundaries are drawn and named; the failed tiles are gone for good.
    expect(page.locator("#map .district-label", has_text="义乌市")).to_be_visible()
    assert page.locator("#map .leaflet-overlay-pane path").count() >= 1
    expect(page.locator("#map.no-tiles")).to_have_count(1)
    expect(page.locator("#map .leaflet-tile")).to_have_count(0)
    # The street corner's five stations (at least) merge into one numbered cluster.
    expect(page.locator("#map .marker-cluster").first).to_be_visible()
    page.locator("#map").screenshot(path=str(SHOTS / "home-map-no-tiles.png"))
    assert len(tile_requests) == 1

    # The next page remembers the failure instead of logging it again.
    page.goto(f"/stations/{stations[0].pk}/")
    expect(page.locator("#map .district-label", has_text="义乌市")).to_be_visible()
    page.screenshot(path=str(SHOTS / "station-no-tiles-360.png"), full_page=True)
    assert len(tile_requests) == 1


def test_district_picker_says_what_the_list_is_ordered_by_and_stays_visible(
        new_page, stations):
    page = new_page()
    page.goto("/?district=330782")
    expect(page.locator("#ordered-by")).to_contain_text("按到义乌市中心的距离排序（不是您的位置）")
    expect(page.locator("#ordered-by")).not_to_contain_text("您当前位置查找")
    expect(page.locator("#results li").first).to_contain_text("距中心")
    picker = page.locator("select#district")
    expect(picker).to_be_visible()
    expect(picker).to_have_value(YIWU)
    picker.select_option("330703")  # 金东区
    expect(page.locator("#ordered-by")).to_contain_text("按到金东区中心的距离排序")

    located = new_page(geolocation={"latitude": YIJIASHAN_POINT[0],
                                    "longitude": YIJIASHAN_POINT[1]},
                       permissions=["geolocation"])
    located.goto("/")
    expect(located.locator("#ordered-by")).to_have_text(
        "按到您当前位置的距离排序 · 重新定位")
    expect(located.locator("#results li").first).not_to_contain_text("距中心")
    # Choosing a district from there lists around the district, not the old position.
    located.locator("select#district").select_option(YIWU)
    expect(located.locator("#ordered-by")).to_contain_text("按到义乌市中心的距离排序")
