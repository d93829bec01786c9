"""Battery-swap cabinets: operators, cabinets and slots, batteries, plans, swaps, alarms.

Where a battery is lives in exactly one place on its row: `slot` (in a cabinet), `holder`
(with a rider) or neither (at the operator's depot, in maintenance or retired). The database
enforces that the three cannot disagree with `status`; `CustodyEntry` is the append-only
ledger of every move, and `nuanxin energy verify` replays it against today's rows.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from nuanxin.common.ledger import LedgerEntry
from nuanxin.common.scoping import Access, RegionScopedQuerySet, region_q
from nuanxin.common.workflow import HistoryEntry

SERIAL_VALIDATOR = RegexValidator(r"^[A-Z0-9][A-Z0-9-]{3,31}$",
                                  _("编号只能由大写字母、数字和连字符组成，4–32 位。"))


class Chemistry(models.TextChoices):
    LFP = "LFP", _("磷酸铁锂")
    NMC = "NMC", _("三元锂")


class BatteryModel(models.Model):
    """A battery type: a rider's plan covers one, a cabinet offers only batteries of it."""

    code = models.CharField(_("型号"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    chemistry = models.CharField(_("电芯类型"), max_length=3, choices=Chemistry.choices)
    rated_voltage_v = models.DecimalField(_("额定电压 (V)"), max_digits=5, decimal_places=1)
    capacity_ah = models.DecimalField(_("额定容量 (Ah)"), max_digits=5, decimal_places=1)

    class Meta:
        verbose_name = _("电池型号")
        verbose_name_plural = _("电池型号")
        constraints = [
            models.CheckConstraint(condition=Q(capacity_ah__gt=0) & Q(rated_voltage_v__gt=0),
                                   name="battery_model_ratings_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Operator(models.Model):
    """The company running cabinets (e.g. China Tower): an alliance partner."""

    partner = models.OneToOneField("accounts.Partner", on_delete=models.PROTECT,
                                   related_name="energy_operator", verbose_name=_("联盟单位"))
    hotline = models.CharField(_("服务电话"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("换电运营商")
        verbose_name_plural = _("换电运营商")

    def __str__(self) -> str:
        return self.partner.name


class CabinetQuerySet(RegionScopedQuerySet):
    def staff_scope(self, access: Access) -> CabinetQuerySet:
        """Administrators (and superusers) see every cabinet in their region; community staff
        and station keepers only the cabinets standing at a station of their region."""
        from nuanxin.accounts.models import ADMIN_ROLES

        if access.superuser or access.role in ADMIN_ROLES:
            return super().staff_scope(access)
        return self.filter(Q(station__isnull=False)
                           & region_q("station__region", access.prefix))


class Cabinet(models.Model):
    # common.scoping: the one scope rule of energy. Staff see cabinets by region (see
    # CabinetQuerySet), an operator's members their operator's cabinets; batteries, alarms,
    # work orders and swaps are visible through it.
    region_path = "region"
    partner_path = "operator__partner"
    not_found = ("cabinet_not_found", _("找不到这个换电柜。"))

    serial = models.CharField(_("柜体编号"), max_length=32, unique=True,
                              validators=[SERIAL_VALIDATOR])
    name = models.CharField(_("名称"), max_length=80)
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="cabinets",
                                 verbose_name=_("运营商"))
    region = models.ForeignKey("geo.Region", on_delete=models.PROTECT, verbose_name=_("所在区划"))
    station = models.ForeignKey("stations.Station", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="cabinets",
                                verbose_name=_("所在服务阵地"))
    # Cabinets standing together (the article's "8 groups") share a group name.
    group = models.CharField(_("柜组"), max_length=60, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lat = models.FloatField(_("纬度 (WGS-84)"))
    lng = models.FloatField(_("经度 (WGS-84)"))
    hardware_model = models.CharField(_("柜型"), max_length=40, blank=True)
    firmware = models.CharField(_("固件版本"), max_length=40, blank=True)
    slot_count = models.PositiveSmallIntegerField(_("仓位数"), default=12)
    full_threshold_pct = models.PositiveSmallIntegerField(_("满电阈值 (%)"), default=95)
    enabled = models.BooleanField(_("启用"), default=True)
    # Set by a smoke alarm: every door stays shut and nothing is offered until resolved.
    safety_locked = models.BooleanField(_("安全锁定"), default=False)
    online = models.BooleanField(_("在线"), default=False)
    last_heartbeat_at = models.DateTimeField(_("最近心跳"), null=True, blank=True)
    # Highest sequence number applied from this cabinet; -1 before the first message.
    last_seq = models.BigIntegerField(default=-1)
    # Cabinet clock minus server clock, seconds, from the latest heartbeat.
    clock_offset_s = models.FloatField(default=0)
    is_demo = models.BooleanField(_("演示数据"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CabinetQuerySet.as_manager()

    class Meta:
        verbose_name = _("换电柜")
        verbose_name_plural = _("换电柜")
        constraints = [
            models.CheckConstraint(condition=Q(lat__gte=-90, lat__lte=90)
                                   & Q(lng__gte=-180, lng__lte=180),
                                   name="cabinet_coordinates_valid"),
            models.CheckConstraint(condition=Q(slot_count__gte=1, slot_count__lte=48),
                                   name="cabinet_slot_count_range"),
            models.CheckConstraint(condition=Q(full_threshold_pct__gte=50,
                                               full_threshold_pct__lte=100),
                                   name="cabinet_full_threshold_range"),
        ]
        indexes = [models.Index(fields=["lat", "lng"], name="cabinet_lat_lng")]

    def __str__(self) -> str:
        return f"{self.name} ({self.serial})"


class Slot(models.Model):
    cabinet = models.ForeignKey(Cabinet, on_delete=models.CASCADE, related_name="slots")
    number = models.PositiveSmallIntegerField(_("仓位号"))
    door_open = models.BooleanField(_("仓门打开"), default=False)
    enabled = models.BooleanField(_("启用"), default=True)
    # Locked by a safety alarm or a jam: never opened for a swap until an operator unlocks.
    locked = models.BooleanField(_("锁定"), default=False)
    charging = models.BooleanField(_("充电中"), default=False)
    # Sequence number of the slot status message last applied (older snapshots are ignored).
    status_seq = models.BigIntegerField(default=-1)
    # The open_door command this door answers to, until the cabinet reports the door closed
    # (or a later snapshot proves it): the slot is never given to another swap meanwhile, as
    # a late "opened" or a rider's hand may still come through it.
    door_command = models.ForeignKey("CabinetCommand", null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    # What the cabinet last said is in the slot (a closed door's report or a snapshot);
    # `energy verify` compares it with the custody ledger. reported_at empty: never reported.
    reported_battery = models.CharField(max_length=32, blank=True)
    reported_unread = models.BooleanField(default=False)
    reported_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("仓位")
        verbose_name_plural = _("仓位")
        ordering = ["cabinet_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["cabinet", "number"], name="slot_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="slot_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.cabinet.serial}#{self.number}"


class BatteryStatus(models.TextChoices):
    CHARGING = "charging", _("在仓充电")
    FULL = "full", _("在仓满电")
    WITH_RIDER = "with_rider", _("骑手使用中")
    QUARANTINED = "quarantined", _("隔离")
    MAINTENANCE = "maintenance", _("维修中")
    RETIRED = "retired", _("已退役")
    STOCK = "stock", _("库存")


IN_SLOT_STATUSES = (BatteryStatus.CHARGING, BatteryStatus.FULL)
# Statuses a battery may have while it sits in a slot (quarantine locks it where it is).
SLOT_STATUSES = (BatteryStatus.CHARGING, BatteryStatus.FULL, BatteryStatus.QUARANTINED)
# Statuses of a battery held nowhere: the operator's depot.
DEPOT_STATUSES = (BatteryStatus.QUARANTINED, BatteryStatus.MAINTENANCE,
                  BatteryStatus.RETIRED, BatteryStatus.STOCK)
SOH_RETIREMENT_PCT = 80


class BatteryQuerySet(RegionScopedQuerySet):
    def staff_scope(self, access: Access) -> BatteryQuerySet:
        """Staff see the batteries in cabinets they see, and those a work order at such a
        cabinet names (taken out for maintenance)."""
        if access.superuser:
            return self.all()
        cabinets = Cabinet.objects.staff_scope(access)
        return self.filter(
            Q(slot__cabinet__in=cabinets)
            | Q(pk__in=WorkOrder.objects.filter(cabinet__in=cabinets, battery__isnull=False)
                .values("battery_id")))


class Battery(models.Model):
    # common.scoping: a battery counts where it is now (in a cabinet of the region); an
    # operator's members see all of theirs, wherever they are (depot, with a rider).
    region_path = "slot__cabinet__region"
    partner_path = "operator__partner"
    not_found = ("battery_not_found", _("找不到这块电池。"))

    serial = models.CharField(_("电池编号"), max_length=32, unique=True,
                              validators=[SERIAL_VALIDATOR])
    model = models.ForeignKey(BatteryModel, on_delete=models.PROTECT, related_name="batteries",
                              verbose_name=_("型号"))
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="batteries",
                                 verbose_name=_("运营商"))
    status = models.CharField(_("状态"), max_length=12, choices=BatteryStatus.choices,
                              default=BatteryStatus.STOCK)
    slot = models.OneToOneField(Slot, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="battery", verbose_name=_("所在仓位"))
    holder = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="held_battery",
                                  verbose_name=_("使用骑手"))
    soc_pct = models.FloatField(_("电量 (%)"), default=0)
    soh_pct = models.FloatField(_("健康度 (%)"), default=100)
    cycle_count = models.PositiveIntegerField(_("循环次数"), default=0)
    voltage_v = models.FloatField(_("电压 (V)"), null=True, blank=True)
    current_a = models.FloatField(_("电流 (A)"), null=True, blank=True)
    cell_min_mv = models.PositiveIntegerField(null=True, blank=True)
    cell_max_mv = models.PositiveIntegerField(null=True, blank=True)
    cell_temp_c = models.FloatField(_("电芯温度 (℃)"), null=True, blank=True)
    # Lifetime charge delivered into the battery (Ah), as the cabinets count it.
    charge_ah_total = models.FloatField(default=0)
    # The charge session in progress (SoC at its start and Ah counted since): SoH is the Ah a
    # full 0–100 % would take, estimated when a session ends, against the rated capacity.
    session_start_soc = models.FloatField(null=True, blank=True)
    session_start_ah = models.FloatField(null=True, blank=True)
    telemetry_seq = models.BigIntegerField(default=-1)
    last_telemetry_at = models.DateTimeField(null=True, blank=True)
    commissioned_at = models.DateTimeField(auto_now_add=True)

    objects = BatteryQuerySet.as_manager()

    class Meta:
        verbose_name = _("电池")
        verbose_name_plural = _("电池")
        constraints = [
            models.CheckConstraint(condition=Q(soc_pct__gte=0, soc_pct__lte=100),
                                   name="battery_soc_range"),
            models.CheckConstraint(condition=Q(soh_pct__gte=0, soh_pct__lte=100),
                                   name="battery_soh_range"),
            # One place: a slot, a rider, or the depot, and the status agrees with it.
            models.CheckConstraint(
                condition=(
                    Q(slot__isnull=False, holder__isnull=True, status__in=SLOT_STATUSES)
                    | Q(slot__isnull=True, holder__isnull=False,
                        status=BatteryStatus.WITH_RIDER)
                    | Q(slot__isnull=True, holder__isnull=True, status__in=DEPOT_STATUSES)
                ),
                name="battery_exactly_one_place",
            ),
        ]

    def __str__(self) -> str:
        return self.serial

    @property
    def flagged_for_retirement(self) -> bool:
        return self.soh_pct < SOH_RETIREMENT_PCT and self.status != BatteryStatus.RETIRED


class BatteryHealthSample(models.Model):
    """One SoH estimate (end of a charge session, or a reading the battery reported)."""

    battery = models.ForeignKey(Battery, on_delete=models.CASCADE, related_name="health_samples")
    at = models.DateTimeField(db_index=True)
    soh_pct = models.FloatField()
    cycle_count = models.PositiveIntegerField()
    capacity_ah = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["battery", "at"], name="health_battery_at")]

    def __str__(self) -> str:
        return f"{self.battery_id} {self.soh_pct:.1f}% @ {self.at:%Y-%m-%d}"


class PlanKind(models.TextChoices):
    MONTHLY = "monthly", _("包月不限次")
    PER_SWAP = "per_swap", _("按次计费")


class Plan(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="plans")
    battery_model = models.ForeignKey(BatteryModel, on_delete=models.PROTECT,
                                      verbose_name=_("适用电池型号"))
    kind = models.CharField(_("计费方式"), max_length=10, choices=PlanKind.choices)
    # Monthly: the month's price. Per swap: the price of one completed swap. Integer fen.
    price_fen = models.PositiveIntegerField(_("价格 (分)"))
    deposit_fen = models.PositiveIntegerField(_("押金 (分)"), default=0)
    active = models.BooleanField(_("可订购"), default=True)

    class Meta:
        verbose_name = _("换电套餐")
        verbose_name_plural = _("换电套餐")

    def __str__(self) -> str:
        return self.name


class SubscriptionStatus(models.TextChoices):
    ACTIVE = "active", _("生效中")
    ENDED = "ended", _("已结束")
    CANCELLED = "cancelled", _("已取消")


class Subscription(models.Model):
    rider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="energy_subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=10, choices=SubscriptionStatus.choices,
                              default=SubscriptionStatus.ACTIVE)
    starts_at = models.DateTimeField()
    # Monthly plans: paid up to here. Pay-per-swap plans: open-ended (null).
    paid_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rider"], condition=Q(status="active"),
                                    name="subscription_one_active_per_rider"),
        ]

    def __str__(self) -> str:
        return f"{self.rider_id} {self.plan_id} {self.status}"


class SubscriptionEvent(HistoryEntry):
    """History of a rider's plan: started, renewed, cancelled (services/workflows.py)."""

    subject_field = "subscription"

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE,
                                     related_name="events")

    class Meta(HistoryEntry.Meta):
        pass


class ChargeKind(models.TextChoices):
    MONTH = "month", _("月费")
    SWAP = "swap", _("单次换电")
    REFUND = "refund", _("退款")


class Charge(models.Model):
    """Money taken from (or returned to) a rider, in fen. A swap is charged at most once."""

    rider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="energy_charges")
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT,
                                     related_name="charges")
    kind = models.CharField(max_length=8, choices=ChargeKind.choices)
    amount_fen = models.IntegerField()
    swap = models.OneToOneField("Swap", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="charge")
    period_start = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subscription", "period_start"],
                                    condition=Q(kind="month"),
                                    name="charge_one_per_month_period"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_fen} fen"


