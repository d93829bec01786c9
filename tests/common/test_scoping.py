"""common.scoping: visible_to / get_visible_or_404 on the models that opt in, and the one
console front door (staff gate with TOTP, roles, refusals as pages)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory

from nuanxin.accounts.decorators import SESSION_TOTP_OK
from nuanxin.alliance.models import Project, Resource
from nuanxin.alliance.services.projects import ProjectInput, project_allocate, project_create
from nuanxin.common.errors import NotFound
from nuanxin.common.scoping import access_of, console_view, covers, in_scope
from nuanxin.voice import services as voice_services
from nuanxin.voice.models import Story
from tests.alliance.helpers import resource
from tests.factories.people import (
    PartnerFactory,
    PartnerUserFactory,
    StaffFactory,
    SuperuserFactory,
    WorkerFactory,
)
from tests.factories.places import CHUITAI, OUHAI, YIJIASHAN, YIWU, ensure_units

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def units():
    ensure_units(YIJIASHAN, CHUITAI)


def _story(home):
    return voice_services.story_create(author=WorkerFactory(home_region_code=home),
                                       text="谢谢社区的热水和充电。")


def test_staff_see_their_region_superusers_everything_others_nothing():
    here, there = _story(YIJIASHAN), _story(CHUITAI)
    assert set(Story.objects.visible_to(StaffFactory(region_code=YIJIASHAN))) == {here}
    ouhai_admin = StaffFactory(role="district_admin", region_code=OUHAI)
    assert set(Story.objects.visible_to(ouhai_admin)) == {there}
    assert set(Story.objects.visible_to(SuperuserFactory())) == {here, there}
    for nobody in (WorkerFactory(), AnonymousUser(), None):
        assert not Story.objects.visible_to(nobody).exists()


def test_a_row_out_of_scope_is_not_found_with_the_models_own_code():
    there = _story(CHUITAI)
    with pytest.raises(NotFound) as missing:
        Story.objects.get_visible_or_404(StaffFactory(region_code=YIJIASHAN), pk=there.pk)
    assert (missing.value.code, missing.value.status) == ("story_not_found", 404)
    assert Story.objects.get_visible_or_404(SuperuserFactory(), pk=there.pk) == there


def test_a_partner_sees_its_own_rows_through_its_path():
    tower, other = PartnerFactory(name="铁塔"), PartnerFactory(name="别家")
    secretary = StaffFactory(region_code=YIJIASHAN)
    cabinets = resource(tower, capacity=10)
    resource(other)
    project = project_create(actor=secretary, data=ProjectInput(title="换电柜进社区"))
    project_allocate(actor=secretary, project_id=project.pk, resource_id=cabinets.pk, quantity=2)
    member = PartnerUserFactory(partner=tower)
    assert access_of(member).partner_id == tower.pk
    assert list(Resource.objects.visible_to(member)) == [cabinets]
    assert list(Project.objects.visible_to(member)) == [project]
    assert not Project.objects.visible_to(PartnerUserFactory(partner=other)).exists()


def test_overlapping_regions_show_an_offer_of_the_whole_city_to_a_community():
    city_wide = resource(PartnerFactory(), region_code=YIWU)
    community = StaffFactory(region_code=YIJIASHAN)
    assert city_wide in Resource.objects.visible_to(community)
    assert not Project.objects.visible_to(community).exists()  # inside-only models stay so


def test_covers_and_in_scope():
    assert covers(YIWU, YIJIASHAN) and covers("", CHUITAI)
    assert not covers(YIWU, CHUITAI) and not covers(None, YIWU)
    assert not covers(YIWU, None)
    assert in_scope(StaffFactory(region_code=YIJIASHAN), YIJIASHAN)
    assert not in_scope(WorkerFactory(), YIJIASHAN)


# --- the console's front door ------------------------------------------------------------

@console_view(roles={"community_staff"}, denied="只给社区工作人员")
def _page(request):
    if request.GET.get("missing"):
        raise NotFound("thing_not_found", "找不到这个东西。")
    return HttpResponse("ok")


def _get(user, *, totp_done=False, **params):
    request = RequestFactory().get("/console/x/", params)
    request.user = user
    request.session = {SESSION_TOTP_OK: True} if totp_done else {}
    return _page(request)


def test_the_console_lets_in_only_the_roles_it_names():
    assert _get(StaffFactory(region_code=YIJIASHAN)).content == b"ok"
    refused = _get(StaffFactory(role="station_keeper", region_code=YIJIASHAN))
    assert refused.status_code == 403 and "只给社区工作人员" in refused.content.decode()


def test_the_console_sends_strangers_to_log_in_and_admins_to_totp_first():
    for stranger in (AnonymousUser(), WorkerFactory()):
        response = _get(stranger)
        assert response.status_code == 302 and "login" in response["Location"]
    admin = SuperuserFactory()
    pending = _get(admin)
    assert pending.status_code == 302 and "totp" in pending["Location"]
    assert _get(admin, totp_done=True).content == b"ok"  # superusers pass every role list


def test_the_console_turns_not_found_into_a_page():
    response = _get(StaffFactory(region_code=YIJIASHAN), missing="1")
    assert response.status_code == 404 and "找不到这个东西。" in response.content.decode()

