"""The battery-swap cabinets' figures for dashboards: each computed from records, each
traceable (a region is a code prefix, "" for everywhere; a period is [start, end))."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from nuanxin.common.scoping import region_q
from nuanxin.common.stats import register_stat
from nuanxin.energy.models import (
    SOH_RETIREMENT_PCT,
    Alarm,
    AlarmKind,
    Battery,
    BatteryStatus,
    Cabinet,
    Swap,
    SwapState,
)


def _in(qs: QuerySet, field: str, region_field: str, prefix: str, start, end) -> QuerySet:
    qs = qs.filter(region_q(region_field, prefix))
    if start:
        qs = qs.filter(**{f"{field}__gte": start})
    if end:
        qs = qs.filter(**{f"{field}__lt": end})
    return qs


def cabinet_records(prefix, start, end):
    # Cabinets standing at the end of the period (start is irrelevant for a stock figure).
    return _in(Cabinet.objects.all(), "created_at", "region", prefix, None, end)


def swap_records(prefix, start, end):
    return _in(Swap.objects.filter(state=SwapState.COMPLETED), "finished_at", "cabinet__region",
               prefix, start, end)


def riders_served(prefix, start, end) -> int:
    return swap_records(prefix, start, end).values("rider").distinct().count()


def safety_alarm_records(prefix, start, end):
    return _in(Alarm.objects.filter(kind__in=(AlarmKind.OVER_TEMPERATURE, AlarmKind.SMOKE)),
               "started_at", "cabinet__region", prefix, start, end)


def retirement_flag_records(prefix, start, end):
    qs = (Battery.objects.filter(soh_pct__lt=SOH_RETIREMENT_PCT)
          .exclude(status=BatteryStatus.RETIRED))
    return qs.in_region(prefix)  # where it is now: in a cabinet of the region


register_stat("energy.cabinets", label=_("换电柜数"),
              compute=lambda p, s, e: cabinet_records(p, s, e).count(), records=cabinet_records)
register_stat("energy.swaps", label=_("完成换电次数"),
              compute=lambda p, s, e: swap_records(p, s, e).count(), records=swap_records)
register_stat("energy.riders_served", label=_("换电服务骑手数"), compute=riders_served,
              records=swap_records)
register_stat("energy.safety_alarms", label=_("电池过温与烟雾告警数"),
              compute=lambda p, s, e: safety_alarm_records(p, s, e).count(),
              records=safety_alarm_records)
register_stat("energy.batteries_flagged", label=_("建议退役电池数（健康度低于80%）"),
              compute=lambda p, s, e: retirement_flag_records(p, s, e).count(),
              records=retirement_flag_records)
