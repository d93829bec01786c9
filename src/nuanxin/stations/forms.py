"""Console forms for stations, and the one text format for opening hours.

The hours text ("08:30-12:00, 14:00-20:00"; empty = closed) is shared by the weekly hours
editor, the exception and campaign forms and the .xlsx template, so a staff member learns
it once.
"""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import ServiceError
from nuanxin.common.forms import ServiceErrorsMixin
from nuanxin.common.scoping import access_of
from nuanxin.geo.forms import picker_for
from nuanxin.geo.models import Region
from nuanxin.stations.amenities import AMENITIES
from nuanxin.stations.models import MINUTES_PER_DAY, Station, StationType
from nuanxin.stations.schedule import format_minutes, parse_hhmm
from nuanxin.stations.services import StationData, validate_spans

WEEKDAY_LABELS = [_("周一"), _("周二"), _("周三"), _("周四"), _("周五"), _("周六"), _("周日")]
WEEKDAY_FIELDS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

# Separators people type between spans, and between the two ends of one span
# (ASCII and full-width forms, because Chinese input methods produce both).
_RANGE_SEPARATORS = re.compile(r"\s*(?:-+|–|—|－|~|～|至|到)\s*")
_SPAN_SEPARATORS = re.compile(r"[,，、;；\s/]+")
_ALL_DAY_WORDS = {"24h", "24小时", "全天", "00:00-24:00"}
_CLOSED_WORDS = {"休息", "关闭", "闭馆", "不开放", "closed", "-", "—", "无"}


