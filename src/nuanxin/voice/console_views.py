"""Staff console of 说说心里话: read what workers shared, publish (with consent) or hide."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from nuanxin.accounts.decorators import staff_required
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.voice import selectors, services
from nuanxin.voice.models import StoryStatus

PAGE_SIZE = 30


def console_view(view):
    @staff_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (NotFound, PermissionDenied) as error:
            return render(request, "error.html",
                          {"status": error.status, "message": error.message},
                          status=error.status)

    return wrapper


@require_GET
@console_view
def story_list(request):
    if not selectors.is_reviewer(request.user):
        raise PermissionDenied("not_allowed", gettext("您没有审阅心里话的权限。"))
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
    try:
        call()
    except ServiceError as error:
        if isinstance(error, (NotFound, PermissionDenied)):
            raise
        messages.error(request, str(error.message))
    else:
        messages.success(request, success)
    target = request.POST.get("back", "")
    return redirect(target if target.startswith("/console/voice/") else "voice_console:list")


@require_POST
@console_view
def story_publish(request, story_id: int):
    return _act(request, story_id, lambda: services.story_publish(
        actor=request.user, story_id=story_id), gettext("已发布到社区页面。"))


@require_POST
@console_view
def story_hide(request, story_id: int):
    return _act(request, story_id, lambda: services.story_hide(
        actor=request.user, story_id=story_id), gettext("已设为不公开。"))
