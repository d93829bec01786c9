"""Pages for partner users (联盟单位): sign in, the needs routed to them, their offers.

Phone-first like the workers' pages: a cabinet operator's engineer or a shop owner answers
from the phone. A partner user sees their own partner's routings and resources only.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from nuanxin.alliance import selectors
from nuanxin.alliance.forms import AnswerForm, PartnerLoginForm, ResourceForm
from nuanxin.alliance.models import RoutingStatus
from nuanxin.alliance.services import partners as partner_services
from nuanxin.alliance.services import resources as resource_services
from nuanxin.alliance.services import routings as routing_services
from nuanxin.common.errors import ServiceError
from nuanxin.common.forms import OUT_OF_REACH, form_page


def partner_view(view):
    """Partner users only (others go to the partner sign-in); refusals become error pages."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        partner = selectors.member_partner(request.user)
        if partner is None:
            target = reverse("partner:login")
            return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
        request.partner = partner
        try:
            return view(request, *args, **kwargs)
        except OUT_OF_REACH as error:
            return render(request, "error.html",
                          {"status": error.status, "message": error.message},
                          status=error.status)

    return wrapper


def _safe_next(request, candidate: str) -> str:
    home = reverse("partner:home")
    # Partner users work on their own pages and, for cabinet operators, the energy console.
    allowed = ("/partner/", "/console/energy/")
    if candidate and candidate.startswith(allowed) and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return home


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = (request.POST.get("next") or request.GET.get("next") or "")[:2000]
    if request.method == "GET":
        if selectors.member_partner(request.user) is not None:
            return redirect(_safe_next(request, next_url))
        return render(request, "alliance/partner/login.html",
                      {"form": PartnerLoginForm(initial={"next": next_url})})
    form = PartnerLoginForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            user = partner_services.partner_authenticate(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"], ip=request.META.get("REMOTE_ADDR"))
        except ServiceError as exc:
            error = str(exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(_safe_next(request, next_url))
    else:
        error = gettext("请填写用户名和密码。")
    form = PartnerLoginForm(initial={"username": request.POST.get("username", "")[:150],
                                     "next": next_url})
    return render(request, "alliance/partner/login.html", {"form": form, "error": error},
                  status=400)


@require_GET
@partner_view
def home(request):
    routings = list(selectors.routings_visible_to(request.user).select_related("region"))
    pending = [r for r in routings if r.status == RoutingStatus.ROUTED]
    answered = [r for r in routings if r.status != RoutingStatus.ROUTED]
    resources = selectors.resource_rows(request.user)
    return render(request, "alliance/partner/home.html", {
        "partner": request.partner, "pending": pending, "answered": answered[:30],
        "resources": resources, "today": timezone.localdate(),
        # A cabinet operator (the energy app's Operator, reached by its reverse relation so
        # the alliance needs nothing from that app) also gets the cabinet console.
        "runs_cabinets": hasattr(request.partner, "energy_operator"),
    })


@require_http_methods(["GET", "POST"])
@partner_view
def routing_detail(request, routing_id: int):
    routing = selectors.routing_for(request.user, routing_id)
    return form_page(
        request, AnswerForm(request.POST or None),
        save=lambda d: routing_services.routing_answer(
            actor=request.user, routing_id=routing.pk, action=d["action"], text=d["text"]),
        done=lambda _: (gettext("已答复，社区会尽快与您联系。"), reverse("partner:home")),
        template="alliance/partner/routing.html",
        routing=routing, can_answer=routing.status == RoutingStatus.ROUTED)


@require_http_methods(["GET", "POST"])
@partner_view
def resource_create(request):
    form = ResourceForm(request.POST or None, initial={
        "available_from": timezone.localdate(), "region_code": request.partner.region_id})
    return form_page(
        request, form,
        save=lambda _: resource_services.resource_create(
            actor=request.user, partner_id=request.partner.pk, data=form.to_input()),
        done=lambda _: (gettext("已登记，社区工作人员可以把需求派给您了。"),
                        reverse("partner:home")),
        template="alliance/partner/resource_form.html", resource=None)


@require_http_methods(["GET", "POST"])
@partner_view
def resource_edit(request, resource_id: int):
    resource = selectors.resource_for(request.user, resource_id)
    form = ResourceForm(request.POST or None, initial=ResourceForm.initial_for(resource))
    return form_page(
        request, form,
        save=lambda _: resource_services.resource_update(
            actor=request.user, resource_id=resource.pk, data=form.to_input()),
        done=lambda _: (gettext("已保存。"), reverse("partner:home")),
        template="alliance/partner/resource_form.html", resource=resource)
