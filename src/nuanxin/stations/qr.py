"""Signed check-in codes. The token names the station; only this server can make one."""

from __future__ import annotations

from django.core import signing
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import ServiceError

_SALT = "nuanxin.stations.checkin"
# A printed code lives on a wall for years; rotation happens by reprinting (new key epoch).
MAX_AGE_SECONDS = 3 * 365 * 24 * 3600


def station_token(station_id: int) -> str:
    return signing.dumps({"s": station_id}, salt=_SALT, compress=True)


def station_id_from_token(token: str, *, max_age: int = MAX_AGE_SECONDS) -> int:
    try:
        data = signing.loads(token, salt=_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise ServiceError("qr_expired",
                           _("这个二维码已过期，请扫描站点张贴的新二维码。")) from None
    except (signing.BadSignature, ValueError):
        # ValueError: correctly signed with our key and salt but not by station_token
        # (no timestamp, not JSON); not a check-in code either.
        raise ServiceError("qr_invalid", _("这不是暖新服务阵地的有效二维码。")) from None
    if not isinstance(data, dict) or not isinstance(data.get("s"), int):
        raise ServiceError("qr_invalid", _("这不是暖新服务阵地的有效二维码。"))
    return data["s"]
