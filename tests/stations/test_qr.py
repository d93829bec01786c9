"""Printable check-in QR codes: PNG and SVG that read back to the signed check-in URL."""

from __future__ import annotations

import struct
import zlib

import numpy
import pytest
import zxingcpp
from django.contrib.staticfiles import finders
from django.core import signing
from django.urls import reverse

from nuanxin.accounts.models import StaffRole
from nuanxin.common.errors import ServiceError
from nuanxin.common.qr import qr_png
from nuanxin.stations import qr
from tests.factories.people import StaffFactory, login
from tests.factories.places import CHUITAI, YIJIASHAN, StationFactory

pytestmark = pytest.mark.django_db


def png_to_array(data: bytes) -> numpy.ndarray:
    """Decode a greyscale or palette PNG (what segno writes) into an 8-bit grey array, so
    zxing-cpp can read it without an imaging library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, palette = 8, b"", None
    width = height = depth = colour = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"PLTE":
            palette = [sum(body[i:i + 3]) // 3 for i in range(0, len(body), 3)]
        elif kind == b"IDAT":
            idat += body
    assert colour in (0, 3) and depth in (1, 2, 4, 8), (colour, depth)
    raw = zlib.decompress(idat)
    stride = (width * depth + 7) // 8
    rows, previous = [], bytearray(stride)
    for y in range(height):
        filter_type = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - 1] if x else 0
            up, up_left = previous[x], previous[x - 1] if x else 0
            if filter_type == 1:
                line[x] = (line[x] + left) & 0xFF
            elif filter_type == 2:
                line[x] = (line[x] + up) & 0xFF
            elif filter_type == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif filter_type == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[x] = (line[x] + pred) & 0xFF
        rows.append(line)
        previous = line
    bits = numpy.unpackbits(numpy.frombuffer(b"".join(rows), dtype=numpy.uint8)
                            .reshape(height, stride), axis=1, bitorder="big")
    if depth != 1:
        raise AssertionError("only 1-bit images are expected from segno")
    values = bits[:, :width]
    if palette is not None:
        table = numpy.array(palette, dtype=numpy.uint8)
        return table[values]
    return (values * 255).astype(numpy.uint8)


@pytest.fixture
def keeper():
    return StaffFactory(role=StaffRole.STATION_KEEPER, region_code=YIJIASHAN)


@pytest.fixture
def station():
    return StationFactory(region_code=YIJIASHAN, name="义驾山社区党群服务中心")


def token_of(url: str) -> str:
    prefix = "http://testserver" + reverse("stations:checkin", args=["X"]).replace("X/", "")
    assert url.startswith(prefix) and url.endswith("/")
    return url[len(prefix):-1]


def test_png_reads_back_to_the_checkin_url(client, keeper, station):
    login(client, keeper)
    response = client.get(reverse("console:station_qr_png", args=[station.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert f"station-{station.pk}-qr.png" in response["Content-Disposition"]
    results = zxingcpp.read_barcodes(png_to_array(response.content))
    assert len(results) == 1
    url = results[0].text
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    token = token_of(url)
    assert url == "http://testserver" + reverse("stations:checkin", args=[token])
    assert qr.station_id_from_token(token) == station.pk


def test_drawn_png_round_trips_any_url():
    url = "https://nuanxin.example.cn/c/" + qr.station_token(123456) + "/"
    results = zxingcpp.read_barcodes(png_to_array(qr_png(url, scale=4)))
    assert [r.text for r in results] == [url]


def test_svg_download_and_poster(client, keeper, station):
    login(client, keeper)
    svg = client.get(reverse("console:station_qr_svg", args=[station.pk]))
    assert svg.status_code == 200
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg.content.startswith(b"<?xml") and b"<svg" in svg.content
    assert station.name.encode() in svg.content  # as the <title>
    inline = client.get(reverse("console:station_qr_svg", args=[station.pk]), {"download": "0"})
    assert "Content-Disposition" not in inline

    poster = client.get(reverse("console:station_qr", args=[station.pk]), {"size": "a6"})
    body = poster.content.decode()
    assert poster.status_code == 200
    assert station.name in body and "扫码签到" in body
    # The A6 size travels as the poster's class; the console stylesheet gives it its own
    # printed page size (no style block in the page).
    assert 'class="poster a6"' in body
    with open(finders.find("nuanxin/console.css"), encoding="utf-8") as css:
        assert "@page a6 { size: 105mm 148mm" in css.read()
    assert reverse("console:station_qr_svg", args=[station.pk]) in body
    assert qr.station_id_from_token(token_of(poster.context["poster"].url)) == station.pk


def test_qr_of_a_station_out_of_scope_is_404(client, keeper):
    foreign = StationFactory(region_code=CHUITAI)
    login(client, keeper)
    for name in ("station_qr", "station_qr_png", "station_qr_svg"):
        assert client.get(reverse(f"console:{name}", args=[foreign.pk])).status_code == 404


def test_forged_tokens_are_refused(station):
    token = qr.station_token(station.pk)
    body, _sep, signature = token.rpartition(":")
    forged = [
        f"{body}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",  # tampered signature
        qr.station_token(station.pk).replace(token.split(":")[0], "eyJzIjo5OTk5OX0"),  # payload
        signing.dumps({"s": station.pk}, key="not-our-key", salt="nuanxin.stations.checkin",
                      compress=True),
        signing.dumps({"s": station.pk}, salt="another.purpose", compress=True),
        "not-a-token",
    ]
    for value in forged:
        with pytest.raises(ServiceError) as caught:
            qr.station_id_from_token(value)
        assert caught.value.code == "qr_invalid", value
