"""Reads for the operator and staff console, each scoped to the viewer.

The one scope rule is `Cabinet.objects.visible_to(user)` (common.scoping); batteries, alarms,
work orders and swaps are visible through it (an operator's members also see their own
batteries wherever they are: at the depot, with a rider). Anything outside scope answers
NotFound, never "forbidden", so a console user learns nothing about another operator's
cabinets.

Every list here costs a fixed number of queries whatever its length (the tests hold them
to a budget).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.phones import mask_phone
from nuanxin.common.errors import NotFound
from nuanxin.common.workflow import TimelineEntry
from nuanxin.energy.models import (
    Alarm,
    AlarmState,
    Battery,
    BatteryHealthSample,
    BatteryStatus,
    Cabinet,
    IngestRejection,
    Operator,
    Slot,
    Swap,
    SwapState,
    WorkOrder,
    WorkOrderState,
)
from nuanxin.energy.services.workflows import SWAP_WORKFLOW

SHANGHAI = ZoneInfo("Asia/Shanghai")
UNRESOLVED = (AlarmState.OPEN, AlarmState.ACKNOWLEDGED)


# --- scope --------------------------------------------------------------------------------

def console_operator(user) -> Operator | None:
    """The operator a partner user works for (None for staff and everyone else)."""
    member = getattr(user, "partner_member", None) if getattr(user, "is_authenticated",
                                                              False) else None
    if member is None:
        return None
    return Operator.objects.filter(partner_id=member.partner_id).first()


def cabinets_visible_to(user) -> QuerySet[Cabinet]:
    return Cabinet.objects.visible_to(user)


def cabinet_for(user, cabinet_id: int) -> Cabinet:
    return (Cabinet.objects.select_related("operator__partner", "station", "region")
            .get_visible_or_404(user, pk=cabinet_id))


def batteries_visible_to(user) -> QuerySet[Battery]:
    return Battery.objects.visible_to(user)


def battery_for(user, battery_id: int) -> Battery:
    return (Battery.objects.select_related("slot__cabinet", "model")
            .get_visible_or_404(user, pk=battery_id))


def work_orders_visible_to(user) -> QuerySet[WorkOrder]:
    return WorkOrder.objects.visible_to(user)


def work_order_for(user, work_order_id: int) -> WorkOrder:
    return (WorkOrder.objects.select_related("battery", "cabinet", "slot", "alarm", "created_by",
                                             "done_by")
            .get_visible_or_404(user, pk=work_order_id))


def alarm_for(user, alarm_id: int) -> Alarm:
    """An alarm at a cabinet the viewer sees; any other looks as if it did not exist."""
    alarm = (Alarm.objects.filter(cabinet__in=cabinets_visible_to(user), pk=alarm_id)
             .select_related("cabinet", "slot", "battery", "acknowledged_by", "resolved_by")
             .first())
    if alarm is None:
        raise NotFound("alarm_not_found", _("找不到这条告警。"))
    return alarm


# --- cabinets and slots -------------------------------------------------------------------

# A slot's state as the console shows it, one condition per state. They never overlap (a
# locked slot is "locked" whatever it holds; a slot out of service or holding a quarantined
# battery is "fault"), so each slot counts exactly once. The slot grid's legend and the
# overview's per-cabinet counts both read these, so the two always agree.
_OTHER_IN_SLOT = [s for s in BatteryStatus.values
                  if s not in (BatteryStatus.FULL, BatteryStatus.QUARANTINED)]


def slot_state_conditions(prefix: str = "") -> dict[str, Q]:
    """{state: condition on a slot}; `prefix` reaches the slot through a relation
    ("slots__" from a cabinet)."""

    def q(**lookups) -> Q:
        return Q(**{prefix + key: value for key, value in lookups.items()})

    in_service = q(locked=False, enabled=True)
    return {
        "empty": in_service & q(battery__isnull=True),
        "charging": in_service & q(battery__status__in=_OTHER_IN_SLOT),
        "full": in_service & q(battery__status=BatteryStatus.FULL),
        "fault": q(locked=False) & (q(enabled=False)
                                    | q(battery__status=BatteryStatus.QUARANTINED)),
        "locked": q(locked=True),
    }


def _slot_counts() -> dict:
    """Per-cabinet slot counts as annotations over one join (slots → their battery)."""
    states = slot_state_conditions("slots__")
    return {f"n_{name}": Count("slots", filter=states[state])
            for name, state in (("available", "full"), ("charging", "charging"),
                                ("empty", "empty"), ("fault", "fault"), ("locked", "locked"))}


def _open_alarms_subquery():
    return Coalesce(Subquery(
        Alarm.objects.filter(cabinet=OuterRef("pk"), state__in=UNRESOLVED)
        .order_by().values("cabinet").annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField()), Value(0))


def cabinets_with_counts(user, *, query: str = "") -> list[Cabinet]:
    """The viewer's cabinets with live counts (two queries in all)."""
    qs = cabinets_visible_to(user)
    query = (query or "").strip()[:60]
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(serial__icontains=query.upper())
                       | Q(group__icontains=query) | Q(address__icontains=query))
    ids = list(qs.values_list("pk", flat=True))
    rows = (Cabinet.objects.filter(pk__in=ids).select_related("operator__partner", "station")
            .annotate(**_slot_counts()).order_by("group", "name", "pk"))
    alarms = dict(Alarm.objects.filter(cabinet_id__in=ids, state__in=UNRESOLVED)
                  .order_by().values_list("cabinet_id").annotate(n=Count("pk")))
    result = list(rows)
    for cab in result:
        cab.n_open_alarms = alarms.get(cab.pk, 0)
    return result


