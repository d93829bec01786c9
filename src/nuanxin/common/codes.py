"""Signed codes: what a QR poster or a shared link carries (common.qr draws and prints them).

A code is one small JSON object signed with the site's key: a salt per kind of code, one
field naming what it points at, and a maximum age (or none, when the thing it points at
has its own window, like a survey). Only this server can make one; reading one checks
the signature, the age and the shape, and refuses with a clear error.

    CHECKIN = SignedCode(salt="nuanxin.stations.checkin", field="s", max_age=3 * YEAR,
                         invalid=_("这不是暖新服务阵地的有效二维码。"), expired=_("…"))
    token = CHECKIN.make(station.pk);  station_id = CHECKIN.read(token)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core import signing

from nuanxin.common.errors import ServiceError

YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class SignedCode:
    salt: str
    field: str  # the one key of the signed object: what the code carries (an id)
    invalid: Any  # the (lazy) message for a code that is not one of ours
    max_age: int | None = None  # seconds; None: no time inside the code at all
    expired: Any = None

    def make(self, value: int) -> str:
        if self.max_age is None:
            return signing.Signer(salt=self.salt).sign_object({self.field: value},
                                                              compress=True)
        return signing.dumps({self.field: value}, salt=self.salt, compress=True)

    def read(self, token: str, *, max_age: int | None = None) -> int:
        try:
            if self.max_age is None:
                data = signing.Signer(salt=self.salt).unsign_object(token)
            else:
                limit = self.max_age if max_age is None else max_age
                data = signing.loads(token, salt=self.salt, max_age=limit)
        except signing.SignatureExpired:
            raise ServiceError("qr_expired", self.expired or self.invalid) from None
        except (signing.BadSignature, ValueError):
            # ValueError: signed with our key and salt but not made by `make` (no
            # timestamp, not JSON): not one of these codes either.
            raise ServiceError("qr_invalid", self.invalid) from None
        value = data.get(self.field) if isinstance(data, dict) else None
        if not isinstance(value, int) or isinstance(value, bool):
            raise ServiceError("qr_invalid", self.invalid)
        return value

    def peek(self, token: str) -> int | None:
        """What a code carries, or None when it is not a valid one of these (a login page
        saying what a scan was for has nothing to refuse)."""
        try:
            return self.read(token)
        except ServiceError:
            return None
