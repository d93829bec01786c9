"""The region tree through the public API: detail, locate, datums, and the data itself."""

from __future__ import annotations

import pytest
from shapely.geometry import Point, shape

from nuanxin.geo.datum import CRS, from_wgs84, to_wgs84
from nuanxin.geo.models import Region, RegionLevel
from nuanxin.geo.named_places import NAMED_STATIONS, NAMED_STREETS
from nuanxin.geo.spatial import haversine_m

pytestmark = pytest.mark.django_db

YIJIASHAN_CENTRE = (29.3155, 120.0782)


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def assert_error(body, code):
    assert body["code"] == code
    assert body["message"] and body["message_en"]
    assert "Traceback" not in body["message"]


# --- GET /api/v1/regions/{code} ------------------------------------------------------------


def test_province_detail(api):
    body = get_json(api, "/api/v1/regions/330000")
    assert body["code"] == "330000"
    assert body["name"] == "浙江省"
    assert body["level"] == "province"
    assert body["parent"] is None
    children = body["children"]
    assert len(children) == 11
    assert {c["level"] for c in children} == {"city"}
    names = {c["name"] for c in children}
    assert {"杭州市", "宁波市", "温州市", "金华市", "台州市", "舟山市"} <= names
    assert [c["code"] for c in children] == sorted(c["code"] for c in children)


def test_city_detail(api):
    body = get_json(api, "/api/v1/regions/330700")
    assert (body["name"], body["level"]) == ("金华市", "city")
    assert body["parent"] == {"code": "330000", "name": "浙江省", "level": "province"}
    codes = {c["code"]: c for c in body["children"]}
    assert codes["330782"]["name"] == "义乌市"
    assert {c["level"] for c in body["children"]} == {"district"}


def test_district_detail(api):
    body = get_json(api, "/api/v1/regions/330782")
    assert (body["name"], body["level"]) == ("义乌市", "district")
    assert body["parent"]["code"] == "330700"
    assert {"code": "330782001", "name": "稠城街道", "level": "street"} in body["children"]
    assert body["center"] is not None


def test_street_detail(api):
    body = get_json(api, "/api/v1/regions/330782001")
    assert (body["name"], body["level"]) == ("稠城街道", "street")
    assert body["parent"] == {"code": "330782", "name": "义乌市", "level": "district"}
    assert body["children"] == [
        {"code": "330782001001", "name": "义驾山社区", "level": "community"}
    ]


def test_community_detail(api):
    body = get_json(api, "/api/v1/regions/330782001001")
    assert (body["name"], body["level"]) == ("义驾山社区", "community")
    assert body["parent"] == {"code": "330782001", "name": "稠城街道", "level": "street"}
    assert body["children"] == []
    assert body["center"] == {"lat": 29.3155, "lng": 120.0782}


@pytest.mark.parametrize("code", ["999999", "330799", "3307820010019", "abc", "33"])
def test_unknown_region_is_a_json_404(api, code):
    body = get_json(api, f"/api/v1/regions/{code}", status=404)
    assert_error(body, "region_not_found")


def test_region_centre_honours_crs(api):
    wgs = get_json(api, "/api/v1/regions/330782001001")["center"]
    for crs in ("gcj02", "bd09"):
        shown = get_json(api, f"/api/v1/regions/330782001001?crs={crs}")["center"]
        assert (shown["lat"], shown["lng"]) == from_wgs84(wgs["lat"], wgs["lng"], CRS(crs))
        assert haversine_m(wgs["lat"], wgs["lng"], shown["lat"], shown["lng"]) > 100