class SwapState(models.TextChoices):
    RESERVED = "reserved", _("已预约")
    OPENING_RETURN = "opening_return", _("正在打开空仓门")
    RETURNING = "returning", _("请放入旧电池并关门")
    OPENING_RELEASE = "opening_release", _("正在打开满电仓门")
    TAKING = "taking", _("请取出新电池并关门")
    SUSPENDED = "suspended", _("柜机离线，等待恢复")
    COMPLETED = "completed", _("换电完成")
    CANCELLED = "cancelled", _("已取消")
    FAILED = "failed", _("未完成")
    EXPIRED = "expired", _("预约已过期")


OPEN_SWAP_STATES = (SwapState.RESERVED, SwapState.OPENING_RETURN, SwapState.RETURNING,
                    SwapState.OPENING_RELEASE, SwapState.TAKING, SwapState.SUSPENDED)
FINISHED_SWAP_STATES = (SwapState.COMPLETED, SwapState.CANCELLED, SwapState.FAILED,
                        SwapState.EXPIRED)


class Swap(models.Model):
    rider = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="energy_swaps")
    cabinet = models.ForeignKey(Cabinet, on_delete=models.PROTECT, related_name="swaps")
    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT,
                                     related_name="swaps")
    state = models.CharField(max_length=16, choices=SwapState.choices)
    # The step a suspended swap was in when its cabinet went offline.
    suspended_from = models.CharField(max_length=16, blank=True)
    return_slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    release_slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    # The battery the rider holds when the swap starts (null: a first pickup).
    battery_returned = models.ForeignKey(Battery, null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="+")
    battery_released = models.ForeignKey(Battery, null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="+")
    returned_at = models.DateTimeField(null=True, blank=True)
    # Step deadline (reservations: the end of the hold).
    deadline = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    failure_code = models.CharField(max_length=32, blank=True)
    # Client-chosen key: a retried POST returns the same swap instead of a second one.
    request_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("换电记录")
        verbose_name_plural = _("换电记录")
        indexes = [models.Index(fields=["cabinet", "created_at"], name="swap_cabinet_created"),
                   models.Index(fields=["state", "deadline"], name="swap_state_deadline")]
        constraints = [
            # The database itself refuses a second open swap for a rider, and any battery or
            # slot taken by two open swaps at once.
            models.UniqueConstraint(fields=["rider"], condition=Q(state__in=OPEN_SWAP_STATES),
                                    name="swap_one_open_per_rider"),
            models.UniqueConstraint(fields=["battery_released"],
                                    condition=Q(state__in=OPEN_SWAP_STATES),
                                    name="swap_battery_not_promised_twice"),
            models.UniqueConstraint(fields=["release_slot"],
                                    condition=Q(state__in=OPEN_SWAP_STATES),
                                    name="swap_release_slot_not_shared"),
            models.UniqueConstraint(fields=["return_slot"],
                                    condition=Q(state__in=OPEN_SWAP_STATES),
                                    name="swap_return_slot_not_shared"),
            models.UniqueConstraint(fields=["rider", "request_key"], condition=~Q(request_key=""),
                                    name="swap_request_key_unique"),
        ]

    def __str__(self) -> str:
        return f"swap {self.pk} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_SWAP_STATES