class HoursTextError(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def parse_day_hours(text: str | None) -> list[tuple[int, int]]:
    """'08:30-12:00, 14:00-20:00' → [(510, 720), (840, 1200)]. Empty (or 休息) = closed.

    Overnight spans (16:00-02:00) run into the next day; 00:00-24:00 (or 全天/24h) is
    round the clock. Raises HoursTextError with a message naming the bad part.
    """
    text = (text or "").strip().replace("：", ":")
    if not text or text.lower() in _CLOSED_WORDS:
        return []
    spans = []
    for part in _SPAN_SEPARATORS.split(_RANGE_SEPARATORS.sub("-", text)):
        if not part:
            continue
        if part.lower() in _ALL_DAY_WORDS:
            spans.append((0, MINUTES_PER_DAY))
            continue
        ends = part.split("-")
        if len(ends) != 2:
            raise HoursTextError(
                _("“%(part)s”看不懂：每个时段应写成 开门-关门，例如 08:30-20:30。")
                % {"part": part}
            )
        try:
            opens = parse_hhmm(ends[0])
        except ValueError:
            raise HoursTextError(
                _("“%(part)s”的开门时间不对：应为 00:00 到 23:59 之间的 HH:MM。") % {"part": part}
            ) from None
        try:
            closes = parse_hhmm(ends[1], allow_24=True)
        except ValueError:
            raise HoursTextError(
                _("“%(part)s”的关门时间不对：应为 00:00 到 24:00 之间的 HH:MM。") % {"part": part}
            ) from None
        if closes == 0:
            closes = MINUTES_PER_DAY  # "20:00-00:00" means until midnight
        if opens == closes:
            raise HoursTextError(
                _("“%(part)s”的开门和关门时间相同；全天开放请写 00:00-24:00。") % {"part": part}
            )
        spans.append((opens, closes))
    try:
        validate_spans([(0, o, c) for o, c in spans])
    except ServiceError as error:
        raise HoursTextError(error.message) from None
    return sorted(spans)


def overnight_overlaps(spans: list[tuple[int, int, int]]) -> list[tuple[int, str]]:
    """(weekday, message) for each day whose first hours start before the previous
    night's overnight span has ended (Sunday night runs into Monday)."""
    by_day: dict[int, list[tuple[int, int]]] = {}
    for weekday, opens, closes in spans:
        by_day.setdefault(weekday, []).append((opens, closes))
    found = []
    for weekday, day_spans in sorted(by_day.items()):
        for opens, closes in day_spans:
            if closes > opens or closes == MINUTES_PER_DAY:
                continue
            nxt = (weekday + 1) % 7
            if any(o < closes for o, _c in by_day.get(nxt, [])):
                found.append((nxt, str(
                    _("与%(day)s的跨夜时段 %(span)s 重叠：跨夜时段结束前，这一天不能再开始新时段。")
                    % {"day": WEEKDAY_LABELS[weekday],
                       "span": f"{format_minutes(opens)}-{format_minutes(closes)}"})))
    return found


def format_day_hours(spans) -> str:
    """The inverse of parse_day_hours: [(510, 1230)] → '08:30-20:30'."""
    return ", ".join(f"{format_minutes(o)}-{format_minutes(c)}" for o, c in sorted(spans))


def parse_single_span(text: str) -> tuple[int, int]:
    spans = parse_day_hours(text)
    if len(spans) != 1:
        raise HoursTextError(_("请只填一个时段，例如 10:00-16:00。"))
    return spans[0]


# --- regions in scope --------------------------------------------------------------------

# Above this many regions a select becomes unusable; the form then takes a typed code.
REGION_SELECT_LIMIT = 800


def _region_label(region: Region) -> str:
    return f"{region.code} {region.name} ({region.get_level_display()})"


class RegionField(forms.CharField):
    """A region code in the user's scope: a select for small scopes, typed otherwise."""

    def __init__(self, *, user, **kwargs):
        self.user = user
        # The regions a staff member may place a station (or campaign) in: their subtree.
        self.scope = Region.objects.visible_to(user)
        super().__init__(max_length=12, **kwargs)
        if self.scope.count() <= REGION_SELECT_LIMIT:
            choices = [("", "---------")] + [
                (r.code, _region_label(r)) for r in self.scope.only("code", "name", "level")
            ]
            self.widget = forms.Select(choices=choices)
        else:
            self.widget = forms.TextInput(attrs={"inputmode": "numeric", "pattern": r"\d{6,12}"})
            self.help_text = _("填写 6–12 位行政区划代码，例如 330782001001。")

    def clean(self, value):
        value = super().clean(value)
        if value and not self.scope.filter(code=value).exists():
            raise forms.ValidationError(_("没有这个行政区划，或它不在您的管辖范围内。"))
        return value


# --- station -----------------------------------------------------------------------------

class StationForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("名称"), max_length=80)
    type = forms.ChoiceField(label=_("类型"), choices=StationType.choices)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)
    lat = forms.FloatField(label=_("纬度"), min_value=-90, max_value=90,
                           help_text=_("WGS-84 坐标（GPS 原始坐标），不是高德/腾讯的 GCJ-02。"))
    lng = forms.FloatField(label=_("经度"), min_value=-180, max_value=180,
                           help_text=_("WGS-84 坐标（GPS 原始坐标），不是高德/腾讯的 GCJ-02。"))
    contact_name = forms.CharField(label=_("联系人"), max_length=40, required=False)
    contact_phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    amenities = forms.MultipleChoiceField(
        label=_("设施"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(code, label) for code, (_bit, label) in AMENITIES.items()],
    )
    night_light = forms.BooleanField(label=_("夜间亮灯"), required=False)
    is_active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    # Where a service refusal belongs on the form.
    ERROR_FIELDS = {
        "name_required": "name",
        "invalid_station_type": "type",
        "unknown_amenity": "amenities",
        "invalid_coordinates": "lat",
        "unknown_region": "region",
        "outside_service_area": "lat",
        "location_outside_region": "region",
        "region_not_found": "region",
    }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = RegionField(user=user, label=_("所在区划"))
        order = ["name", "type", "region", "address", "lat", "lng", "contact_name",
                 "contact_phone", "amenities", "night_light", "is_active"]
        self.order_fields(order)

    @classmethod
    def initial_for(cls, station: Station) -> dict:
        return {
            "name": station.name, "type": station.type, "region": station.region_id,
            "address": station.address, "lat": station.lat, "lng": station.lng,
            "contact_name": station.contact_name, "contact_phone": station.contact_phone,
            "amenities": station.amenities, "night_light": station.night_light,
            "is_active": station.is_active,
        }

    def to_data(self) -> StationData:
        d = self.cleaned_data
        return StationData(
            name=d["name"], type=d["type"], region_code=d["region"], lat=d["lat"],
            lng=d["lng"], address=d["address"], contact_name=d["contact_name"],
            contact_phone=d["contact_phone"], amenities=tuple(d["amenities"]),
            night_light=d["night_light"], is_active=d["is_active"],
        )


# --- weekly hours ------------------------------------------------------------------------

HOURS_HELP = _("多个时段用逗号分隔，例如 08:30-12:00, 14:00-20:00；跨夜写 16:00-02:00；"
               "全天写 00:00-24:00；留空表示当天休息。")


class WeeklyHoursForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code, label in zip(WEEKDAY_FIELDS, WEEKDAY_LABELS, strict=True):
            self.fields[code] = forms.CharField(
                label=label, required=False, max_length=200,
                widget=forms.TextInput(attrs={"placeholder": "08:30-12:00, 14:00-20:00"}),
            )

    @staticmethod
    def initial_for(spans) -> dict:
        """spans: (weekday, opens, closes) rows → one text per weekday."""
        per_day: dict[int, list[tuple[int, int]]] = {}
        for weekday, opens, closes in spans:
            per_day.setdefault(weekday, []).append((opens, closes))
        return {code: format_day_hours(per_day.get(i, [])) for i, code in
                enumerate(WEEKDAY_FIELDS)}

    def clean(self):
        cleaned = super().clean()
        spans = []
        for weekday, code in enumerate(WEEKDAY_FIELDS):
            try:
                spans += [(weekday, o, c) for o, c in parse_day_hours(cleaned.get(code))]
            except HoursTextError as error:
                self.add_error(code, error.message)
        for weekday, message in overnight_overlaps(spans):
            if WEEKDAY_FIELDS[weekday] not in self.errors:
                self.add_error(WEEKDAY_FIELDS[weekday], message)
        cleaned["spans"] = spans
        return cleaned


# --- dated exceptions --------------------------------------------------------------------

class ExceptionForm(forms.Form):
    CLOSED, HOURS = "closed", "hours"
    date = forms.DateField(label=_("日期"), widget=forms.DateInput(
        attrs={"type": "date"}, format="%Y-%m-%d"))
    mode = forms.ChoiceField(
        label=_("安排"), widget=forms.RadioSelect, initial=CLOSED,
        choices=[(CLOSED, _("全天关闭")), (HOURS, _("特别营业时间"))],
    )
    hours = forms.CharField(label=_("特别营业时间"), required=False, max_length=20,
                            help_text=_("一个时段，例如 10:00-16:00；跨夜写 20:00-02:00。"),
                            widget=forms.TextInput(attrs={"placeholder": "10:00-16:00"}))
    reason = forms.CharField(label=_("原因"), required=False, max_length=80)

    def clean(self):
        cleaned = super().clean()
        cleaned["opens"] = cleaned["closes"] = None
        if cleaned.get("mode") == self.HOURS:
            try:
                cleaned["opens"], cleaned["closes"] = parse_single_span(cleaned.get("hours"))
            except HoursTextError as error:
                self.add_error("hours", error.message)
        return cleaned


# --- holiday campaigns -------------------------------------------------------------------

class CampaignForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label=_("名称"), max_length=60,
                           widget=forms.TextInput(attrs={"placeholder": _("春节不打烊")}))
    # A date input shows only an ISO date: in the locale's format the field would come up
    # empty when the form is shown again or for editing.
    starts_on = forms.DateField(label=_("开始日期"), widget=forms.DateInput(
        attrs={"type": "date"}, format="%Y-%m-%d"))
    ends_on = forms.DateField(label=_("结束日期"), widget=forms.DateInput(
        attrs={"type": "date"}, format="%Y-%m-%d"))
    hours = forms.CharField(label=_("活动期间营业时间"), max_length=20, initial="00:00-24:00",
                            help_text=_("默认全天 00:00-24:00；也可以写 08:00-22:00 或跨夜 "
                                        "18:00-06:00。"))

    ERROR_FIELDS = {
        "name_required": "name",
        "name_too_long": "name",
        "campaign_dates_reversed": "ends_on",
        "campaign_too_long": "ends_on",
        "campaign_in_past": "ends_on",
        "invalid_hours": "hours",
        "region_not_found": "region",
    }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = picker_for(access_of(user).prefix, name="region", data=self.data,
                                           initial=_own_region_code(user) or "",
                                           label=_("活动区划"))
        self.order_fields(["name", "region", "starts_on", "ends_on", "hours"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("hours"):
            try:
                cleaned["opens"], cleaned["closes"] = parse_single_span(cleaned["hours"])
            except HoursTextError as error:
                self.add_error("hours", error.message)
        return cleaned


class CampaignEditForm(CampaignForm):
    """Rename a campaign, move its dates, change its hours or end it early; its region and
    stations stay as they are."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        del self.fields["region"]

    @staticmethod
    def initial_for(campaign) -> dict:
        return {"name": campaign.name, "starts_on": campaign.starts_on,
                "ends_on": campaign.ends_on,
                "hours": f"{format_minutes(campaign.opens)}-{format_minutes(campaign.closes)}"}


def _own_region_code(user) -> str | None:
    profile = getattr(user, "staff_profile", None)
    return profile.org_unit.region_id if profile else None


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Excel 文件 (.xlsx)"),
        widget=forms.ClearableFileInput(attrs={
            "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }),
    )
