"""The duty engineer's journey ends (issue 8, item 10): a simulated cabinet started on data
with an over-temperature alarm in progress cools the battery and reports the alarm over;
the engineer can then resolve it and unlock the slot. While the cabinet still reports it,
the alarm page says what to do, and a battery taken out of the cabinet lets a person close
an alarm a faulty sensor would otherwise keep open for ever."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from nuanxin.energy.models import Alarm, AlarmKind, Battery, BatteryStatus, Place, Slot
from nuanxin.energy.services import custody, safety
from tests.factories import energy as f


def _overheated(cab) -> tuple[Battery, Alarm]:
    """What the demo seeds: a hot battery, quarantined in its locked slot, its cabinet's
    over-temperature alarm open and not yet reported over."""
    battery = Battery.objects.get(slot__cabinet=cab, slot__number=1)
    custody.battery_move(battery=battery, to_place=Place.SLOT, to_slot=battery.slot,
                         to_status=BatteryStatus.QUARANTINED,
                         action="energy.battery.quarantined")
    Battery.objects.filter(pk=battery.pk).update(cell_temp_c=63.5)
    Slot.objects.filter(pk=battery.slot_id).update(locked=True, charging=False)
    alarm = Alarm.objects.create(cabinet=cab, slot=battery.slot, battery=battery,
                                 kind=AlarmKind.OVER_TEMPERATURE,
                                 device_alarm_id="demo-overheat-1", value=63.5,
                                 started_at=timezone.now())
    return battery, alarm


@pytest.mark.django_db(transaction=True)
def test_a_restarted_cabinet_cools_the_battery_and_the_alarm_can_be_closed(
        mqtt_ingester, virtual_cabinet):
    cab = f.cabinet(full=6, charging=0)
    member = f.operator_user(cab.operator)
    battery, alarm = _overheated(cab)
    virtual = virtual_cabinet(cabinet=cab)
    assert mqtt_ingester.wait_idle(10)
    with pytest.raises(safety.ServiceError):
        safety.alarm_resolve(user=member, alarm_id=alarm.pk, note="等待降温")

    virtual.advance(30 * 60)  # half an hour, uncharged, at 25 ℃ ambient
    sent = [a for a in virtual.sent_of("alarm") if a["alarm_id"] == "demo-overheat-1"]
    assert [a["state"] for a in sent] == ["end"]
    assert sent[0]["value"] < 45
    assert mqtt_ingester.wait_idle(10)
    alarm.refresh_from_db()
    assert alarm.cleared_at is not None

    safety.alarm_resolve(user=member, alarm_id=alarm.pk, note="已降温，外观正常")
    slot = safety.slot_unlock(user=member, slot_id=battery.slot_id)
    assert not slot.locked


@pytest.mark.django_db
def test_the_alarm_page_says_what_to_do_while_the_cabinet_keeps_reporting(client):
    cab = f.cabinet(full=6, charging=0)
    member = f.operator_user(cab.operator)
    battery, alarm = _overheated(cab)
    client.force_login(member)
    page = client.get(reverse("energy_console:alarms")).content.decode()
    assert "柜机仍在报告高温" in page and "送修" in page and "45 ℃" in page

    # The engineer did as told: the battery went to the depot for repair. The cabinet's
    # sensor still reports it, but nothing hot is inside any more: the alarm can be closed.
    custody.battery_move(battery=battery, to_place=Place.DEPOT,
                         to_status=BatteryStatus.MAINTENANCE, action="test.to_maintenance")
    safety.alarm_resolve(user=member, alarm_id=alarm.pk, note="电池已取出送修")
    alarm.refresh_from_db()
    assert alarm.state == "resolved"
    page = client.get(reverse("energy_console:alarms") + "?state=").content.decode()
    assert "柜机仍在报告高温" not in page