class SwapEvent(HistoryEntry):
    """Append-only history of a swap: every transition, command and device report (the swap
    workflow's history, services/workflows.py)."""

    subject_field = "swap"

    swap = models.ForeignKey(Swap, on_delete=models.CASCADE, related_name="events")

    class Meta(HistoryEntry.Meta):
        pass

    def __str__(self) -> str:
        return self.action


class Place(models.TextChoices):
    SLOT = "slot", _("仓位")
    RIDER = "rider", _("骑手")
    DEPOT = "depot", _("运维库房")


class CustodyEntry(LedgerEntry):
    """Append-only ledger (common.ledger): one row per move of one battery. Never updated,
    never deleted: the model and its queryset refuse."""

    account_field = "battery"

    battery = models.ForeignKey(Battery, on_delete=models.PROTECT, related_name="custody")
    from_place = models.CharField(max_length=6, choices=Place.choices, blank=True)
    from_slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    from_rider = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    to_place = models.CharField(max_length=6, choices=Place.choices)
    to_slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="+")
    to_rider = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    to_status = models.CharField(max_length=12, choices=BatteryStatus.choices)
    swap = models.ForeignKey(Swap, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="custody")
    work_order = models.ForeignKey("WorkOrder", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="custody")

    class Meta(LedgerEntry.Meta):
        ordering = ["battery_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(to_place="slot", to_slot__isnull=False, to_rider__isnull=True)
                           | Q(to_place="rider", to_slot__isnull=True, to_rider__isnull=False)
                           | Q(to_place="depot", to_slot__isnull=True, to_rider__isnull=True)),
                name="custody_destination_consistent"),
        ]

    def __str__(self) -> str:
        return f"{self.battery_id}: {self.from_place or '-'} -> {self.to_place}"


