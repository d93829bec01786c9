"""Staff console of 说说心里话: read what workers shared, publish (with consent) or hide."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from nuanxin.accounts.models import MANAGER_ROLES
from nuanxin.common.forms import posted_back, run_action
from nuanxin.common.scoping import console_view
from nuanxin.voice import selectors, services
from nuanxin.voice.models import StoryStatus

PAGE_SIZE = 30


reviewers_only = console_view(roles=MANAGER_ROLES,
                              denied=_("您没有审阅心里话的权限。"))


@require_GET
@reviewers_only
def story_list(request):
    status = request.GET.get("status", StoryStatus.SUBMITTED)
    status = status if status in StoryStatus.values or status == "all" else StoryStatus.SUBMITTED
    qs = selectors.stories_visible_to(request.user)
    if status != "all":
        qs = qs.filter(status=status)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "voice/console/list.html", {
        "page": page, "rows": [{"s": s, "byline": selectors.byline(s)} for s in page],
        "status": status, "statuses": StoryStatus.choices,
    })


def _act(request, story_id: int, call, success: str):
    return run_action(request, call, success=success, back=posted_back(
        request, reverse("voice_console:list"), within="/console/voice/", field="back"))


@require_POST
@reviewers_only
def story_publish(request, story_id: int):
    return _act(request, story_id, lambda: services.story_publish(
        actor=request.user, story_id=story_id), gettext("已发布到社区页面。"))


@require_POST
@reviewers_only
def story_hide(request, story_id: int):
    return _act(request, story_id, lambda: services.story_hide(
        actor=request.user, story_id=story_id), gettext("已设为不公开。"))
