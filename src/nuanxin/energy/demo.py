"""Demo data of the battery-swap cabinets, deterministic from the caller's random generator.

    seed_energy(rng, now=timezone.now())

Runs after the people and stations are seeded (ops.demo.seed_domains calls it):
- 中国铁塔义乌分公司 (the alliance's demo partner, login tower.yiwu) becomes the operator of
  the article's 8 cabinet groups in 义乌市稠城街道 around 义驾山社区: 2 cabinets of 12 slots
  per group, about 10 batteries (48V 24Ah LFP) in each, at or near the stations there;
  中国铁塔浙江省分公司 runs a few more cabinets (60V NMC) in Hangzhou, Ningbo and Taizhou.
- Plans: 包月不限次 299 CNY/month, 按次 6 CNY/swap.
- A month of completed swaps by 800+ distinct riders over the 8 Yiwu groups, replayed in
  order so the custody ledger holds (`nuanxin energy verify`): each rider returns the battery
  held into an empty slot and takes a full one; the returned battery charges and is marked
  full when it would have been.
- A quarter of state-of-health samples (a few batteries declining fast, a few below 80 %).
- One battery quarantined in its slot with an over-temperature alarm open: the duty
  engineer's journey starts there.
- The demo rider (丁建) is subscribed monthly and holds a battery at 23 %.

Rows are written in bulk (a few seconds for the whole month); nothing here is a service call,
because no rule of a live swap applies to history being laid down.
"""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import models
from django.utils import timezone

from nuanxin.accounts.models import (
    ConsentRecord,
    Partner,
    PartnerKind,
    User,
    UserKind,
    WorkerProfile,
)
from nuanxin.common.scoping import region_q
from nuanxin.energy.models import (
    Alarm,
    AlarmKind,
    Battery,
    BatteryHealthSample,
    BatteryModel,
    BatteryStatus,
    Cabinet,
    Charge,
    ChargeKind,
    Chemistry,
    CustodyEntry,
    Operator,
    Place,
    Plan,
    PlanKind,
    Slot,
    Subscription,
    Swap,
    SwapEvent,
    SwapState,
)
from nuanxin.geo.models import Region
from nuanxin.stations.selectors import stations_named

__all__ = ["seed_energy", "YIWU_OPERATOR", "DEMO_RIDER_PHONE"]

YIWU_OPERATOR = "中国铁塔义乌分公司"
PROVINCE_OPERATOR = "中国铁塔浙江省分公司"
DEMO_RIDER_PHONE = "13800000001"  # ops.demo passes its DEMO_WORKER_PHONE
SHANGHAI = ZoneInfo("Asia/Shanghai")
UNUSABLE = "!"  # riders log in by SMS code: no password can match
RIDERS = 860           # distinct riders served by the Yiwu groups in the month ("800 余人")
HISTORY_DAYS = 30
SLOTS = 12
BATTERIES_PER_CABINET = 10
FULL_PCT = 95

# The article's 8 groups: (group name, community code, station name or "", offset in metres
# east/north of the station or the community centre).
YIWU_GROUPS = [
    ("义驾山社区党群服务中心", "330782001001", "义驾山社区党群服务中心", (15, -10)),
    ("义驾山农贸市场", "330782001001", "", (420, 260)),
    ("清风社区外卖骑手集散点", "330782001002", "", (-60, 90)),
    ("幸福社区商业街", "330782001003", "", (120, -140)),
    ("桂花社区新就业群体服务站", "330782001004", "桂花社区新就业群体服务站", (-12, 18)),
    ("桂花社区暖新驿站", "330782001004", "桂花社区暖新驿站", (20, 10)),
    ("稠城宾王路", "330782001", "", (-380, 520)),
    ("稠城篁园路", "330782001", "", (650, -300)),
]
# A few cabinets elsewhere in the province: (name, station name, region code)
ELSEWHERE = [
    ("钱江苑社区换电柜", "钱江苑社区党群服务中心", "330102001001"),
    ("四季青街道换电柜", "四季青街道新就业群体党群服务中心", "330102001"),
    ("海璟园社区换电柜", "海璟园社区党群服务中心", "330212001001"),
    ("洋洪社区换电柜", "台州市党群服务中心童心守望点", "331004001001"),
]