class AlarmKind(models.TextChoices):
    OVER_TEMPERATURE = "over_temperature", _("温度过高")
    SMOKE = "smoke", _("烟雾报警")
    DOOR_JAM = "door_jam", _("仓门卡住")
    BATTERY_UNREAD = "battery_unread", _("电池无法识别")
    FOREIGN_BATTERY = "foreign_battery", _("放入了非本人电池")
    OFFLINE = "offline", _("柜机离线")
    LOW_HEALTH = "low_health", _("电池健康度低")


class AlarmState(models.TextChoices):
    OPEN = "open", _("待处理")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    RESOLVED = "resolved", _("已解决")


class Alarm(models.Model):
    cabinet = models.ForeignKey(Cabinet, on_delete=models.PROTECT, related_name="alarms")
    slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="alarms")
    battery = models.ForeignKey(Battery, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="alarms")
    kind = models.CharField(_("类型"), max_length=20, choices=AlarmKind.choices)
    # The cabinet's own id for the alarm, pairing its start and end messages (blank: raised
    # by the server).
    device_alarm_id = models.CharField(max_length=64, blank=True)
    value = models.FloatField(null=True, blank=True)
    state = models.CharField(_("状态"), max_length=12, choices=AlarmState.choices,
                             default=AlarmState.OPEN)
    started_at = models.DateTimeField(_("发生时间"))
    # When the cabinet reported the condition over (the alarm stays open until resolved).
    cleared_at = models.DateTimeField(_("消除时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.CharField(_("处理说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("告警")
        verbose_name_plural = _("告警")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["cabinet", "device_alarm_id"],
                                    condition=~Q(device_alarm_id=""),
                                    name="alarm_device_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.cabinet_id}"


class AlarmEvent(HistoryEntry):
    """History of an alarm: raised, reported over by the cabinet, acknowledged, resolved."""

    subject_field = "alarm"

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="events")

    class Meta(HistoryEntry.Meta):
        pass


class WorkOrderKind(models.TextChoices):
    TO_MAINTENANCE = "to_maintenance", _("送修")
    RETIRE = "retire", _("退役")
    RETURN_TO_SERVICE = "return_to_service", _("修复上架")
    INSPECT_SLOT = "inspect_slot", _("现场检查仓位")


class WorkOrderState(models.TextChoices):
    OPEN = "open", _("待处理")
    DONE = "done", _("已完成")
    CANCELLED = "cancelled", _("已取消")


class WorkOrderQuerySet(RegionScopedQuerySet):
    def staff_scope(self, access: Access) -> WorkOrderQuerySet:
        """Staff see the work orders at the cabinets they see."""
        if access.superuser:
            return self.all()
        return self.filter(cabinet__in=Cabinet.objects.staff_scope(access))


class WorkOrder(models.Model):
    region_path = "cabinet__region"
    partner_path = "operator__partner"
    not_found = ("work_order_not_found", _("找不到这张工单。"))

    kind = models.CharField(_("类型"), max_length=20, choices=WorkOrderKind.choices)
    state = models.CharField(_("状态"), max_length=10, choices=WorkOrderState.choices,
                             default=WorkOrderState.OPEN)
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="work_orders")
    battery = models.ForeignKey(Battery, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="work_orders")
    cabinet = models.ForeignKey(Cabinet, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="work_orders")
    slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    alarm = models.ForeignKey(Alarm, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="work_orders")
    swap = models.ForeignKey(Swap, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="work_orders")
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    done_at = models.DateTimeField(null=True, blank=True)

    objects = WorkOrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class WorkOrderEvent(HistoryEntry):
    """History of a work order: opened, completed, cancelled."""

    subject_field = "work_order"

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")

    class Meta(HistoryEntry.Meta):
        pass


