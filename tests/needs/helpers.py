"""People and shortcuts for the needs tests."""

from __future__ import annotations

import itertools

from django.contrib.auth.models import AnonymousUser

from nuanxin.accounts.models import User, UserKind
from nuanxin.needs import services
from nuanxin.needs.models import Need
from tests.accounts.factories import WorkerFactory
from tests.needs.factories import CHUITAI, YIJIASHAN
from tests.stations.factories import StaffFactory, console_client

_seq = itertools.count(1)


def staff(role: str = "community_staff", region_code: str = YIJIASHAN) -> User:
    return StaffFactory(role=role, region_code=region_code)


def superuser() -> User:
    return User.objects.create_superuser(username=f"root{next(_seq)}",
                                         password="a-long-test-password")


def worker(home: str | None = YIJIASHAN) -> User:
    return WorkerFactory(home_region_code=home)


def partner() -> User:
    return User.objects.create_user(username=f"partner{next(_seq)}", password="p-long-password",
                                    kind=UserKind.PARTNER)


def raise_need(by: User, *, title: str = "小区门口没有充电桩", category: str = "charging",
               region_code: str = YIJIASHAN, **extra) -> Need:
    return services.need_raise(actor=by, data=services.NeedInput(
        title=title, category=category, source=extra.pop("source", "online"),
        region_code=region_code, **extra))


def login(client, user):
    if isinstance(user, AnonymousUser):
        return client
    if user.kind == UserKind.WORKER:
        client.force_login(user)
        return client
    return console_client(client, user)


__all__ = ["CHUITAI", "YIJIASHAN", "login", "partner", "raise_need", "staff", "superuser",
           "worker"]
