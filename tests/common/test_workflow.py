"""common.workflow: the engine, and every registered workflow's full state x action grid."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import models
from django.forms.models import model_to_dict
from django.utils import translation

from nuanxin.common.errors import ServiceError
from nuanxin.common.workflow import NEW, Workflow, move, registered
from tests.factories.needs import raise_need
from tests.factories.people import PartnerFactory, StaffFactory, WorkerFactory
from tests.factories.places import YIJIASHAN, ensure_units


class Light(models.TextChoices):
    RED = "red", "红灯"
    GREEN = "green", "绿灯"
    OFF = "off", "关闭"


def _lamp(state="red"):
    saved = []
    return SimpleNamespace(pk=1, status=state, saved=saved, save=lambda: saved.append(True))


def _need_green_light(lamp, change):
    if getattr(lamp, "broken", False):
        raise ServiceError("broken", "坏了")


LAMP = Workflow(
    "tests.lamp", states=Light, history=None, refusal="灯现在是“%(state)s”，不能这样操作。",
    transitions={
        "go": move({Light.RED}, Light.GREEN, "tests.lamp.went", guard=_need_green_light),
        "stop": move({Light.GREEN}, Light.RED, "tests.lamp.stopped"),
        "switch_off": move({Light.RED, Light.GREEN}, Light.OFF, "tests.lamp.off"),
        "install": move({NEW}, Light.RED, "tests.lamp.installed"),
    },
)


def test_an_allowed_move_changes_the_state_and_saves():
    lamp = _lamp()
    LAMP.apply(lamp, "go")
    assert lamp.status == "green" and lamp.saved == [True]


def test_the_refusal_is_the_same_everywhere_and_english_too():
    lamp = _lamp("off")
    with pytest.raises(ServiceError) as refused:
        LAMP.apply(lamp, "go")
    body = refused.value.as_dict()
    assert refused.value.status == 409
    assert (body["code"], body["state"], body["action"], body["allowed"]) == (
        "invalid_transition", "off", "go", [])
    assert body["message"] == "灯现在是“关闭”，不能这样操作。"
    assert lamp.saved == []
    red = LAMP.refuse(_lamp("red"), "stop").as_dict()
    assert red["allowed"] == ["go", "switch_off"]


def test_a_move_from_new_creates_the_row_and_only_a_new_row():
    lamp = _lamp(NEW)
    LAMP.apply(lamp, "install")
    assert lamp.status == "red" and lamp.saved == [True]
    with pytest.raises(ServiceError) as refused:
        LAMP.apply(_lamp("red"), "install")
    assert refused.value.details == {"state": "red", "action": "install",
                                     "allowed": ["go", "switch_off"]}


def test_a_computed_target_with_nowhere_to_go_is_a_programming_error():
    flow = Workflow("tests.pause", states=Light, history=None, refusal="x", transitions={
        "resume": move({Light.OFF}, lambda lamp: lamp.was, "tests.pause.resumed")})
    lamp = _lamp("off")
    lamp.was = ""
    with pytest.raises(ValueError, match="no state to move to"):
        flow.apply(lamp, "resume")
    assert lamp.status == "off" and lamp.saved == []


def test_an_unknown_action_is_refused_like_a_wrong_one():
    with pytest.raises(ServiceError) as refused:
        LAMP.apply(_lamp(), "explode")
    assert refused.value.code == "invalid_transition"


def test_a_guard_refuses_before_anything_changes():
    lamp = _lamp()
    lamp.broken = True
    with pytest.raises(ServiceError) as refused:
        LAMP.apply(lamp, "go")
    assert refused.value.code == "broken" and lamp.status == "red" and lamp.saved == []


def test_a_table_naming_an_unknown_state_is_refused_at_import():
    with pytest.raises(ValueError, match="unknown states"):
        Workflow("tests.bad", states=Light, history=None, refusal="x",
                 transitions={"go": move({"blue"}, Light.GREEN, "tests.bad.go")})
    with pytest.raises(ValueError, match="twice"):
        Workflow("tests.lamp", states=Light, history=None, refusal="x", transitions={})


def test_the_refusal_message_is_english_in_message_en():
    from nuanxin.needs.services import NEED_WORKFLOW

    with translation.override("zh-hans"):
        body = NEED_WORKFLOW.refuse(SimpleNamespace(status="merged"), "accept").as_dict()
    assert body["message"] == "这条需求现在是“已合并”，不能这样操作。"
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in body["message_en"]), body["message_en"]


# --- every registered workflow -----------------------------------------------------------
# One example row per workflow, in any state. A new workflow must add its example here: the
# test below fails until it does. Rows are made through the services, then put in the wanted
# state directly (the test is about the table, not about how a row got there), with the
# fields each state's database constraints ask for already filled in.

def _need(state):
    from django.utils import timezone

    from nuanxin.needs.models import Need

    need = raise_need(by=WorkerFactory())
    target = raise_need(by=WorkerFactory()) if state == "merged" else None
    Need.objects.filter(pk=need.pk).update(
        status=state, merged_into=target,
        resolved_at=timezone.now() if state == "resolved" else None)
    return Need.objects.get(pk=need.pk)


def _need_before(need, action):
    """What need_merge sets before the move (the database holds merged iff a target)."""
    if action == "merge":
        need.merged_into = raise_need(by=WorkerFactory())


def _story(state):
    from django.utils import timezone

    from nuanxin.voice import services
    from nuanxin.voice.models import Story

    story = services.story_create(author=WorkerFactory(), text="社区的门一直开着，谢谢。",
                                  consent_publish=True)
    Story.objects.filter(pk=story.pk).update(status=state, published_at=timezone.now())
    return Story.objects.get(pk=story.pk)


def _project(state):
    from django.utils import timezone

    from nuanxin.alliance.models import Project
    from nuanxin.alliance.services.projects import ProjectInput, project_create

    project = project_create(actor=StaffFactory(), data=ProjectInput(title="充电桩进社区"))
    Project.objects.filter(pk=project.pk).update(
        status=state, results="两台换电柜投用",
        closed_at=timezone.now() if state in ("closed", "cancelled") else None)
    return Project.objects.get(pk=project.pk)



def _routing(state):
    from nuanxin.alliance.models import NeedRouting
    from nuanxin.alliance.services.routings import routing_create

    secretary = StaffFactory()
    need = raise_need(by=WorkerFactory(), accept=True)
    routing = routing_create(actor=secretary, need_id=need.pk, partner_id=PartnerFactory().pk)
    NeedRouting.objects.filter(pk=routing.pk).update(status=state, proposal="方案",
                                                     decline_reason="原因")
    return NeedRouting.objects.get(pk=routing.pk)


def _survey(state):
    from django.utils import timezone

    from nuanxin.surveys.models import Survey
    from tests.surveys.helpers import simple_survey

    survey, _question = simple_survey(StaffFactory(), publish=False)
    if state != "draft":
        Survey.objects.filter(pk=survey.pk).update(status=state, published_at=timezone.now())
    return Survey.objects.get(pk=survey.pk)


def _cabinet():
    from tests.factories import energy as f

    return f.cabinet(full=1, charging=0)


def _swap(state):
    from nuanxin.energy.models import Subscription, Swap, SwapState
    from tests.factories import energy as f

    cab = _cabinet()
    rider = f.subscribed_rider(op=cab.operator)
    # A suspended swap remembers the step it was in (resume goes back there).
    return Swap.objects.create(
        rider=rider, cabinet=cab, subscription=Subscription.objects.get(rider=rider),
        state=state, suspended_from=SwapState.TAKING if state == SwapState.SUSPENDED else "")


def _alarm(state):
    from django.utils import timezone

    from nuanxin.energy.models import Alarm, AlarmKind

    return Alarm.objects.create(cabinet=_cabinet(), kind=AlarmKind.DOOR_JAM, state=state,
                                started_at=timezone.now())


def _work_order(state):
    from nuanxin.energy.models import WorkOrder, WorkOrderKind

    cab = _cabinet()
    return WorkOrder.objects.create(kind=WorkOrderKind.INSPECT_SLOT, state=state,
                                    operator=cab.operator, cabinet=cab, slot=cab.slots.first())


def _subscription(state):
    from django.utils import timezone

    from nuanxin.energy.models import Subscription
    from tests.factories import energy as f

    return Subscription.objects.create(rider=WorkerFactory(), plan=f.plan(op=f.operator()),
                                       status=state, starts_at=timezone.now())


# name: (a row in a given state, what the service sets on the row just before a move)
EXAMPLES = {
    "energy.swap": (_swap, None),
    "energy.alarm": (_alarm, None),
    "energy.work_order": (_work_order, None),
    "energy.subscription": (_subscription, None),
    "needs.need": (_need, _need_before),
    "voice.story": (_story, None),
    "alliance.project": (_project, None),
    "alliance.routing": (_routing, None),
    "surveys.survey": (_survey, None),
}


def _project_workflows():
    return {name: wf for name, wf in registered().items() if not name.startswith("tests.")}


def test_every_registered_workflow_has_an_example():
    assert set(_project_workflows()) == set(EXAMPLES)


GRID = [(name, state, action) for name, wf in sorted(_project_workflows().items())
        for state in wf.states.values for action in wf.transitions]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "state", "action"), GRID)
def test_workflow_grid(name, state, action):
    """Allowed moves go through with one history row; all others are refused with the one
    standard refusal and change neither the row nor its history."""
    ensure_units(YIJIASHAN)
    wf = _project_workflows()[name]
    make, before_move = EXAMPLES[name]
    obj = make(state)
    actor = StaffFactory()
    history = wf.history.objects.filter(**{wf.history.subject_field: obj})
    before_rows, before = history.count(), model_to_dict(obj)
    t = wf.transitions[action]
    if state in t.sources:
        if before_move is not None:
            before_move(obj, action)
        # Before the move: a target computed from the row (resume) reads what the move clears.
        target = t.target(obj) if callable(t.target) else t.target
        entry = wf.apply(obj, action, actor=actor, reason="grid")
        obj.refresh_from_db()
        assert wf.state_of(obj) == target
        assert history.count() == before_rows + 1
        assert (entry.action, entry.from_state, entry.to_state, entry.actor, entry.reason) == (
            t.code, state, target, actor, "grid")
    else:
        with pytest.raises(ServiceError) as refused:
            wf.apply(obj, action, actor=actor)
        assert (refused.value.code, refused.value.status) == ("invalid_transition", 409)
        assert refused.value.details == {"state": state, "action": action,
                                         "allowed": wf.allowed(state)}
        obj.refresh_from_db()
        assert model_to_dict(obj) == before
        assert history.count() == before_rows


@pytest.mark.django_db
def test_history_entries_are_never_changed():
    ensure_units(YIJIASHAN)
    need = _need("submitted")
    entry = need.events.first()
    entry.reason = "改写历史"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    entry.refresh_from_db()
    assert entry.reason == ""
