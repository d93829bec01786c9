"""The database's own guarantees: a battery is in exactly one place."""

import pytest
from django.db import IntegrityError, transaction

from nuanxin.energy.models import Battery, BatteryStatus, Slot
from tests.factories import energy as f
from tests.factories.people import WorkerFactory

pytestmark = pytest.mark.django_db


def test_a_cabinet_is_built_with_its_slots_and_batteries():
    cab = f.cabinet(full=5, charging=3)
    assert cab.slots.count() == 12
    statuses = sorted(Battery.objects.filter(slot__cabinet=cab).values_list("status", flat=True))
    assert statuses == ["charging"] * 3 + ["full"] * 5


def test_a_battery_cannot_be_in_a_slot_and_with_a_rider():
    cab = f.cabinet(full=1, charging=0)
    rider = WorkerFactory()
    battery = Battery.objects.get(slot__cabinet=cab)
    with pytest.raises(IntegrityError), transaction.atomic():
        Battery.objects.filter(pk=battery.pk).update(holder=rider)


def test_a_battery_with_a_rider_must_say_so():
    op = f.operator()
    rider = WorkerFactory()
    battery = f.battery(op=op, holder=rider)
    with pytest.raises(IntegrityError), transaction.atomic():
        Battery.objects.filter(pk=battery.pk).update(status=BatteryStatus.FULL)


def test_two_batteries_cannot_share_a_slot():
    cab = f.cabinet(full=1, charging=0)
    slot = Slot.objects.get(cabinet=cab, number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        f.battery(op=cab.operator, slot=slot)