def cabinet_counts(cabinet_ids: list[int]) -> dict[int, dict]:
    """{cabinet id: {available, charging, empty, fault, locked, open_alarms, online}} for the
    overview's live refresh."""
    rows = (Cabinet.objects.filter(pk__in=cabinet_ids).annotate(**_slot_counts())
            .values("pk", "online", "safety_locked", "n_available", "n_charging", "n_empty",
                    "n_fault", "n_locked"))
    alarms = dict(Alarm.objects.filter(cabinet_id__in=cabinet_ids, state__in=UNRESOLVED)
                  .order_by().values_list("cabinet_id").annotate(n=Count("pk")))
    return {r["pk"]: {"available": r["n_available"], "charging": r["n_charging"],
                      "empty": r["n_empty"], "fault": r["n_fault"], "locked": r["n_locked"],
                      "online": r["online"], "safety_locked": r["safety_locked"],
                      "open_alarms": alarms.get(r["pk"], 0)} for r in rows}


@dataclass
class SlotView:
    slot: Slot
    battery: Battery | None
    state: str   # empty | charging | full | fault | locked
    label: str
    open_alarms: list


SLOT_STATE_LABELS = {
    "empty": _("空仓"),
    "charging": _("充电中"),
    "full": _("满电"),
    "fault": _("故障"),
    "locked": _("已锁定"),
}


def cabinet_grid(user, cabinet_id: int) -> tuple[Cabinet, list[SlotView]]:
    """One cabinet and its slots in order, each with its battery and unresolved alarms."""
    cabinet = cabinet_for(user, cabinet_id)
    state = Case(*[When(condition, then=Value(code))
                   for code, condition in slot_state_conditions().items()],
                 default=Value("empty"))
    slots = list(Slot.objects.filter(cabinet=cabinet).select_related("battery__model")
                 .annotate(console_state=state).order_by("number"))
    alarms: dict[int, list[Alarm]] = {}
    for alarm in Alarm.objects.filter(cabinet=cabinet, state__in=UNRESOLVED,
                                      slot__isnull=False).order_by("-started_at"):
        alarms.setdefault(alarm.slot_id, []).append(alarm)
    views = []
    for slot in slots:
        battery = getattr(slot, "battery", None)
        views.append(SlotView(slot=slot, battery=battery, state=slot.console_state,
                              label=str(SLOT_STATE_LABELS[slot.console_state]),
                              open_alarms=alarms.get(slot.pk, [])))
    return cabinet, views


# --- device messages the ingester refused ------------------------------------------------

REJECTION_LABELS = {
    "malformed": _("格式错误"),
    "impossible_value": _("数值不可能"),
    "serial_mismatch": _("编号与主题不符"),
    "unknown_kind": _("未知消息类型"),
    "unknown_slot": _("未知仓位"),
    "unknown_battery": _("未知电池"),
    "duplicate": _("重复消息"),
    "apply_error": _("处理出错"),
}


