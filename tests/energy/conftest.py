"""Shared fixtures of the energy tests: a real ingester and virtual cabinets on the real broker.

    @pytest.mark.django_db(transaction=True)
    def test_swap(mqtt_ingester, virtual_cabinet):
        cab = virtual_cabinet(full=6, charging=2)   # a DB cabinet + its live twin
        ...                                        # start a swap through the services
        slot = cab.wait_door_open(timeout=10)
        cab.insert_battery(slot, rider_battery.serial)
        mqtt_ingester.wait_idle(5)                 # everything received so far is applied

Both talk to settings.MQTT_URL (the real Mosquitto of this machine in tests). Serials come
from tests/factories/energy.py and carry the run's RUN_TAG, so parallel runs never hear each
other's cabinets.
"""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def mqtt_ingester(transactional_db, regions, settings):
    """A.k.a. `nuanxin energy ingest`, in-process: `energy.ingest.Ingester` running in a
    background thread for the duration of the test, with a unique client id and its own
    shared-subscription group (so it never steals messages from another run's ingester).

    Needs a transactional database (`@pytest.mark.django_db(transaction=True)`), because the
    ingester's thread must see the rows the test writes, and vice versa. Use
    `mqtt_ingester.wait_idle(timeout)` before asserting on what the cabinet reported.
    Stopped (and its connection closed) after the test.
    """
    from nuanxin.energy.ingest import Ingester

    tag = uuid.uuid4().hex[:10]
    ingester = Ingester(client_id=f"test-ingest-{tag}", group=f"test-{tag}")
    ingester.start()
    try:
        yield ingester
    finally:
        ingester.stop()


@pytest.fixture
def virtual_cabinet(settings):
    """Factory: `virtual_cabinet(cabinet=None, *, faults=None, speed=1.0, start=True,
    heartbeat_s=30, credentials=False, **cabinet_kwargs) -> VirtualCabinet`.

    Without `cabinet`, builds one in the database with `factories.cabinet(**cabinet_kwargs)`
    (12 slots, 6 full, 2 charging by default); then a `simulator.VirtualCabinet` mirroring its
    slots and batteries, connected to settings.MQTT_URL and started (boot + slot snapshots
    sent) unless `start=False`. The database row is on `.cabinet`. `faults` is a
    `simulator.Faults`; `credentials=True` logs in with the cabinet's own broker password.
    Every cabinet made is stopped after the test.
    """
    from nuanxin.energy.models import Cabinet
    from nuanxin.energy.simulate import simulation_from_database
    from tests.factories import energy as factories

    made = []

    def make(cabinet=None, *, faults=None, speed: float = 1.0, start: bool = True,
             heartbeat_s: float = 30.0, credentials: bool = False, **cabinet_kwargs):
        row = cabinet if cabinet is not None else factories.cabinet(**cabinet_kwargs)
        simulation = simulation_from_database(
            Cabinet.objects.filter(pk=row.pk), mqtt_url=settings.MQTT_URL, faults=faults,
            speed=speed, heartbeat_s=heartbeat_s, credentials=credentials)
        virtual = simulation.cabinets[0]
        virtual.cabinet = row
        made.append(virtual)
        if start:
            virtual.start()
        return virtual

    yield make
    for virtual in made:
        virtual.stop()


@pytest.fixture(autouse=True)
def _default_language():
    """A page requested in English leaves English active in the test's thread (Django's
    LocaleMiddleware does not switch back): later tests must start from the default."""
    from django.conf import settings
    from django.utils import translation

    yield
    translation.activate(settings.LANGUAGE_CODE)