class CabinetCommand(models.Model):
    """A command sent down to a cabinet, and when (and how) the cabinet acknowledged it."""

    cabinet = models.ForeignKey(Cabinet, on_delete=models.CASCADE, related_name="commands")
    msg_id = models.CharField(max_length=64, unique=True)
    command = models.CharField(max_length=16)  # open_door, slot, cabinet, charging, threshold
    payload = models.JSONField(default=dict)
    swap = models.ForeignKey(Swap, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="commands")
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=24, blank=True)  # ok, or the cabinet's error code
    # The cabinet's seq of its ack: a slot snapshot with a higher seq was taken after the
    # command was carried out.
    ack_seq = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.command} {self.msg_id}"


class DeviceMessage(models.Model):
    """The dedup window: (cabinet, message id) seen. Old rows are pruned by a periodic job."""

    cabinet = models.ForeignKey(Cabinet, on_delete=models.CASCADE, related_name="+")
    msg_id = models.CharField(max_length=64)
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=12)
    received_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cabinet", "msg_id"], name="device_message_once"),
        ]

    def __str__(self) -> str:
        return f"{self.cabinet_id}/{self.msg_id}"


class IngestRejection(models.Model):
    """A message the ingester refused, and why (counted per reason on the console)."""

    received_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=32)  # malformed, unknown_cabinet, serial_mismatch ...
    topic = models.CharField(max_length=200)
    serial = models.CharField(max_length=64, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return self.reason
