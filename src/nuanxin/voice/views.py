"""Workers' pages of 说说心里话: write to my community, see what became of what I wrote."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nuanxin.accounts.models import UserKind
from nuanxin.accounts.selectors import worker_profile_of
from nuanxin.common.errors import ServiceError
from nuanxin.common.forms import form_page
from nuanxin.voice import selectors, services
from nuanxin.voice.forms import StoryForm


def _workers_only(request):
    if request.user.kind != UserKind.WORKER:
        return render(request, "error.html", {
            "status": 403,
            "message": gettext("说说心里话是给骑手、快递员和司机的。")}, status=403)
    return None


@require_GET
@login_required
def mine(request):
    refused = _workers_only(request)
    if refused:
        return refused
    stories = selectors.stories_of(request.user)
    return render(request, "voice/mine.html", {"stories": stories})


@require_http_methods(["GET", "POST"])
@login_required
def new(request):
    refused = _workers_only(request)
    if refused:
        return refused
    profile = worker_profile_of(request.user)
    home = profile.home_region if profile else None
    form = StoryForm(request.POST or None,
                     initial={"display_name": request.user.display_name})
    return form_page(
        request, form,
        save=lambda d: services.story_create(
            author=request.user, text=d["text"], kind=d["kind"],
            consent_publish=d["consent_publish"], show_name=d["show_name"],
            display_name=d["display_name"]),
        done=lambda _: (gettext("收到了，谢谢您说出来。社区工作人员会认真看。"),
                        reverse("voice:mine")),
        template="voice/new.html", home=home)


@require_POST
@login_required
def withdraw(request, story_id: int):
    try:
        services.story_withdraw(author=request.user, story_id=story_id)
    except ServiceError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, gettext("已撤回，这段话不会再公开。"))
    return redirect("voice:mine")