@contextlib.contextmanager
def _keep_given_times(*fields: models.DateTimeField):
    """Bulk inserts of history keep the times given instead of auto_now_add's "now"."""
    saved = [(f, f.auto_now_add) for f in fields]
    for f, _ in saved:
        f.auto_now_add = False
    try:
        yield
    finally:
        for f, value in saved:
            f.auto_now_add = value


def _insert(model: type[models.Model], rows: list[dict], *, with_id: bool = False) -> None:
    """Append rows straight to the table (COPY on PostgreSQL, one executemany on SQLite): the
    ORM's bulk_create spends seconds preparing tens of thousands of history rows. Keys are
    field names (foreign keys given as ids); missing fields take their defaults."""
    import json

    from django.core.management.color import no_style
    from django.db import connection

    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
    defaults = [None if f.primary_key else f.get_default() for f in fields]
    names = [f.name for f in fields]
    pg = connection.vendor == "postgresql"
    adapt = connection.ops.adapt_datetimefield_value

    def value(v):
        if isinstance(v, datetime):
            return v if pg else adapt(v)
        if isinstance(v, dict | list):
            return json.dumps(v)
        return v

    data = [tuple(value(row.get(n, d)) for n, d in zip(names, defaults, strict=True))
            for row in rows]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    connection.ensure_connection()
    if pg:
        with connection.connection.cursor() as cursor, cursor.copy(
                f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608 - model meta
            for row in data:
                copy.write_row(row)
        if with_id:
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
                    cursor.execute(sql)
    elif connection.vendor == "sqlite":
        marks = ", ".join("?" * len(fields))
        connection.connection.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})", data)  # noqa: S608
    else:
        model.objects.bulk_create([model(**{f.attname: v for f, v in zip(fields, row,
                                                                          strict=True)})
                                   for row in data], batch_size=5000)


def _offset(lat: float, lng: float, east_m: float, north_m: float) -> tuple[float, float]:
    import math

    return (round(lat + north_m / 111_320, 6),
            round(lng + east_m / (111_320 * math.cos(math.radians(lat))), 6))


def _soc_after(soc: float, hours: float) -> float:
    """Charged in a slot for `hours`: about 45 %/h to 80 %, then slower (CC-CV), up to the
    threshold, where the cabinet stops."""
    if soc < 80:
        cc_hours = (80 - soc) / 45
        if hours <= cc_hours:
            return soc + 45 * hours
        hours -= cc_hours
        soc = 80.0
    return min(float(FULL_PCT) + 0.5, soc + 18 * hours)


def _hours_to_full(soc: float) -> float:
    cc = max(0.0, 80 - soc) / 45
    return cc + (FULL_PCT - max(soc, 80.0)) / 18


def _operator(name: str, region_code: str, hotline: str) -> Operator:
    partner = Partner.objects.filter(name=name).first()
    if partner is None:
        partner = Partner.objects.create(name=name, kind=PartnerKind.OPERATOR,
                                         region=Region.objects.get(code=region_code))
    operator, _ = Operator.objects.get_or_create(partner=partner,
                                                 defaults={"hotline": hotline})
    return operator


def _riders(rng: random.Random, homes: list[Region], now: datetime, demo_phone: str
            ) -> list[User]:
    """The demo rider, then workers living in 义乌, then others; topped up with new Yiwu
    workers to RIDERS."""
    from nuanxin.accounts.services import current_notice_version

    # Queries, not a scan: at province scale there are millions of workers.
    workers = User.objects.filter(kind=UserKind.WORKER).order_by("pk")
    pool = list(workers.filter(phone=demo_phone))
    pool += workers.filter(region_q("worker_profile__home_region", "330782")).exclude(
        phone=demo_phone)[:RIDERS - len(pool)]
    if len(pool) < RIDERS:
        pool += workers.exclude(pk__in=[u.pk for u in pool])[:RIDERS - len(pool)]
    missing = RIDERS - len(pool)
    if missing > 0:
        taken = set(User.objects.filter(phone__startswith="1370").values_list("phone",
                                                                             flat=True))
        phones = [p for p in (f"1370{n:07d}" for n in range(1, missing * 2 + 1))
                  if p not in taken][:missing]
        made = User.objects.bulk_create(
            User(username=p, phone=p, kind=UserKind.WORKER, password=UNUSABLE) for p in phones)
        version = current_notice_version()
        WorkerProfile.objects.bulk_create(
            WorkerProfile(user=u, occupation="food_delivery", platforms=["美团"],
                          home_region=rng.choice(homes), consent_version=version,
                          consented_at=now) for u in made)
        ConsentRecord.objects.bulk_create(ConsentRecord(user=u, version=version) for u in made)
        pool += made
    return pool


