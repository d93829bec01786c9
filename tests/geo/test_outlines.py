"""District outlines for map backdrops: GET /api/v1/regions/outlines."""

import pytest

from nuanxin.geo.datum import CRS, from_wgs84

pytestmark = pytest.mark.django_db

# A box around 义驾山 in 义乌市 (WGS-84).
YIWU_BOX = {"south": 29.30, "west": 120.06, "north": 29.33, "east": 120.09}


def test_the_district_under_a_box_comes_back_named_with_a_label_point(api):
    response = api.get("/api/v1/regions/outlines", YIWU_BOX)
    assert response.status_code == 200
    assert "max-age" in response["Cache-Control"]
    features = response.json()["features"]
    names = {f["properties"]["name"] for f in features}
    assert "义乌市" in names
    assert len(features) < 6  # only the districts crossing the box, not the province
    yiwu = next(f for f in features if f["properties"]["name"] == "义乌市")
    assert yiwu["geometry"]["type"] in ("Polygon", "MultiPolygon")
    lat, lng = yiwu["properties"]["label"]
    assert 28.9 < lat < 29.6 and 119.8 < lng < 120.4


def test_the_whole_province_fits_one_request(api):
    """The console's overview frames every cabinet in Zhejiang: its backdrop is one request."""
    response = api.get("/api/v1/regions/outlines",
                       {"south": 26.8, "west": 117.9, "north": 31.3, "east": 123.3})
    assert response.status_code == 200
    names = {f["properties"]["name"] for f in response.json()["features"]}
    assert {"义乌市", "西湖区", "鹿城区"} <= names


def test_outlines_follow_the_map_datum(api):
    wgs = api.get("/api/v1/regions/outlines", YIWU_BOX).json()
    gcj = api.get("/api/v1/regions/outlines", {**YIWU_BOX, "crs": "gcj02"}).json()

    def first_point(data):
        f = next(f for f in data["features"] if f["properties"]["name"] == "义乌市")
        ring = f["geometry"]["coordinates"]
        while isinstance(ring[0][0], list):
            ring = ring[0]
        return ring[0]

    lng, lat = first_point(wgs)
    expected_lat, expected_lng = from_wgs84(lat, lng, CRS.GCJ02)
    got_lng, got_lat = first_point(gcj)
    assert got_lat == pytest.approx(expected_lat, abs=1e-4)
    assert got_lng == pytest.approx(expected_lng, abs=1e-4)


@pytest.mark.parametrize("box, code", [
    ({"south": 29.4, "west": 120.0, "north": 29.3, "east": 120.1}, "bad_box"),
    ({"south": 20.0, "west": 110.0, "north": 35.0, "east": 125.0}, "box_too_large"),
])
def test_a_wrong_box_is_a_clear_4xx(api, box, code):
    response = api.get("/api/v1/regions/outlines", box)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["message"]


def test_a_missing_or_out_of_range_corner_is_refused(api):
    response = api.get("/api/v1/regions/outlines", {**YIWU_BOX, "north": 95})
    assert 400 <= response.status_code < 500
    assert "code" in response.json()