def test_region_detail_query_budget(api, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        get_json(api, "/api/v1/regions/330000")


# --- locate --------------------------------------------------------------------------------


def locate(api, lat, lng, crs=None, status=200):
    url = f"/api/v1/regions/locate?lat={lat}&lng={lng}" + (f"&crs={crs}" if crs else "")
    return get_json(api, url, status=status)


def test_locate_yijiashan(api):
    body = locate(api, *YIJIASHAN_CENTRE)
    assert body == {
        "province": {"code": "330000", "name": "浙江省"},
        "city": {"code": "330700", "name": "金华市"},
        "district": {"code": "330782", "name": "义乌市"},
    }


NAMED_COMMUNITIES = [
    (district, name, lat, lng)
    for district, _street, _suffix, communities in NAMED_STREETS
    for name, _csuffix, lat, lng in communities
]


@pytest.mark.parametrize(("district", "name", "lat", "lng"), NAMED_COMMUNITIES,
                         ids=[c[1] for c in NAMED_COMMUNITIES])
def test_locate_every_named_community(api, district, name, lat, lng):
    body = locate(api, lat, lng)
    assert body["district"]["code"] == district
    assert body["city"]["code"] == district[:4] + "00"
    assert body["province"]["code"] == "330000"


@pytest.mark.parametrize(("code", "name", "lat", "lng"),
                         [(s[0], s[1], s[3], s[4]) for s in NAMED_STATIONS],
                         ids=[s[1] for s in NAMED_STATIONS])
def test_named_stations_lie_in_their_district(api, code, name, lat, lng):
    assert locate(api, lat, lng)["district"]["code"] == code[:6]


CITY_POINTS = [
    # (city code, city name, district code, lat, lng) — WGS-84 points in each city's centre
    ("330100", "杭州市", "330106", 30.2590, 120.1300),  # 西湖区
    ("330200", "宁波市", "330203", 29.8700, 121.5440),  # 海曙区
    ("330300", "温州市", "330302", 28.0170, 120.6500),  # 鹿城区
    ("330400", "嘉兴市", "330402", 30.7470, 120.7550),  # 南湖区
    ("330500", "湖州市", "330502", 30.8930, 120.0870),  # 吴兴区
    ("330600", "绍兴市", "330602", 30.0000, 120.5800),  # 越城区
    ("330700", "金华市", "330702", 29.0790, 119.6470),  # 婺城区
    ("330800", "衢州市", "330802", 28.9700, 118.8590),  # 柯城区
    ("330900", "舟山市", "330902", 30.0160, 122.1070),  # 定海区
    ("331000", "台州市", "331002", 28.6560, 121.4200),  # 椒江区
    ("331100", "丽水市", "331102", 28.4500, 119.9200),  # 莲都区
]


@pytest.mark.parametrize(("city", "city_name", "district", "lat", "lng"), CITY_POINTS,
                         ids=[c[1] for c in CITY_POINTS])
def test_locate_a_point_in_each_city(api, city, city_name, district, lat, lng):
    body = locate(api, lat, lng)
    assert body["city"] == {"code": city, "name": city_name}
    assert body["district"]["code"] == district


@pytest.mark.parametrize(("lat", "lng"), [
    (31.2304, 121.4737),  # 上海 人民广场
    (39.9042, 116.4074),  # 北京
    (29.5000, 123.5000),  # 东海
    (31.3000, 120.6000),  # 苏州, just north of 嘉兴
    (-33.8688, 151.2093),  # Sydney, outside China: datum conversion is the identity
    (0, 0),
])
def test_locate_outside_zhejiang(api, lat, lng):
    for crs in (None, "gcj02", "bd09"):
        body = locate(api, lat, lng, crs=crs, status=404)
        assert_error(body, "outside_service_area")


WGS_POINTS = [YIJIASHAN_CENTRE, (30.2590, 120.1300), (27.9597, 120.6195), (30.0190, 122.1120)]


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
@pytest.mark.parametrize(("lat", "lng"), WGS_POINTS)
def test_locate_accepts_chinese_datums(api, crs, lat, lng):
    expected = locate(api, lat, lng)
    shifted = from_wgs84(lat, lng, CRS(crs))
    # The shift is real (hundreds of metres), so ignoring crs would be caught...
    assert haversine_m(lat, lng, *shifted) > 100
    # ...and converting back lands within a metre of the original point.
    back = to_wgs84(*shifted, CRS(crs))
    assert haversine_m(lat, lng, *back) < 1.0
    assert locate(api, shifted[0], shifted[1], crs=crs) == expected


def test_locate_converts_crs_near_a_border(api):
    """A point ~100 m inside 义乌's border, given in GCJ-02, is found in 义乌 — whereas its
    GCJ-02 numbers read as WGS-84 (~500 m off) would land in a neighbouring district."""
    from nuanxin.geo.selectors import locate_district_code

    inner = shape(Region.objects.get(code="330782").boundary).buffer(-0.001)
    rings = [inner.exterior] if inner.geom_type == "Polygon" else [g.exterior for g in inner.geoms]
    for lng, lat in (xy for ring in rings for xy in ring.coords):
        g_lat, g_lng = from_wgs84(lat, lng, CRS.GCJ02)
        if locate_district_code(g_lat, g_lng) not in (None, "330782"):
            break
    else:
        pytest.fail("no border point found")
    assert locate(api, g_lat, g_lng, crs="gcj02")["district"]["code"] == "330782"
    assert locate(api, g_lat, g_lng)["district"]["code"] != "330782"


@pytest.mark.parametrize("query", [
    "lat=91&lng=120",
    "lat=-91&lng=120",
    "lat=29&lng=181",
    "lat=29&lng=-180.5",
    "lat=abc&lng=120",
    "lat=29&lng=",
    "lat=29",
    "lng=120",
    "",
    "lat=nan&lng=120",
    "lat=29&lng=inf",
    "lat=29.3&lng=120.07&crs=utm",
    "lat=29.3&lng=120.07&crs=WGS84x",
    "lat=29.3,120.07&lng=120",
])
def test_locate_bad_input_is_400(api, query):
    body = get_json(api, f"/api/v1/regions/locate?{query}", status=400)
    assert_error(body, "invalid_input")
    assert body["fields"], body


def test_region_detail_bad_crs_is_400(api):
    assert_error(get_json(api, "/api/v1/regions/330000?crs=mars", status=400), "invalid_input")


# --- the data ------------------------------------------------------------------------------


def test_ninety_districts_each_with_a_boundary_and_a_centre_inside():
    districts = list(Region.objects.filter(level=RegionLevel.DISTRICT))
    assert len(districts) == 90
    assert all(d.code.startswith("33") for d in districts)
    for d in districts:
        assert d.boundary, d.code
        geometry = shape(d.boundary)
        assert geometry.is_valid or geometry.buffer(0).area > 0, d.code
        assert geometry.area > 0, d.code
        assert d.center_lat is not None and d.center_lng is not None, d.code
        assert geometry.contains(Point(d.center_lng, d.center_lat)), d.code


def test_every_district_centre_locates_to_its_own_district(api):
    from nuanxin.geo.selectors import locate_district_code

    wrong = {
        d.code: locate_district_code(d.center_lat, d.center_lng)
        for d in Region.objects.filter(level=RegionLevel.DISTRICT)
        if locate_district_code(d.center_lat, d.center_lng) != d.code
    }
    assert wrong == {}


def test_tree_shape():
    assert Region.objects.filter(level=RegionLevel.PROVINCE).count() == 1
    cities = Region.objects.filter(level=RegionLevel.CITY)
    assert cities.count() == 11
    assert set(cities.values_list("parent_id", flat=True)) == {"330000"}
    for district in Region.objects.filter(level=RegionLevel.DISTRICT).select_related("parent"):
        assert district.parent.level == RegionLevel.CITY
        assert district.code.startswith(district.parent.prefix)
    for region in Region.objects.filter(level__in=[RegionLevel.STREET, RegionLevel.COMMUNITY]):
        assert region.code.startswith(region.parent.prefix)
        assert len(region.code) == (9 if region.level == RegionLevel.STREET else 12)


def test_loading_twice_changes_nothing():
    from nuanxin.geo.services import regions_load_zhejiang

    before = Region.objects.count()
    regions_load_zhejiang()
    assert Region.objects.count() == before