def rejections_for(cabinet: Cabinet, *, hours: int = 24,
                   now: datetime | None = None) -> list[tuple[str, str, int]]:
    """(reason, label, count) of this cabinet's messages the ingester refused lately, most
    frequent first: a cabinet sending garbage or replays shows up here before it matters."""
    since = (now or timezone.now()) - timedelta(hours=hours)
    rows = (IngestRejection.objects.filter(serial=cabinet.serial, received_at__gte=since)
            .order_by().values_list("reason").annotate(n=Count("pk")).order_by("-n", "reason"))
    return [(reason, str(REJECTION_LABELS.get(reason, reason)), n) for reason, n in rows]


# --- alarms, work orders, swaps -----------------------------------------------------------

def alarms_for(user, *, state: str = "", cabinet_id: int | None = None,
               kind: str = "") -> QuerySet[Alarm]:
    """Unresolved first (open before acknowledged), newest first within each."""
    qs = Alarm.objects.filter(cabinet__in=cabinets_visible_to(user))
    if state == "unresolved":
        qs = qs.filter(state__in=UNRESOLVED)
    elif state in AlarmState.values:
        qs = qs.filter(state=state)
    if cabinet_id:
        qs = qs.filter(cabinet_id=cabinet_id)
    if kind:
        qs = qs.filter(kind=kind)
    return (qs.select_related("cabinet", "slot", "battery", "acknowledged_by", "resolved_by")
            .annotate(rank=Case(When(state=AlarmState.OPEN, then=Value(0)),
                                When(state=AlarmState.ACKNOWLEDGED, then=Value(1)),
                                default=Value(2), output_field=IntegerField()))
            .order_by("rank", "-started_at", "-pk"))


def work_orders_for(user, *, state: str = "", alarm: Alarm | None = None,
                    swap: Swap | None = None) -> QuerySet[WorkOrder]:
    qs = work_orders_visible_to(user)
    if state in WorkOrderState.values:
        qs = qs.filter(state=state)
    if alarm is not None:
        qs = qs.filter(alarm=alarm)
    if swap is not None:
        qs = qs.filter(swap=swap)
    return (qs.select_related("battery", "cabinet", "slot", "alarm", "created_by", "done_by")
            .annotate(rank=Case(When(state=WorkOrderState.OPEN, then=Value(0)), default=Value(1),
                                output_field=IntegerField()))
            .order_by("rank", "-created_at", "-pk"))


def swaps_for(user, *, cabinet_id: int | None = None, state: str = "",
              since: datetime | None = None, until: datetime | None = None) -> QuerySet[Swap]:
    qs = Swap.objects.filter(cabinet__in=cabinets_visible_to(user))
    if cabinet_id:
        qs = qs.filter(cabinet_id=cabinet_id)
    if state in SwapState.values:
        qs = qs.filter(state=state)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return (qs.select_related("rider", "cabinet", "battery_returned", "battery_released",
                              "return_slot", "release_slot")
            .order_by("-created_at", "-pk"))


def rider_label(rider) -> str:
    """How the console names a rider: the number masked (138****1234), never in full, and
    never the rider's name."""
    return mask_phone(rider.phone) or rider.username[:3] + "…"


def swap_rows(swaps) -> list[dict]:
    return [{"swap": s, "rider_phone": rider_label(s.rider),
             "state_label": s.get_state_display()} for s in swaps]


def swap_timeline(swap: Swap) -> list[TimelineEntry]:
    """The swap's history in words, the rider named as on the list (by the masked number)."""
    rider = rider_label(swap.rider)
    return [replace(e, actor=rider) if e.actor is not None and e.actor.pk == swap.rider_id
            else e for e in SWAP_WORKFLOW.timeline(swap)]


def swap_for(user, swap_id: int) -> Swap:
    """A swap at a cabinet the viewer sees; any other looks as if it did not exist."""
    swap = swaps_for(user).filter(pk=swap_id).first()
    if swap is None:
        raise NotFound("swap_not_found", _("找不到这次换电。"))
    return swap


# --- fleet health -------------------------------------------------------------------------

