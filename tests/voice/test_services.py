"""Workers' voice: writing, the consent rules of publishing, every allowed and refused
transition, and withdrawal."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from nuanxin.accounts.models import Notification
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.voice import services
from nuanxin.voice.models import Story, StoryEvent, StoryStatus
from nuanxin.voice.selectors import byline, public_story, stories_published
from tests.factories.people import StaffFactory, SuperuserFactory, WorkerFactory
from tests.factories.places import CHOUCHENG, CHUITAI, YIJIASHAN

pytestmark = pytest.mark.django_db

TEXT = "以前总觉得这个城市是别人的，现在知道党群服务中心的门是开着的。"


@pytest.fixture
def rider():
    return WorkerFactory(display_name="李华贤")


@pytest.fixture
def secretary():
    return StaffFactory(region_code=YIJIASHAN)


def story(author, **kwargs) -> Story:
    return services.story_create(author=author, text=kwargs.pop("text", TEXT), **kwargs)


def test_a_story_goes_to_the_workers_community(rider):
    made = story(rider, consent_publish=True, show_name=True)
    assert (made.region_id, made.status, made.display_name, made.occupation) == (
        YIJIASHAN, StoryStatus.SUBMITTED, "李华贤", "food_delivery")
    assert StoryEvent.objects.filter(story=made, action="voice.story.created").exists()


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"text": "太好"}, "text_too_short"),
    ({"text": "字" * 1001}, "text_too_long"),
    ({"kind": "complaint"}, "invalid_kind"),
    ({"show_name": True, "display_name": "名" * 41}, "name_too_long"),
])
def test_input_is_checked(rider, kwargs, code):
    with pytest.raises(ServiceError) as exc:
        story(rider, **kwargs)
    assert exc.value.code == code


def test_to_be_named_a_worker_needs_a_name():
    nameless = WorkerFactory(display_name="")
    with pytest.raises(ServiceError) as exc:
        story(nameless, show_name=True)
    assert exc.value.code == "name_required"
    assert story(nameless, show_name=True, display_name="小李").display_name == "小李"


def test_a_worker_without_a_home_community_is_asked_to_choose_one():
    with pytest.raises(ServiceError) as exc:
        story(WorkerFactory(home_region_code=None))
    assert exc.value.code == "home_region_required"


def test_only_workers_write(secretary):
    with pytest.raises(PermissionDenied):
        story(secretary)


def test_publishing_needs_the_authors_consent(rider, secretary):
    private = story(rider, consent_publish=False)
    with pytest.raises(ServiceError) as exc:
        services.story_publish(actor=secretary, story_id=private.pk)
    assert (exc.value.code, exc.value.status) == ("no_consent", 409)
    assert Story.objects.get(pk=private.pk).status == StoryStatus.SUBMITTED
    assert not stories_published(YIJIASHAN).exists()


def test_the_database_refuses_a_published_story_without_consent(rider):
    private = story(rider, consent_publish=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        Story.objects.filter(pk=private.pk).update(status=StoryStatus.PUBLISHED)


def test_published_named_or_anonymous_as_the_author_chose(rider, secretary,
                                                          django_capture_on_commit_callbacks):
    named = story(rider, consent_publish=True, show_name=True)
    anonymous = story(rider, consent_publish=True, show_name=False)
    with django_capture_on_commit_callbacks(execute=True):
        for s in (named, anonymous):
            services.story_publish(actor=secretary, story_id=s.pk)
    named.refresh_from_db()
    anonymous.refresh_from_db()
    assert byline(named) == "外卖骑手 李华贤"
    assert byline(anonymous) == "一位外卖骑手"
    assert "李华贤" not in str(public_story(anonymous))
    assert Notification.objects.filter(user=rider, link="/voice/").count() == 2


ACTIONS = {
    "publish": lambda s, staff_user, author: services.story_publish(actor=staff_user,
                                                                    story_id=s.pk),
    "hide": lambda s, staff_user, author: services.story_hide(actor=staff_user, story_id=s.pk),
    "withdraw": lambda s, staff_user, author: services.story_withdraw(author=author,
                                                                      story_id=s.pk),
}
ALLOWED = {
    ("submitted", "publish"): "published", ("hidden", "publish"): "published",
    ("submitted", "hide"): "hidden", ("published", "hide"): "hidden",
    ("submitted", "withdraw"): "withdrawn", ("published", "withdraw"): "withdrawn",
    ("hidden", "withdraw"): "withdrawn",
}


def story_in(status, author, reviewer) -> Story:
    s = story(author, consent_publish=True)
    if status == "published":
        services.story_publish(actor=reviewer, story_id=s.pk)
    elif status == "hidden":
        services.story_hide(actor=reviewer, story_id=s.pk)
    elif status == "withdrawn":
        services.story_withdraw(author=author, story_id=s.pk)
    s.refresh_from_db()
    assert s.status == status
    return s


@pytest.mark.parametrize("status", ["submitted", "published", "hidden", "withdrawn"])
@pytest.mark.parametrize("action", list(ACTIONS))
def test_transition_table(rider, secretary, status, action):
    s = story_in(status, rider, secretary)
    expected = ALLOWED.get((status, action))
    if expected is None:
        with pytest.raises(ServiceError) as exc:
            ACTIONS[action](s, secretary, rider)
        assert exc.value.code in ("invalid_transition", "no_consent")
        s.refresh_from_db()
        assert s.status == status
    else:
        ACTIONS[action](s, secretary, rider)
        s.refresh_from_db()
        assert s.status == expected
        assert StoryEvent.objects.filter(story=s, from_state=status,
                                         to_state=expected).exists()


def test_withdrawing_takes_back_consent_for_good(rider, secretary):
    s = story_in("published", rider, secretary)
    services.story_withdraw(author=rider, story_id=s.pk)
    s.refresh_from_db()
    assert (s.status, s.consent_publish) == (StoryStatus.WITHDRAWN, False)
    assert not stories_published(YIJIASHAN).exists()


def test_only_the_author_withdraws(rider):
    s = story(rider)
    with pytest.raises(NotFound):
        services.story_withdraw(author=WorkerFactory(), story_id=s.pk)


@pytest.mark.parametrize(("role", "code", "error"), [
    ("community_staff", CHUITAI, NotFound),
    ("station_keeper", YIJIASHAN, PermissionDenied),
])
def test_reviewers_act_in_their_own_region_only(rider, role, code, error):
    s = story(rider, consent_publish=True)
    with pytest.raises(error):
        services.story_publish(actor=StaffFactory(role=role, region_code=code), story_id=s.pk)


def test_superusers_and_admins_above_review(rider):
    s = story(rider, consent_publish=True)
    services.story_publish(actor=StaffFactory(role="street_admin", region_code=CHOUCHENG),
                           story_id=s.pk)
    services.story_hide(actor=SuperuserFactory(), story_id=s.pk)


def test_stories_are_in_the_workers_data_export(rider):
    from nuanxin.accounts.personal_data import personal_data_export

    story(rider, consent_publish=True)
    export = personal_data_export(rider)
    assert export["stories"][0]["text"] == TEXT