def seed_energy(rng: random.Random, *, now: datetime | None = None,
                demo_rider_phone: str = DEMO_RIDER_PHONE) -> dict[str, int]:
    """Write the energy demo; returns counts. Deterministic for a given `rng` state."""
    now = (now or timezone.now()).replace(microsecond=0)
    rng = random.Random(rng.random())  # our own stream: later seeders draw the same numbers
    yiwu = _operator(YIWU_OPERATOR, "330782", "0579-85550101")
    province = _operator(PROVINCE_OPERATOR, "330000", "0571-85550202")
    lfp, _ = BatteryModel.objects.get_or_create(
        code="48V24AH-LFP", defaults={"name": "48V 24Ah 磷酸铁锂电池", "chemistry": Chemistry.LFP,
                                      "rated_voltage_v": Decimal("48.0"),
                                      "capacity_ah": Decimal("24.0")})
    nmc, _ = BatteryModel.objects.get_or_create(
        code="60V32AH-NMC", defaults={"name": "60V 32Ah 三元锂电池", "chemistry": Chemistry.NMC,
                                      "rated_voltage_v": Decimal("60.0"),
                                      "capacity_ah": Decimal("32.0")})
    monthly = Plan.objects.create(code="CT-YW-MONTH-48", name="包月不限次换电 (48V)",
                                  operator=yiwu, battery_model=lfp, kind=PlanKind.MONTHLY,
                                  price_fen=29900, deposit_fen=50000)
    per_swap = Plan.objects.create(code="CT-YW-SWAP-48", name="按次换电 (48V)", operator=yiwu,
                                   battery_model=lfp, kind=PlanKind.PER_SWAP, price_fen=600,
                                   deposit_fen=50000)
    Plan.objects.create(code="CT-ZJ-MONTH-60", name="包月不限次换电 (60V)", operator=province,
                        battery_model=nmc, kind=PlanKind.MONTHLY, price_fen=34900,
                        deposit_fen=80000)
    Plan.objects.create(code="CT-ZJ-SWAP-60", name="按次换电 (60V)", operator=province,
                        battery_model=nmc, kind=PlanKind.PER_SWAP, price_fen=700,
                        deposit_fen=80000)

    # ---- cabinets and slots
    wanted = {c for _, c, _, _ in YIWU_GROUPS} | {c for _, _, c in ELSEWHERE}
    found = {r.code: r for r in Region.objects.filter(
        code__in={c[:n] for c in wanted for n in (6, 9, 12)})}
    # Generated communities exist only in a full demo; else the street or district stands in.
    regions = {c: found.get(c) or found.get(c[:9]) or found[c[:6]] for c in wanted}
    stations = stations_named({s for _, _, s, _ in YIWU_GROUPS if s} | {s for _, s, _ in ELSEWHERE})
    cabinets: list[Cabinet] = []
    for g, (group, code, station_name, (east, north)) in enumerate(YIWU_GROUPS, start=1):
        region = regions[code]
        station = stations.get(station_name) if station_name else None
        base = (station.lat, station.lng) if station else (region.center_lat, region.center_lng)
        for c in (1, 2):
            lat, lng = _offset(*base, east + (c - 1) * 6, north)
            cabinets.append(Cabinet(
                serial=f"CT-YW-{g:02d}{c:02d}", name=f"{group} {c} 号柜", operator=yiwu,
                region=station.region if station else region, station=station, group=group,
                address=f"浙江省义乌市稠城街道 {group}", lat=lat, lng=lng,
                hardware_model="CT-HD12", firmware="2.3.1", slot_count=SLOTS,
                full_threshold_pct=FULL_PCT, online=False, is_demo=True))
    for n, (name, station_name, code) in enumerate(ELSEWHERE, start=1):
        station = stations.get(station_name)
        region = station.region if station else regions[code]
        lat, lng = (station.lat, station.lng) if station else (region.center_lat,
                                                               region.center_lng)
        lat, lng = _offset(lat, lng, 25, -15)
        cabinets.append(Cabinet(
            serial=f"CT-ZJ-{n:04d}", name=name, operator=province, region=region,
            station=station, group=name, address=name, lat=lat, lng=lng,
            hardware_model="CT-HD12", firmware="2.3.1", slot_count=SLOTS,
            full_threshold_pct=FULL_PCT, online=False, is_demo=True))
    with _keep_given_times(Cabinet._meta.get_field("created_at")):
        for cab in cabinets:
            cab.created_at = now - timedelta(days=120)
        cabinets = Cabinet.objects.bulk_create(cabinets)
    cabinets = list(Cabinet.objects.filter(serial__in=[c.serial for c in cabinets])
                    .order_by("serial"))
    Slot.objects.bulk_create(Slot(cabinet=cab, number=n) for cab in cabinets
                             for n in range(1, SLOTS + 1))
    slots_of: dict[int, list[Slot]] = {cab.pk: [] for cab in cabinets}
    for slot in Slot.objects.filter(cabinet__in=cabinets).order_by("cabinet_id", "number"):
        slots_of[slot.cabinet_id].append(slot)
    yiwu_cabs = [c for c in cabinets if c.serial.startswith("CT-YW-")]
    groups: dict[str, list[Cabinet]] = {}
    for cab in yiwu_cabs:
        groups.setdefault(cab.group, []).append(cab)
    group_names = [g for g, *_ in YIWU_GROUPS]

    # ---- riders and their plans
    homes = list(Region.objects.in_region("330782001").filter(level="community"))
    homes = homes or [regions["330782001001"]]
    riders = _riders(rng, homes, now, demo_rider_phone)
    start = now - timedelta(days=HISTORY_DAYS)
    commissioned = start - timedelta(days=1)
    subs, charges, sub_plan = [], [], {}
    for i, rider in enumerate(riders):
        plan = monthly if (rider.phone == demo_rider_phone or rng.random() < 0.8) else per_swap
        begins = start - timedelta(days=rng.randint(0, 200), hours=rng.randint(0, 23))
        paid = None
        if plan.kind == PlanKind.MONTHLY:
            # Paid month by month; the current month's period began within the last 30 days.
            period = now - timedelta(days=rng.randint(0, 29), hours=rng.randint(0, 23))
            paid = period + timedelta(days=30)
        subs.append(Subscription(rider=rider, plan=plan, starts_at=begins, paid_until=paid,
                                 created_at=begins))
        sub_plan[rider.pk] = (i, plan)
    with _keep_given_times(Subscription._meta.get_field("created_at")):
        subs = Subscription.objects.bulk_create(subs)
    sub_of = {s.rider_id: s for s in subs}
    for s in subs:
        if s.plan.kind == PlanKind.MONTHLY:
            period = s.paid_until - timedelta(days=30)
            for back in (1, 0):  # last month's payment and this month's
                p = period - timedelta(days=30 * back)
                if p >= s.starts_at:
                    charges.append(Charge(rider_id=s.rider_id, subscription=s,
                                          kind=ChargeKind.MONTH, amount_fen=s.plan.price_fen,
                                          period_start=p, created_at=p))

    # ---- batteries: in memory first, replayed through the month, then written
    serial_no = iter(range(1, 100_000))

    class B:  # one battery's life in the simulation
        __slots__ = ("serial", "model", "op", "soh", "soc", "since", "slot", "rider", "status",
                     "cycles", "pk")

        def __init__(self, model, op, soh):
            prefix = "LFP48" if model is lfp else "NMC60"
            self.serial = f"{prefix}-{next(serial_no):06d}"
            self.model, self.op, self.soh = model, op, soh
            self.soc, self.since, self.slot, self.rider = 100.0, commissioned, None, None
            self.status, self.cycles, self.pk = BatteryStatus.FULL, 0, None

    def draw_soh() -> float:
        roll = rng.random()
        if roll < 0.04:
            return round(rng.uniform(74.0, 79.5), 1)   # due for retirement
        if roll < 0.2:
            return round(rng.uniform(80.0, 88.0), 1)
        return round(rng.uniform(88.0, 99.5), 1)

    custody: list[tuple] = []  # (at, order, battery, fields, swap key)
    order = iter(range(10**9))

    def move(b: B, at: datetime, action: str, to_place: str, to_status: str, *,
             slot: Slot | None = None, rider: User | None = None, swap_key=None) -> None:
        placed = bool(custody_of.get(b.serial))
        from_place = "" if not placed else (
            Place.SLOT if b.slot else Place.RIDER if b.rider else Place.DEPOT)
        custody.append((at, next(order), b, {
            "action": action, "from_place": from_place,
            "from_slot": b.slot if placed else None, "from_rider": b.rider if placed else None,
            "to_place": to_place, "to_slot": slot, "to_rider": rider, "to_status": to_status},
            swap_key))
        custody_of[b.serial] = True
        b.slot, b.rider, b.status = slot, rider, to_status

    custody_of: dict[str, bool] = {}
    in_slot: dict[int, B | None] = {}
    batteries: list[B] = []
    for cab in cabinets:
        model, op = (lfp, yiwu) if cab in yiwu_cabs else (nmc, province)
        count = BATTERIES_PER_CABINET if cab in yiwu_cabs else 9
        for slot in slots_of[cab.pk]:
            in_slot[slot.pk] = None
        for slot in slots_of[cab.pk][:count]:
            b = B(model, op, draw_soh())
            b.soc = round(rng.uniform(FULL_PCT, 100.0), 1)
            move(b, commissioned, "energy.battery.commissioned", Place.SLOT, BatteryStatus.FULL,
                 slot=slot)
            in_slot[slot.pk] = b
            batteries.append(b)
    held: dict[int, B] = {}
    for rider in riders:
        b = B(lfp, yiwu, draw_soh())
        b.soc = round(rng.uniform(30, 100), 1)
        move(b, commissioned, "energy.battery.commissioned", Place.RIDER,
             BatteryStatus.WITH_RIDER, rider=rider)
        held[rider.pk] = b
        batteries.append(b)

    # ---- a month of swaps: every rider at least once, busy ones every day or two
    home_group = {r.pk: rng.choices(group_names, weights=(18, 14, 12, 12, 14, 10, 10, 10))[0]
                  for r in riders}
    visits: list[tuple[datetime, int, User]] = []
    for rider in riders:
        count = rng.choices((1, 2, 3, 5, 8, 12, 18), weights=(8, 12, 16, 20, 20, 14, 10))[0]
        for _ in range(count):
            day = rng.randrange(HISTORY_DAYS + 1)  # up to today
            hour = rng.choices((7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21),
                               weights=(3, 5, 4, 8, 12, 10, 6, 4, 4, 6, 10, 12, 8, 5, 3))[0]
            local = (start.astimezone(SHANGHAI).replace(hour=hour, minute=0, second=0)
                     + timedelta(days=day, minutes=rng.randrange(60), seconds=rng.randrange(60)))
            at = local.astimezone(UTC)
            if start < at < now - timedelta(minutes=30):
                visits.append((at, rider.pk, rider))
    # A few riders are at the cabinets within the hour before the demo is seeded, at any hour
    # (night-shift riders swap too): their returned batteries are still charging, so the
    # slot grid shows charging slots beside full ones at 03:00 as at 15:00.
    for rider in rng.sample(riders, min(12, len(riders))):
        visits.append((now - timedelta(minutes=rng.uniform(31, 70)), rider.pk, rider))
    visits.sort(key=lambda v: (v[0], v[1]))

    def full_at(b: B, at: datetime) -> bool:
        return _soc_after(b.soc, (at - b.since).total_seconds() / 3600) >= FULL_PCT

    swaps: list[tuple[dict, int]] = []  # (the row's fields, key)
    events: list[tuple[int, list[tuple]]] = []
    busy_until: dict[int, datetime] = {}
    for at, _, rider in visits:
        if at < busy_until.get(rider.pk, start):  # one swap at a time, and not minutes apart
            continue
        own = held[rider.pk]
        preferred = groups[home_group[rider.pk]] if rng.random() < 0.85 else groups[
            rng.choice(group_names)]
        chosen = None
        for cab in sorted(preferred, key=lambda _c: rng.random()):
            empties = [s for s in slots_of[cab.pk] if in_slot[s.pk] is None]
            fulls = [s for s in slots_of[cab.pk] if in_slot[s.pk] is not None
                     and in_slot[s.pk].status != BatteryStatus.QUARANTINED
                     and full_at(in_slot[s.pk], at)]
            if empties and fulls:
                chosen = (cab, empties[0], max(fulls, key=lambda s: in_slot[s.pk].soc))
                break
        if chosen is None:
            continue
        cab, empty, full = chosen
        new = in_slot[full.pk]
        key = len(swaps)
        returned_at = at + timedelta(seconds=rng.randint(25, 70))
        done = returned_at + timedelta(seconds=rng.randint(12, 40))
        # The released battery's own life: it was charged, marked full when it got there.
        full_time = new.since + timedelta(hours=max(0.0, _hours_to_full(new.soc)))
        if new.status == BatteryStatus.CHARGING:
            move(new, min(full_time, at - timedelta(seconds=1)), "energy.battery.charged_full",
                 Place.SLOT, BatteryStatus.FULL, slot=full)
        new.soc = _soc_after(new.soc, (at - new.since).total_seconds() / 3600)
        own.soc = round(rng.uniform(6, 32), 1)
        move(own, returned_at, "energy.swap.battery_returned", Place.SLOT,
             BatteryStatus.CHARGING, slot=empty, swap_key=key)
        own.since, own.cycles = returned_at, own.cycles + 1
        in_slot[empty.pk] = own
        move(new, done, "energy.swap.battery_released", Place.RIDER, BatteryStatus.WITH_RIDER,
             rider=rider, swap_key=key)
        new.since = done
        in_slot[full.pk] = None
        held[rider.pk] = new
        busy_until[rider.pk] = done + timedelta(minutes=30)
        swaps.append((dict(rider=rider, cabinet=cab, subscription=sub_of[rider.pk],
                           state=SwapState.COMPLETED, return_slot=empty, release_slot=full,
                           battery_returned=own, battery_released=new, returned_at=returned_at,
                           created_at=at, finished_at=done), key))
        events.append((key, [
            (at, "energy.swap.started", "", SwapState.OPENING_RETURN),
            (at + timedelta(seconds=2), "energy.swap.return_door_opened",
             SwapState.OPENING_RETURN, SwapState.RETURNING),
            (returned_at, "energy.swap.battery_returned", SwapState.RETURNING,
             SwapState.OPENING_RELEASE),
            (returned_at + timedelta(seconds=2), "energy.swap.release_door_opened",
             SwapState.OPENING_RELEASE, SwapState.TAKING),
            (done, "energy.swap.completed", SwapState.TAKING, SwapState.COMPLETED),
        ]))

    # ---- today's state: slot batteries charged up to now; riders' batteries drained
    for cab in cabinets:
        for slot in slots_of[cab.pk]:
            b = in_slot[slot.pk]
            if b is None:
                continue
            hours = (now - b.since).total_seconds() / 3600
            if b.status == BatteryStatus.CHARGING:
                if full_at(b, now):
                    move(b, b.since + timedelta(hours=_hours_to_full(b.soc)),
                         "energy.battery.charged_full", Place.SLOT, BatteryStatus.FULL,
                         slot=slot)
                b.soc = round(_soc_after(b.soc, hours), 1)
            if b.soc >= FULL_PCT:  # cabinets stop at the threshold; packs settle a bit above
                b.soc = round(min(100.0, b.soc + rng.uniform(0, 4)), 1)
    for rider in riders:
        b = held[rider.pk]
        hours = (now - b.since).total_seconds() / 3600
        b.soc = round(max(5.0, min(b.soc, 100.0) - 7.5 * min(hours, 12)), 1)
        if rider.phone == demo_rider_phone:
            b.soc = 23.0
    # The duty engineer's journey: one battery in a Yiwu slot overheated minutes ago. It is
    # still hot (cell_temp_c below), its cabinet has stopped charging it and still reports
    # the alarm; a simulated cabinet started on this data cools it and reports the alarm
    # over once it is under 45 ℃, after which the engineer can resolve it and unlock.
    hot_cab = groups[group_names[0]][0]
    hot_slot = next(s for s in slots_of[hot_cab.pk] if in_slot[s.pk] is not None)
    hot = in_slot[hot_slot.pk]
    hot_at = max(now - timedelta(minutes=6),
                 max(c[0] for c in custody if c[2] is hot) + timedelta(minutes=1))
    move(hot, hot_at, "energy.battery.quarantined", Place.SLOT, BatteryStatus.QUARANTINED,
         slot=hot_slot)

    # ---- write
    yiwu_model_cap = {lfp.pk: float(lfp.capacity_ah), nmc.pk: float(nmc.capacity_ah)}
    rows = []
    for b in batteries:
        cycles = int(b.cycles + (100 - b.soh) / 0.025)
        rows.append(Battery(
            serial=b.serial, model=b.model, operator=b.op, status=b.status, slot=b.slot,
            holder=b.rider, soc_pct=min(100.0, b.soc), soh_pct=b.soh, cycle_count=cycles,
            charge_ah_total=round(cycles * yiwu_model_cap[b.model.pk] * 0.9, 1),
            cell_temp_c=63.5 if b is hot else round(rng.uniform(22, 30), 1),
            commissioned_at=commissioned - timedelta(days=int((100 - b.soh) * 12))))
    with _keep_given_times(Battery._meta.get_field("commissioned_at")):
        Battery.objects.bulk_create(rows, batch_size=2000)
    pk_of = dict(Battery.objects.filter(serial__in=[b.serial for b in batteries])
                 .values_list("serial", "pk"))
    for b in batteries:
        b.pk = pk_of[b.serial]
    charging_slots = [pk for pk, b in in_slot.items()
                      if b is not None and b.status == BatteryStatus.CHARGING]
    Slot.objects.filter(pk__in=charging_slots).update(charging=True)

    first_swap = (Swap.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1
    swap_pk = {key: first_swap + n for n, (_, key) in enumerate(swaps)}
    _insert(Swap, [{**{k: getattr(v, "pk", v) for k, v in fields.items()},
                    "id": swap_pk[key]} for fields, key in swaps], with_id=True)
    _insert(SwapEvent, [
        {"swap": swap_pk[key], "at": at, "action": action, "from_state": frm, "to_state": to,
         "actor": swaps[key][0]["rider"].pk if action == "energy.swap.started" else None}
        for key, evs in events for at, action, frm, to in evs])
    for fields, key in swaps:
        if fields["subscription"].plan_id == per_swap.pk:
            charges.append(Charge(rider_id=fields["rider"].pk, subscription=fields["subscription"],
                                  kind=ChargeKind.SWAP, amount_fen=per_swap.price_fen,
                                  swap_id=swap_pk[key], created_at=fields["finished_at"]))
    with _keep_given_times(Charge._meta.get_field("created_at")):
        Charge.objects.bulk_create(charges, batch_size=5000)

    custody.sort(key=lambda c: (c[0], c[1]))
    _insert(CustodyEntry, [
        {"battery": b.pk, "at": at, "swap": swap_pk[key] if key is not None else None,
         **{k: getattr(v, "pk", v) for k, v in f.items()}}
        for at, _, b, f, key in custody])

    # ---- health: a sample a week over the last quarter
    samples = []
    fast = set(rng.sample(range(len(batteries)), 9))
    for index, b in enumerate(batteries):
        drop = rng.uniform(3.5, 7.0) if index in fast else rng.uniform(0.2, 1.2)
        cap = yiwu_model_cap[b.model.pk]
        cycles_now = int(b.cycles + (100 - b.soh) / 0.025)
        for week in range(13, -1, -1):
            at = now - timedelta(days=7 * week, hours=rng.randint(0, 12))
            soh = min(100.0, b.soh + drop * week / 13 + rng.uniform(-0.15, 0.15))
            samples.append({"battery": b.pk, "at": at, "soh_pct": round(soh, 2),
                            "cycle_count": max(0, cycles_now - week * 6),
                            "capacity_ah": round(cap * soh / 100, 2)})
    _insert(BatteryHealthSample, samples)

    Alarm.objects.create(cabinet=hot_cab, slot=hot_slot, battery_id=hot.pk,
                         kind=AlarmKind.OVER_TEMPERATURE, device_alarm_id="demo-overheat-1",
                         value=63.5, started_at=hot_at)
    Slot.objects.filter(pk=hot_slot.pk).update(locked=True, charging=False)
    return {"cabinets": len(cabinets), "batteries": len(batteries), "swaps": len(swaps),
            "riders": len({f["rider"].pk for f, _ in swaps}), "samples": len(samples)}
