"""One signed-code helper: codes made before it existed still read (printed posters), a
wrong, expired or foreign code is refused with a clear code, and the QR image round-trips."""

from __future__ import annotations

import pytest
import zxingcpp
from django.core import signing

from nuanxin.common.codes import SignedCode
from nuanxin.common.errors import ServiceError
from nuanxin.common.qr import qr_png, qr_svg
from nuanxin.stations.qr import CHECKIN, station_id_from_token, station_token
from nuanxin.surveys.selectors import survey_id_from_token, survey_token
from tests.stations.test_qr import png_to_array

TIMED = SignedCode(salt="tests.timed", field="x", max_age=60, invalid="bad", expired="old")
UNTIMED = SignedCode(salt="tests.untimed", field="x", invalid="bad")


def test_codes_printed_before_the_helper_still_read():
    old_station = signing.dumps({"s": 7}, salt="nuanxin.stations.checkin", compress=True)
    old_survey = signing.Signer(salt="nuanxin.surveys.answer").sign_object({"v": 9},
                                                                          compress=True)
    assert station_id_from_token(old_station) == 7
    assert survey_id_from_token(old_survey) == 9
    assert survey_token(9) == old_survey  # an untimed code is the same every time


@pytest.mark.parametrize("code", [TIMED, UNTIMED])
def test_round_trip_and_refusals(code):
    assert code.read(code.make(42)) == 42
    for bad in ["", "nonsense", code.make(42) + "x", UNTIMED.make(1) if code is TIMED
                else TIMED.make(1)]:
        with pytest.raises(ServiceError) as caught:
            code.read(bad)
        assert caught.value.code == "qr_invalid"


def test_a_code_of_another_kind_or_shape_is_refused():
    other = SignedCode(salt="tests.timed", field="y", max_age=60, invalid="bad")
    with pytest.raises(ServiceError):
        TIMED.read(other.make(1))
    with pytest.raises(ServiceError):
        TIMED.read(signing.dumps({"x": True}, salt="tests.timed", compress=True))


def test_an_old_timed_code_expires():
    token = station_token(5)
    with pytest.raises(ServiceError) as caught:
        CHECKIN.read(token, max_age=-1)
    assert caught.value.code == "qr_expired"


def test_peek_says_what_a_good_code_carries_and_nothing_for_another():
    assert TIMED.peek(TIMED.make(7)) == 7
    assert UNTIMED.peek(UNTIMED.make(8)) == 8
    assert TIMED.peek(UNTIMED.make(7)) is None
    assert TIMED.peek("not-a-code") is None


def test_qr_images_carry_the_address():
    url = "https://example.org/s/abc"
    found = zxingcpp.read_barcodes(png_to_array(qr_png(url)))
    assert [r.text for r in found] == [url]
    assert qr_svg(url, title="义驾山").startswith(b"<?xml")
