"""紧急优先, the staff list's default order: what someone must act on comes first."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories.needs import NeedFactory
from tests.factories.people import StaffFactory, login
from tests.factories.places import CHOUCHENG

pytestmark = pytest.mark.django_db


@pytest.fixture
def needs():
    now = timezone.now()
    late = now - timedelta(days=90)
    return [
        NeedFactory(title="已解决但很急", status="resolved", urgency=3, created_at=now),
        NeedFactory(title="被驳回的急事", status="declined", urgency=3, created_at=now),
        NeedFactory(title="刚提交的一般需求", urgency=1, created_at=now),
        NeedFactory(title="刚提交的急事", urgency=3, created_at=now - timedelta(hours=1)),
        NeedFactory(title="逾期的一般需求", status="accepted", urgency=1, created_at=late),
    ]


def test_the_console_list_puts_overdue_first_and_closed_last(client, needs):
    login(client, StaffFactory(role="street_admin", region_code=CHOUCHENG))
    page = client.get("/console/needs/").content.decode()
    order = sorted((page.index(n.title), n.title) for n in needs)
    titles = [title for _at, title in order]
    assert titles[:3] == ["逾期的一般需求", "刚提交的急事", "刚提交的一般需求"]
    assert set(titles[3:]) == {"已解决但很急", "被驳回的急事"}


def test_the_api_uses_the_same_order(client, needs):
    login(client, StaffFactory(role="street_admin", region_code=CHOUCHENG))
    body = client.get("/api/v1/needs").json()
    titles = [row["title"] for row in body["results"]]
    assert titles[:3] == ["逾期的一般需求", "刚提交的急事", "刚提交的一般需求"]
    assert set(titles[3:]) == {"已解决但很急", "被驳回的急事"}
