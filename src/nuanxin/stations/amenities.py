"""The fixed amenity vocabulary. Each amenity owns one bit of Station.amenity_bits;
bit positions are stable forever (add at the end, never reorder)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

AMENITIES: dict[str, tuple[int, str]] = {
    "hot_water": (0, _("饮用水/热水")),
    "phone_charging": (1, _("手机充电")),
    "ebike_charging": (2, _("电动车充电")),
    "battery_swap": (3, _("换电柜")),
    "microwave": (4, _("微波炉")),
    "seating": (5, _("休息座椅")),
    "toilet": (6, _("卫生间")),
    "climate": (7, _("空调/取暖")),
    "first_aid": (8, _("药箱")),
    "rain_gear": (9, _("雨具")),
    "toolbox": (10, _("工具箱")),
    "fridge": (11, _("冰箱")),
    "reading": (12, _("阅读角")),
    "wifi": (13, _("无线网络")),
    "parking": (14, _("非机动车停车")),
}


def amenity_label(code: str) -> str:
    return str(AMENITIES[code][1])


def bits_for(codes) -> int:
    bits = 0
    for code in codes:
        bits |= 1 << AMENITIES[code][0]
    return bits


def codes_for(bits: int) -> list[str]:
    return [code for code, (bit, _label) in AMENITIES.items() if bits & (1 << bit)]


def unknown_codes(codes) -> list[str]:
    return [c for c in codes if c not in AMENITIES]
