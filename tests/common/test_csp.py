"""The Content-Security-Policy header: on every response, with the tile host's images."""

import pytest

from nuanxin.common.csp import tile_source

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url, source", [
    ("https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}",
     "https://*.is.autonavi.com"),
    ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
    ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
    ("", None),
    ("/tiles/{z}/{x}/{y}.png", None),
])
def test_tile_source(url, source):
    assert tile_source(url) == source


def test_pages_api_and_errors_carry_the_policy(api, settings):
    settings.NUANXIN_TILE_URL = "https://webrd0{s}.is.autonavi.com/appmaptile?x={x}"
    for path, status in [("/", 200), ("/api/v1/regions/330782", 200), ("/no-such-page/", 404)]:
        response = api.get(path)
        assert response.status_code == status
        policy = response["Content-Security-Policy"]
        assert "script-src 'self';" in policy
        assert "object-src 'none'" in policy
        assert "img-src 'self' data: blob: https://*.is.autonavi.com;" in policy


def test_report_only_mode(api, settings):
    settings.NUANXIN_CSP_REPORT_ONLY = True
    response = api.get("/")
    assert "Content-Security-Policy" not in response
    assert "script-src 'self'" in response["Content-Security-Policy-Report-Only"]
