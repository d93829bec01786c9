"""Who sees which cabinet in the energy console: an operator's members see their operator's
cabinets, station staff those at stations in their region (administrators every cabinet in
their region), workers and other partners no console. Outside scope is 404, never 403."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from nuanxin.accounts.models import PartnerKind, StaffRole
from nuanxin.energy.models import Alarm, AlarmState, Slot
from nuanxin.energy.selectors import console as selectors
from nuanxin.energy.services import safety
from tests.factories import energy as f
from tests.factories.people import (
    PartnerFactory,
    PartnerUserFactory,
    StaffFactory,
    SuperuserFactory,
    WorkerFactory,
    login,
)
from tests.factories.places import CHUITAI, YIJIASHAN, YIWU, StationFactory

pytestmark = pytest.mark.django_db

# label → the cabinets that person sees
PEOPLE = {
    "member@A": {"A-义驾山", "A-吹台无阵地"},
    "member@B": {"B-义驾山"},
    "community_staff@义驾山": {"A-义驾山", "B-义驾山"},
    "community_staff@吹台": set(),
    "district_admin@义乌": {"A-义驾山", "B-义驾山"},
    "superuser": {"A-义驾山", "A-吹台无阵地", "B-义驾山"},
}
CABINETS = ["A-义驾山", "A-吹台无阵地", "B-义驾山"]


@pytest.fixture
def world():
    op_a, op_b = f.operator(), f.operator()
    station = StationFactory(region_code=YIJIASHAN)
    cabinets = {
        "A-义驾山": f.cabinet(op=op_a, station=station, full=3, charging=1),
        # Standing in Wenzhou, not at any station: only its operator (and superusers).
        "A-吹台无阵地": f.cabinet(op=op_a, region_code=CHUITAI, full=3, charging=1),
        "B-义驾山": f.cabinet(op=op_b, station=station, full=3, charging=1),
    }
    people = {
        "member@A": f.operator_user(op_a),
        "member@B": f.operator_user(op_b),
        "community_staff@义驾山": StaffFactory(region_code=YIJIASHAN),
        "community_staff@吹台": StaffFactory(region_code=CHUITAI),
        "district_admin@义乌": StaffFactory(role=StaffRole.DISTRICT_ADMIN, region_code=YIWU),
        "superuser": SuperuserFactory(),
    }
    alarms = {name: safety.alarm_raise(cabinet=cab, kind="door_jam", at=timezone.now(), slot=1)
              for name, cab in cabinets.items()}
    return {"cabinets": cabinets, "people": people, "alarms": alarms}


@pytest.mark.parametrize("person", sorted(PEOPLE))
def test_the_overview_lists_exactly_the_cabinets_in_scope(client, world, person):
    client = login(client, world["people"][person])
    page = client.get(reverse("energy_console:overview")).content.decode()
    shown = {name for name, cab in world["cabinets"].items() if cab.serial in page}
    assert shown == PEOPLE[person]
    assert {c.pk for c in selectors.cabinets_visible_to(world["people"][person])} == {
        world["cabinets"][name].pk for name in PEOPLE[person]}


@pytest.mark.parametrize("person", sorted(PEOPLE))
@pytest.mark.parametrize("target", CABINETS)
def test_cabinet_pages_and_actions_are_404_outside_scope(client, world, person, target):
    client = login(client, world["people"][person])
    cab = world["cabinets"][target]
    slot = Slot.objects.get(cabinet=cab, number=1)
    alarm = world["alarms"][target]
    inside = target in PEOPLE[person]
    ok_get, ok_post = (200, 302) if inside else (404, 404)
    assert client.get(reverse("energy_console:cabinet", args=[cab.pk])).status_code == ok_get
    assert client.get(reverse("energy_console:cabinet_qr_png",
                              args=[cab.pk])).status_code == ok_get
    assert client.get(reverse("energy_console:alarms")
                      + f"?cabinet={cab.pk}").status_code == ok_get
    assert client.post(reverse("energy_console:alarm_acknowledge",
                               args=[alarm.pk])).status_code == ok_post
    assert client.post(reverse("energy_console:slot_unlock",
                               args=[cab.pk, slot.pk])).status_code == ok_post
    assert client.post(reverse("energy_console:cabinet_unlock",
                               args=[cab.pk])).status_code == ok_post
    alarm.refresh_from_db()
    assert (alarm.state == AlarmState.ACKNOWLEDGED) == inside
    assert (alarm.acknowledged_by_id == world["people"][person].pk) == inside


@pytest.mark.parametrize("person", sorted(PEOPLE))
def test_alarm_and_work_order_lists_are_scoped(client, world, person):
    client = login(client, world["people"][person])
    page = client.get(reverse("energy_console:alarms")).content.decode()
    shown = {name for name, alarm in world["alarms"].items()
             if f'data-alarm="{alarm.pk}"' in page}
    assert shown == PEOPLE[person]


def test_a_worker_gets_no_console(client, world):
    worker = WorkerFactory()
    client.force_login(worker)
    for name in ("overview", "alarms", "work_orders", "swaps", "health", "coverage"):
        response = client.get(reverse(f"energy_console:{name}"))
        assert response.status_code == 403
    alarm = world["alarms"]["A-义驾山"]
    assert client.post(reverse("energy_console:alarm_acknowledge",
                               args=[alarm.pk])).status_code == 403
    assert Alarm.objects.get(pk=alarm.pk).state == AlarmState.OPEN


def test_a_partner_that_runs_no_cabinets_gets_no_console(client, world):
    user = PartnerUserFactory(partner=PartnerFactory(name="某修车铺", kind=PartnerKind.MERCHANT,
                                                     region_code=YIJIASHAN))
    client.force_login(user)
    assert client.get(reverse("energy_console:overview")).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    response = client.get(reverse("energy_console:overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("energy_console:login"))
    chooser = client.get(response["Location"])
    assert chooser.status_code == 200
    assert reverse("accounts:staff_login") in chooser.content.decode()


def test_an_administrator_without_the_second_factor_is_asked_for_it(client, world):
    admin = StaffFactory(role=StaffRole.DISTRICT_ADMIN, region_code=YIWU)
    client.force_login(admin)
    response = client.get(reverse("energy_console:overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:staff_totp"))
