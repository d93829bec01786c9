"""Signed check-in codes. The token names the station; only this server can make one. The
code on the poster is the absolute address of the check-in page with the token in it."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from nuanxin.common.codes import YEAR, SignedCode
from nuanxin.stations.models import Station

# A printed code lives on a wall for years; rotation happens by reprinting (new key epoch).
MAX_AGE_SECONDS = 3 * YEAR

CHECKIN = SignedCode(
    salt="nuanxin.stations.checkin", field="s", max_age=MAX_AGE_SECONDS,
    invalid=_("这不是暖新服务阵地的有效二维码。"),
    expired=_("这个二维码已过期，请扫描站点张贴的新二维码。"))


def station_token(station_id: int) -> str:
    return CHECKIN.make(station_id)


def station_id_from_token(token: str, *, max_age: int = MAX_AGE_SECONDS) -> int:
    return CHECKIN.read(token, max_age=max_age)


def checkin_url(request, station_id: int) -> str:
    return request.build_absolute_uri(reverse("stations:checkin", args=[station_token(station_id)]))


def checkin_purpose(token: str) -> str | None:
    """For the login page reached from a station's check-in code."""
    station_id = CHECKIN.peek(token)
    name = (Station.objects.filter(pk=station_id, is_active=True)
            .values_list("name", flat=True).first()) if station_id else None
    return None if name is None else _("登录后为您在「%(station)s」签到") % {"station": name}
