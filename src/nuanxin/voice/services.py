"""Write use cases of workers' voice: write, publish, hide, withdraw.

STORY_WORKFLOW is the state machine (common.workflow); each move writes a StoryEvent.
Publishing needs the author's consent — the service refuses without it, and so does the database.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import User, UserKind
from nuanxin.accounts.selectors import worker_profile_of
from nuanxin.accounts.services import notify
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.common.workflow import Change, Workflow, move
from nuanxin.voice.models import Story, StoryEvent, StoryKind, StoryStatus
from nuanxin.voice.selectors import is_reviewer, stories_visible_to

S = StoryStatus
MAX_TEXT = 1000
MIN_TEXT = 5

TRANSITIONS = {
    "publish": move({S.SUBMITTED, S.HIDDEN}, S.PUBLISHED, "voice.story.published"),
    "hide": move({S.SUBMITTED, S.PUBLISHED}, S.HIDDEN, "voice.story.hidden"),
    "withdraw": move({S.SUBMITTED, S.PUBLISHED, S.HIDDEN}, S.WITHDRAWN,
                     "voice.story.withdrawn"),
}


def _on_change(story: Story, change: Change) -> None:
    if change.to_state == S.PUBLISHED:
        story.published_at = change.at


def _thank_author(story_id: int, change: Change) -> None:
    story = Story.objects.select_related("author").get(pk=story_id)
    notify(user=story.author, title=gettext("您的心里话已在社区页面发布，谢谢您！"),
           link="/voice/", dedupe_key=f"voice-story-{story_id}-published")


STORY_WORKFLOW = Workflow(
    "voice.story", states=StoryStatus, transitions=TRANSITIONS, history=StoryEvent,
    refusal=_("这条心里话现在是“%(state)s”，不能这样操作。"), on_change=_on_change,
    on_enter={S.PUBLISHED: _thank_author},
    labels={
        "voice.story.created": _("提交了心里话"),
        "voice.story.published": _("发布到社区页面"),
        "voice.story.hidden": _("隐藏"),
        "voice.story.withdrawn": _("作者撤回"),
    },
)


@transaction.atomic
def story_create(*, author: User, text: str, kind: str = StoryKind.STORY,
                 consent_publish: bool = False, show_name: bool = False,
                 display_name: str = "") -> Story:
    """A worker shares a story with their home community. Whether it may be published, and
    under which name, is the worker's choice now; staff cannot change it later."""
    if getattr(author, "kind", None) != UserKind.WORKER:
        raise PermissionDenied("workers_only", _("只有骑手、快递员和司机可以说心里话。"))
    profile = worker_profile_of(author)
    if profile is None or profile.home_region is None:
        raise ServiceError("home_region_required",
                           _("请先在“我的”里选好常驻社区，心里话会交给这个社区。"))
    text = (text or "").strip()
    if len(text) < MIN_TEXT:
        raise ServiceError("text_too_short", _("多说几句吧，至少 5 个字。"))
    if len(text) > MAX_TEXT:
        raise ServiceError("text_too_long", _("内容不能超过 1000 个字。"))
    if kind not in StoryKind.values:
        raise ServiceError("invalid_kind", _("未知的类型。"))
    name = ""
    if show_name:
        name = (display_name or author.display_name or "").strip()
        if not name:
            raise ServiceError("name_required", _("要署名，请填写希望显示的称呼。"))
        if len(name) > 40:
            raise ServiceError("name_too_long", _("称呼不能超过 40 个字。"))
    story = Story.objects.create(
        author=author, region=profile.home_region, kind=kind, text=text,
        consent_publish=bool(consent_publish), show_name=bool(show_name), display_name=name,
        occupation=profile.occupation, created_at=timezone.now(),
    )
    STORY_WORKFLOW.record(story, "voice.story.created", actor=author, to_state=story.status,
                          at=story.created_at)
    return story


def _locked_for_reviewer(actor: User, story_id: int) -> Story:
    if not is_reviewer(actor):
        raise PermissionDenied("not_allowed", _("您没有审阅心里话的权限。"))
    visible = stories_visible_to(actor).filter(pk=story_id)
    story = (Story.objects.select_for_update(of=("self",))
             .filter(pk__in=visible.values("pk")).first())
    if story is None:
        raise NotFound("story_not_found", _("找不到这条心里话。"))
    return story


@transaction.atomic
def story_publish(*, actor: User, story_id: int) -> Story:
    """Put a story on the community's public page — only if its author consented."""
    story = _locked_for_reviewer(actor, story_id)
    if not story.consent_publish:
        raise ServiceError("no_consent", _("作者没有同意公开，这条心里话不能发布。"),
                           status=409)
    story.reviewed_by = actor
    STORY_WORKFLOW.apply(story, "publish", actor=actor)
    return story


@transaction.atomic
def story_hide(*, actor: User, story_id: int, note: str = "") -> Story:
    story = _locked_for_reviewer(actor, story_id)
    story.reviewed_by = actor
    STORY_WORKFLOW.apply(story, "hide", actor=actor, reason=note.strip()[:500])
    return story


@transaction.atomic
def story_withdraw(*, author: User, story_id: int) -> Story:
    """The author takes a story back: it leaves the public page and cannot be published
    again (their consent is withdrawn with it)."""
    story = Story.objects.select_for_update(of=("self",)).filter(pk=story_id, author=author).first()
    if story is None:
        raise NotFound("story_not_found", _("找不到这条心里话。"))
    story.consent_publish = False
    STORY_WORKFLOW.apply(story, "withdraw", actor=author)
    return story
