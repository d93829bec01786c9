"""Voice pages: a worker writes from the phone; staff publish (with consent) or hide; the
published story appears on the community page; the API."""

from __future__ import annotations

import pytest

from nuanxin.voice import services
from nuanxin.voice.models import Story, StoryStatus
from tests.factories.people import StaffFactory, WorkerFactory, login
from tests.factories.places import CHOUCHENG, CHUITAI, YIJIASHAN

pytestmark = pytest.mark.django_db

TEXT = "我常跑夜班，党群服务中心门口那盏灯总亮着。"


@pytest.fixture
def rider():
    return WorkerFactory(display_name="李文琼", occupation="ride_hailing")


def test_worker_writes_from_the_phone(client, rider):
    client.force_login(rider)
    page = client.get("/voice/new/").content.decode()
    assert "义驾山社区" in page
    response = client.post("/voice/new/", {"kind": "story", "text": TEXT,
                                           "consent_publish": "on", "display_name": "李文琼"})
    assert response.status_code == 302 and response["Location"] == "/voice/"
    s = Story.objects.get()
    assert (s.consent_publish, s.show_name, s.display_name) == (True, False, "")
    assert TEXT in client.get("/voice/").content.decode()


def test_a_named_story_uses_the_profile_name_or_asks_for_one(client, rider):
    client.force_login(rider)
    response = client.post("/voice/new/", {"kind": "story", "text": TEXT,
                                           "consent_publish": "on", "show_name": "on"})
    assert response.status_code == 302
    assert Story.objects.get().display_name == "李文琼"
    client.force_login(WorkerFactory(display_name=""))
    response = client.post("/voice/new/", {"kind": "story", "text": TEXT, "show_name": "on"})
    assert response.status_code == 200 and "请填写希望显示的称呼" in response.content.decode()


def test_pages_need_a_worker(client):
    assert client.get("/voice/new/").status_code == 302
    login(client, StaffFactory())
    assert client.get("/voice/new/").status_code == 403


def test_worker_without_home_is_sent_to_choose_one(client):
    client.force_login(WorkerFactory(home_region_code=None))
    assert "去选择社区" in client.get("/voice/new/").content.decode()


def test_withdraw_from_the_phone(client, rider):
    s = services.story_create(author=rider, text=TEXT, consent_publish=True)
    client.force_login(rider)
    assert client.post(f"/voice/{s.pk}/withdraw/").status_code == 302
    assert Story.objects.get(pk=s.pk).status == StoryStatus.WITHDRAWN


def test_staff_publish_with_consent_and_it_reaches_the_community_page(client, rider):
    consented = services.story_create(author=rider, text=TEXT, consent_publish=True,
                                      show_name=True)
    private = services.story_create(author=rider, text="只想跟社区说：楼道灯坏了。")
    login(client, StaffFactory(region_code=YIJIASHAN))
    listing = client.get("/console/voice/").content.decode()
    assert TEXT in listing and "楼道灯坏了" in listing
    assert f"/console/voice/{private.pk}/publish/" not in listing  # no button without consent
    response = client.post(f"/console/voice/{private.pk}/publish/", follow=True)
    assert "作者没有同意公开" in response.content.decode()
    client.post(f"/console/voice/{consented.pk}/publish/")
    assert Story.objects.get(pk=consented.pk).status == StoryStatus.PUBLISHED
    client.logout()
    page = client.get(f"/communities/{YIJIASHAN}/").content.decode()
    assert TEXT in page and "网约车司机 李文琼" in page and "楼道灯坏了" not in page


@pytest.mark.parametrize(("role", "code", "status"), [
    ("community_staff", YIJIASHAN, 302),
    ("street_admin", CHOUCHENG, 302),
    ("community_staff", CHUITAI, 404),
    ("station_keeper", YIJIASHAN, 403),
])
def test_console_scope_grid(client, rider, role, code, status):
    s = services.story_create(author=rider, text=TEXT, consent_publish=True)
    login(client, StaffFactory(role=role, region_code=code))
    assert client.post(f"/console/voice/{s.pk}/publish/").status_code == status
    assert client.post(f"/console/voice/{s.pk}/hide/").status_code == status
    listing = client.get("/console/voice/?status=all")
    if status == 403:
        assert listing.status_code == 403
    else:
        assert (TEXT in listing.content.decode()) == (status == 302)


def test_api_create_and_list(client, rider):
    assert client.post("/api/v1/voice/stories", {"text": TEXT},
                       content_type="application/json").status_code == 401
    client.force_login(rider)
    response = client.post("/api/v1/voice/stories",
                           {"text": TEXT, "consent_publish": True, "show_name": True},
                           content_type="application/json")
    assert response.status_code == 201 and response.json()["status"] == "submitted"
    services.story_publish(actor=StaffFactory(), story_id=response.json()["id"])
    client.logout()
    body = client.get(f"/api/v1/voice/stories?region={YIJIASHAN[:9]}").json()
    assert body["count"] == 1
    story = body["results"][0]
    assert story["byline"] == "网约车司机 李文琼" and "author" not in story
    assert client.get(f"/api/v1/voice/stories?region={CHUITAI}").json()["count"] == 0


@pytest.mark.parametrize(("method", "url", "body", "code"), [
    ("post", "/api/v1/voice/stories", {"text": "短"}, "text_too_short"),
    ("post", "/api/v1/voice/stories", {"text": TEXT, "kind": "rant"}, "invalid_input"),
    ("post", "/api/v1/voice/stories", {"kind": "story"}, "invalid_input"),
    ("post", "/api/v1/voice/stories", {"text": TEXT, "show_name": "maybe"}, "invalid_input"),
    ("get", "/api/v1/voice/stories?region=abc", None, "invalid_input"),
    ("get", "/api/v1/voice/stories?region=999999", None, "invalid_region"),
    ("get", "/api/v1/voice/stories?page_size=0", None, "invalid_input"),
])
def test_api_bad_input(client, rider, method, url, body, code):
    client.force_login(rider)
    if method == "post":
        response = client.post(url, body, content_type="application/json")
    else:
        response = client.get(url)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
