import pytest

from nuanxin.accounts.models import Notification
from nuanxin.accounts.services import notify, notify_many
from tests.factories.people import WorkerFactory

pytestmark = pytest.mark.django_db


def test_inbox_shows_my_messages_and_marks_them_read(client):
    me, other = WorkerFactory(home_region_code=None), WorkerFactory(home_region_code=None)
    notify(user=me, title="您反映的充电难题已受理", link="/needs/1/")
    notify(user=other, title="别人的消息")
    client.force_login(me)
    home = client.get("/").content.decode()
    assert 'id="inbox-link">消息 <span class="badge">1</span>' in home
    page = client.get("/accounts/inbox/").content.decode()
    assert "您反映的充电难题已受理" in page
    assert "别人的消息" not in page
    assert Notification.objects.get(user=me).read_at is not None
    assert 'class="badge"' not in client.get("/").content.decode()


def test_a_retried_sender_does_not_notify_twice():
    me = WorkerFactory(home_region_code=None)
    assert notify(user=me, title="已解决", dedupe_key="need-1-resolved") is not None
    assert notify(user=me, title="已解决", dedupe_key="need-1-resolved") is None
    notify_many(user_ids=[me.pk, me.pk], title="进展", dedupe_key="need-1-progress")
    notify_many(user_ids=[me.pk], title="进展", dedupe_key="need-1-progress")
    assert Notification.objects.filter(user=me).count() == 2


def test_inbox_needs_login(client):
    response = client.get("/accounts/inbox/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
