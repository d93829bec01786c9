"""The check-in poster's address; QR drawing lives in common.codes (shared with cabinets
and surveys), re-exported here for the call sites that import it from stations."""

from __future__ import annotations

from django.urls import reverse

from nuanxin.common.codes import qr_file_response, qr_png, qr_svg
from nuanxin.stations.qr import station_token

__all__ = ["checkin_url", "qr_file_response", "qr_png", "qr_svg"]


def checkin_url(request, station_id: int) -> str:
    return request.build_absolute_uri(reverse("stations:checkin", args=[station_token(station_id)]))