# (code, label, lower bound inclusive, upper bound exclusive). Labels stay short: they are
# the chart's axis labels too, five side by side on a phone. The page says in words that
# below 80 % means "retire".
SOH_BUCKETS = [
    ("ge95", _("≥95%"), 95, None),
    ("90_95", _("90–95%"), 90, 95),
    ("85_90", _("85–90%"), 85, 90),
    ("80_85", _("80–85%"), 80, 85),
    ("lt80", _("<80%"), None, 80),
]
DECLINE_WINDOW_DAYS = 90


def _bucket_q(low, high) -> Q:
    q = Q()
    if low is not None:
        q &= Q(soh_pct__gte=low)
    if high is not None:
        q &= Q(soh_pct__lt=high)
    return q


def fleet_health(user, *, decliners: int = 10, now: datetime | None = None) -> dict:
    """The SoH distribution of the viewer's batteries in service (not retired) and those
    whose SoH fell most over the last 90 days (first sample in the window minus the
    latest). Three queries."""
    now = now or timezone.now()
    batteries = batteries_visible_to(user).exclude(status=BatteryStatus.RETIRED)
    counts = batteries.aggregate(
        total=Count("pk"),
        **{code: Count("pk", filter=_bucket_q(low, high)) for code, _l, low, high in SOH_BUCKETS})
    buckets = [{"code": code, "label": str(label), "count": counts[code]}
               for code, label, _low, _high in SOH_BUCKETS]
    since = now - timedelta(days=DECLINE_WINDOW_DAYS)
    window = BatteryHealthSample.objects.filter(battery=OuterRef("pk"), at__gte=since)
    fastest = list(
        batteries.annotate(
            first_soh=Subquery(window.order_by("at", "pk").values("soh_pct")[:1]),
            last_soh=Subquery(window.order_by("-at", "-pk").values("soh_pct")[:1]),
            first_at=Subquery(window.order_by("at", "pk").values("at")[:1]),
            n_samples=Coalesce(Subquery(window.order_by().values("battery")
                                        .annotate(n=Count("pk")).values("n")[:1],
                                        output_field=IntegerField()), Value(0)),
        ).filter(n_samples__gte=2)
        .annotate(decline=F("first_soh") - F("last_soh"))
        .filter(decline__gt=0)
        .select_related("model", "slot__cabinet")
        .order_by("-decline", "pk")[:decliners])
    flagged = batteries.filter(soh_pct__lt=80).count()
    return {"total": counts["total"], "buckets": buckets, "fastest": fastest,
            "flagged": flagged, "window_days": DECLINE_WINDOW_DAYS}


# --- coverage -----------------------------------------------------------------------------

def coverage(user, *, months: int = 6, now: datetime | None = None) -> dict:
    """Distinct riders served (a completed swap) per cabinet group per month, Shanghai time;
    cabinets without a group count under their own name. Also the distinct riders across
    all the viewer's groups over the period (the article's "8 组覆盖骑手800余人")."""
    now = now or timezone.now()
    local = now.astimezone(SHANGHAI)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _i in range(max(months, 1) - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    swaps = Swap.objects.filter(cabinet__in=cabinets_visible_to(user),
                                state=SwapState.COMPLETED, finished_at__gte=first)
    rows = (swaps.annotate(grp=Coalesce(NullIf(F("cabinet__group"), Value("")),
                                        F("cabinet__name")),
                           month=TruncMonth("finished_at", tzinfo=SHANGHAI))
            .order_by().values("grp", "month").annotate(riders=Count("rider", distinct=True)))
    table: dict[str, dict] = {}
    month_keys: list[str] = []
    cursor = first
    while cursor <= local:
        month_keys.append(cursor.strftime("%Y-%m"))
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    for row in rows:
        key = row["month"].astimezone(SHANGHAI).strftime("%Y-%m")
        table.setdefault(row["grp"], {})[key] = row["riders"]
    groups = [{"group": grp, "months": [per.get(m, 0) for m in month_keys]}
              for grp, per in sorted(table.items())]
    group_count = (cabinets_visible_to(user)
                   .annotate(grp=Coalesce(NullIf(F("group"), Value("")), F("name")))
                   .values("grp").distinct().count())
    return {"months": month_keys, "groups": groups, "group_count": group_count,
            "riders_total": swaps.values("rider").distinct().count()}
