"""Energy: operators, cabinets with their slots and batteries, plans and subscribed riders.

    op = operator()                               # a partner of kind operator, in 义驾山
    cab = cabinet(op=op, slots=12, full=6)        # 6 full batteries, 2 charging, 4 empty
    rider = subscribed_rider(op=op)               # a monthly plan, holding a flat battery
    member = operator_user(op)                    # a login of the operator (its console)

Every battery a builder makes gets its commissioning custody entry, so that
`ledger_verify()` holds on whatever these build. Serials carry a random run tag: tests share
the real Mosquitto on this machine, and two runs must never hear each other's cabinets.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from nuanxin.accounts.models import PartnerKind, User
from nuanxin.energy.models import (
    Battery,
    BatteryModel,
    BatteryStatus,
    Cabinet,
    Chemistry,
    CustodyEntry,
    Operator,
    Place,
    Plan,
    PlanKind,
    Slot,
    Subscription,
)
from nuanxin.geo.models import Region
from tests.factories.people import PartnerFactory, PartnerUserFactory, WorkerFactory
from tests.factories.places import YIJIASHAN

RUN_TAG = uuid.uuid4().hex[:6].upper()
_n = itertools.count(1)


def serial(prefix: str) -> str:
    return f"{prefix}-{RUN_TAG}-{next(_n):05d}"


def battery_model(code: str = "48V24AH-LFP") -> BatteryModel:
    model, _ = BatteryModel.objects.get_or_create(
        code=code, defaults={"name": f"{code} 电池", "chemistry": Chemistry.LFP,
                             "rated_voltage_v": Decimal("48.0"), "capacity_ah": Decimal("24.0")})
    return model


def operator(name: str | None = None, *, region_code: str = YIJIASHAN) -> Operator:
    partner = PartnerFactory(name=name or f"测试换电运营商{next(_n)}", kind=PartnerKind.OPERATOR,
                             region_code=region_code)
    return Operator.objects.create(partner=partner, hotline="0579-85550001")


def operator_user(of: Operator) -> User:
    return PartnerUserFactory(partner=of.partner)


def cabinet(*, op: Operator | None = None, region_code: str = YIJIASHAN, station=None,
            slots: int = 12, full: int = 6, charging: int = 2, soc_full: float = 100.0,
            model: BatteryModel | None = None, online: bool = True, **fields) -> Cabinet:
    """A cabinet with `slots` slots: the first `full` hold full batteries, the next
    `charging` hold charging ones (SoC 40 %), the rest are empty."""
    op = op or operator(region_code=region_code)
    model = model or battery_model()
    region = station.region if station is not None else Region.objects.get(code=region_code)
    cab = Cabinet.objects.create(
        serial=fields.pop("serial", None) or serial("CAB"), name=fields.pop("name", "测试换电柜"),
        operator=op, region=region, station=station,
        lat=fields.pop("lat", region.center_lat), lng=fields.pop("lng", region.center_lng),
        online=online, last_heartbeat_at=timezone.now() if online else None, **fields)
    slot_rows = Slot.objects.bulk_create(Slot(cabinet=cab, number=n) for n in range(1, slots + 1))
    for index, slot in enumerate(slot_rows):
        if index < full:
            battery(op=op, model=model, slot=slot, soc=soc_full)
        elif index < full + charging:
            battery(op=op, model=model, slot=slot, soc=40.0)
    return cab


def battery(*, op: Operator, model: BatteryModel | None = None, slot: Slot | None = None,
            holder: User | None = None, soc: float = 100.0, soh: float = 100.0,
            status: str | None = None) -> Battery:
    model = model or battery_model()
    if slot is not None:
        status = status or (BatteryStatus.FULL if soc >= slot.cabinet.full_threshold_pct
                            else BatteryStatus.CHARGING)
        place = Place.SLOT
    elif holder is not None:
        status, place = BatteryStatus.WITH_RIDER, Place.RIDER
    else:
        status, place = status or BatteryStatus.STOCK, Place.DEPOT
    bat = Battery.objects.create(serial=serial("BAT"), model=model, operator=op, status=status,
                                 slot=slot, holder=holder, soc_pct=soc, soh_pct=soh)
    if slot is not None and status == BatteryStatus.CHARGING:
        Slot.objects.filter(pk=slot.pk).update(charging=True)
    CustodyEntry.objects.create(battery=bat, at=timezone.now(),
                                action="energy.battery.commissioned",
                                to_place=place, to_slot=slot, to_rider=holder, to_status=status)
    return bat


def plan(*, op: Operator, kind: str = PlanKind.MONTHLY, price_fen: int = 29900,
         model: BatteryModel | None = None) -> Plan:
    return Plan.objects.create(code=f"P{next(_n)}-{RUN_TAG}", name="包月不限次换电",
                               operator=op, battery_model=model or battery_model(), kind=kind,
                               price_fen=price_fen)


def subscribed_rider(*, op: Operator, kind: str = PlanKind.MONTHLY, holding: bool = True,
                     model: BatteryModel | None = None, soc: float = 12.0) -> User:
    """A rider with an active plan of `op`, holding a (flat) battery of the plan's model."""
    user = WorkerFactory()
    the_plan = plan(op=op, kind=kind, model=model,
                    price_fen=29900 if kind == PlanKind.MONTHLY else 600)
    now = timezone.now()
    Subscription.objects.create(rider=user, plan=the_plan, starts_at=now,
                                paid_until=now + timedelta(days=30)
                                if kind == PlanKind.MONTHLY else None)
    if holding:
        battery(op=op, model=the_plan.battery_model, holder=user, soc=soc)
    return user


def door_cmd(cabinet, slot_number: int) -> str | None:
    """The open_door command a cabinet's door report echoes: the latest sent to that slot."""
    from nuanxin.energy.models import CabinetCommand

    return (CabinetCommand.objects.filter(cabinet=cabinet, command="open_door",
                                          payload__slot=slot_number)
            .order_by("-id").values_list("msg_id", flat=True).first())
