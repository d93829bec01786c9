"""Builders only the alliance's tests (and the pages that show its rows) need: partners'
resources, made through the alliance's services. People, places and needs come from
tests.factories."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from nuanxin.accounts.models import Partner, User
from nuanxin.alliance.services import resources as resource_services
from nuanxin.alliance.services.resources import ResourceInput
from tests.factories.people import SuperuserFactory
from tests.factories.places import YIJIASHAN


def resource_input(**overrides) -> ResourceInput:
    values = {
        "title": "换电柜电池槽", "category": "charging", "region_code": YIJIASHAN,
        "capacity": 12, "capacity_unit": "个电池槽",
        "available_from": timezone.localdate() - timedelta(days=30),
    }
    values.update(overrides)
    return ResourceInput(**values)


def resource(of: Partner, *, actor: User | None = None, **overrides):
    return resource_services.resource_create(actor=actor or SuperuserFactory(),
                                             partner_id=of.pk, data=resource_input(**overrides))


def today() -> date:
    return timezone.localdate()
