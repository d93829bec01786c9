"""Account pages: worker SMS login, staff password + TOTP login, logout, my profile,
my data (export, delete), the privacy notice. Plain forms that work without JavaScript;
every refusal a service makes is shown on the page, never as an error page."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from nuanxin.accounts import selectors, services
from nuanxin.accounts.api import client_ip
from nuanxin.accounts.decorators import SESSION_TOTP_OK
from nuanxin.accounts.forms import (
    COMMON_PLATFORMS,
    AccountDeleteForm,
    HomeRegionForm,
    ProfileForm,
    StaffLoginForm,
    TotpForm,
    WorkerLoginForm,
)
from nuanxin.accounts.models import UserKind
from nuanxin.accounts.personal_data import personal_data_export
from nuanxin.accounts.phones import mask_phone, normalize_phone
from nuanxin.common.errors import ServiceError
from nuanxin.common.manifest import login_purpose

WORKER_HOME = "/"
STAFF_HOME = "/console/"
_BACKEND = "django.contrib.auth.backends.ModelBackend"


def safe_next(request, candidate: str | None, default: str) -> str:
    """`candidate` if it is a path on this site (and not a login page), else `default`."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        login_pages = (reverse("accounts:login"), reverse("accounts:staff_login"),
                       reverse("accounts:staff_totp"), reverse("accounts:logout"))
        if not candidate.startswith(login_pages):
            return candidate
    return default


def _next_param(request) -> str:
    return (request.POST.get("next") or request.GET.get("next") or "")[:2000]


def _is_staff(user) -> bool:
    return user.is_authenticated and (
        user.is_superuser or selectors.staff_profile_of(user) is not None
    )


def _error_text(exc: ServiceError) -> str:
    """The service's message, with the numbers a person needs to decide what to do next."""
    text = str(exc.message)
    tries_left = exc.details.get("tries_left")
    if tries_left is not None:
        text += " " + ngettext("还可以再试 %(n)d 次。", "还可以再试 %(n)d 次。",
                               tries_left) % {"n": tries_left}
    retry_after = exc.details.get("retry_after")
    if retry_after and exc.code == "sms_resend_too_soon":
        text += " " + ngettext("请 %(n)d 秒后再获取。", "请 %(n)d 秒后再获取。",
                               retry_after) % {"n": retry_after}
    return text


# Worker login -------------------------------------------------------------------------

PHONE_STEP_ERRORS = {"invalid_phone", "sms_daily_limit", "sms_ip_limit", "not_a_worker_account"}


def _login_page(request, form, *, step: str, error: str = "", note: str = "",
                ask_consent: bool = False, ask_occupation: bool = False):
    phone = form.data.get("phone") if form.is_bound else form.initial.get("phone", "")
    try:
        shown_phone = mask_phone(normalize_phone(phone or ""))
    except ServiceError:
        shown_phone = phone
    return render(request, "accounts/login.html", {
        "form": form,
        "step": step,
        "error": error,
        "note": note,
        "phone": phone or "",
        "shown_phone": shown_phone,
        "ask_consent": ask_consent,
        "ask_occupation": ask_occupation,
        "notice_version": services.current_notice_version(),
        "change_phone_url": f"{reverse('accounts:login')}?"
                            + urlencode({"phone": phone or "", "next": _next_param(request)}),
        "purpose": _purpose(request),
    })


def _purpose(request) -> str | None:
    """What the scan that led here was for ("登录后为您在「…驿站」签到"), when `next` is a
    page of this site an app explains."""
    next_url = safe_next(request, _next_param(request), "")
    return login_purpose(next_url) if next_url else None


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    next_url = _next_param(request)
    if request.method == "GET":
        if request.user.is_authenticated and request.user.kind == UserKind.WORKER:
            return redirect(safe_next(request, next_url, WORKER_HOME))
        form = WorkerLoginForm(initial={"next": next_url,
                                        "phone": request.GET.get("phone", "")[:20]})
        return _login_page(request, form, step="phone")

    form = WorkerLoginForm(request.POST)
    if not form.is_valid():
        if "phone" in form.errors:
            return _login_page(request, form, step="phone",
                               error=_("请输入正确的 11 位中国大陆手机号。"))
        return _login_page(request, form, step="code",
                           error=_("请输入短信里的 6 位数字验证码。"))
    data = form.cleaned_data
    try:
        normalize_phone(data["phone"])
    except ServiceError as exc:
        return _login_page(request, form, step="phone", error=_error_text(exc))
    if request.POST.get("action") == "send":
        return _login_send_code(request, form, data["phone"])
    return _login_submit(request, form, data, next_url)


def _login_send_code(request, form, phone: str):
    phone = normalize_phone(phone)
    fresh = WorkerLoginForm(initial={"phone": phone, "next": form.cleaned_data["next"]})
    try:
        services.sms_code_request(phone=phone, ip=client_ip(request))
    except ServiceError as exc:
        if exc.code == "sms_resend_too_soon":
            # A code was sent a moment ago: the person only needs to type it.
            return _login_page(request, fresh, step="code", error=_error_text(exc))
        return _login_page(request, fresh, step="phone", error=_error_text(exc))
    shown = mask_phone(phone)
    note = _("验证码已发送到 %(phone)s，5 分钟内有效。") % {"phone": shown}
    return _login_page(request, fresh, step="code", note=note)


def _login_submit(request, form, data, next_url: str):
    asked_consent = request.POST.get("ask_consent") == "1"
    asked_occupation = request.POST.get("ask_occupation") == "1"

    def again(error: str = "", note: str = "", step: str = "code"):
        return _login_page(request, form, step=step, error=error, note=note,
                           ask_consent=asked_consent, ask_occupation=asked_occupation)

    code_error = form.code_error()
    if code_error:
        return again(code_error)
    if asked_occupation and data["consent"] and not data["occupation"]:
        return again(_("请选择您的职业。"))
    try:
        user = services.worker_login_with_sms(
            phone=data["phone"],
            code=data["code"],
            consent_version=services.current_notice_version() if data["consent"] else None,
            ip=client_ip(request),
            occupation=data["occupation"] or None,
        )
    except ServiceError as exc:
        if exc.code in PHONE_STEP_ERRORS:
            return again(_error_text(exc), step="phone")
        if exc.code == "consent_required":
            # The code was right, so it is safe to say whether the number is known.
            asked_occupation = selectors.worker_profile_for_phone(
                normalize_phone(data["phone"])
            ) is None
            if asked_consent:
                return again(_error_text(exc))
            asked_consent = True
            if asked_occupation:
                note = _(
                    "欢迎！第一次登录，请选择您的职业，阅读并同意《个人信息保护告知书》后继续。"
                )
            else:
                note = _("《个人信息保护告知书》已更新，请阅读并同意后继续。")
            return again(note=note)
        return again(_error_text(exc))
    login(request, user, backend=_BACKEND)
    return redirect(safe_next(request, next_url, WORKER_HOME))


def privacy_view(request):
    return render(request, "accounts/privacy.html", {
        "notice_version": services.current_notice_version(),
        "code_ttl_minutes": int(services.SMS_CODE_TTL.total_seconds() // 60),
    })


# Staff login --------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def staff_login_view(request):
    next_url = _next_param(request)
    if request.method == "GET":
        if _is_staff(request.user):
            if services.staff_requires_totp(request.user) and \
                    not request.session.get(SESSION_TOTP_OK):
                return _to_totp(next_url)
            return redirect(safe_next(request, next_url, STAFF_HOME))
        form = StaffLoginForm(initial={"next": next_url})
        return render(request, "accounts/staff_login.html", {"form": form})

    form = StaffLoginForm(request.POST)
    if not form.is_valid():
        return render(request, "accounts/staff_login.html",
                      {"form": form, "error": _("请填写用户名和密码。")})
    try:
        user = services.staff_authenticate(
            username=form.cleaned_data["username"], password=form.cleaned_data["password"],
            ip=client_ip(request),
        )
    except ServiceError as exc:
        return render(request, "accounts/staff_login.html",
                      {"form": StaffLoginForm(initial={
                          "username": form.cleaned_data["username"], "next": next_url}),
                       "error": _error_text(exc)})
    login(request, user)
    request.session[SESSION_TOTP_OK] = False
    if services.staff_requires_totp(user):
        return _to_totp(next_url)
    return redirect(safe_next(request, next_url, STAFF_HOME))


def _to_totp(next_url: str):
    target = reverse("accounts:staff_totp")
    return redirect(f"{target}?{urlencode({'next': next_url})}" if next_url else target)


def _grouped(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


@never_cache
@require_http_methods(["GET", "POST"])
def staff_totp_view(request):
    user = request.user
    if not _is_staff(user):
        return redirect_to_login(request.get_full_path(), "accounts:staff_login")
    next_url = _next_param(request)
    if not services.staff_requires_totp(user) or request.session.get(SESSION_TOTP_OK):
        return redirect(safe_next(request, next_url, STAFF_HOME))
    enrolling = user.totp_confirmed_at is None
    if enrolling and not user.totp_secret:
        services.totp_begin_enrolment(user=user)
    error = ""
    if request.method == "POST":
        form = TotpForm(request.POST)
        if form.is_valid():
            try:
                services.staff_totp_check(user=user, code=form.cleaned_data["code"],
                                          ip=client_ip(request))
            except ServiceError as exc:
                error = _error_text(exc)
            else:
                request.session.cycle_key()
                request.session[SESSION_TOTP_OK] = True
                if enrolling:
                    messages.success(
                        request, _("动态口令已绑定。以后登录时输入身份验证器上的口令即可。")
                    )
                return redirect(safe_next(request, next_url, STAFF_HOME))
        form = TotpForm(initial={"next": next_url}) if error else form
    else:
        form = TotpForm(initial={"next": next_url})
    context = {"form": form, "error": error, "enrolling": enrolling}
    if enrolling:
        uri = services.totp_uri(user)
        context["secret"] = _grouped(user.totp_secret)
        context["qr_svg"] = segno.make(uri, error="m").svg_inline(
            scale=5, border=2, title=_("用身份验证器扫描这个二维码"))
    return render(request, "accounts/staff_totp.html", context)


# Logout -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def logout_view(request):
    """POST logs out; GET (an old link, a bookmark) asks first instead of answering 405."""
    if request.method == "GET":
        return render(request, "accounts/logout.html", {"next": _next_param(request)})
    was_staff = _is_staff(request.user)
    logout(request)
    messages.info(request, _("已退出登录。"))
    default = reverse("accounts:staff_login") if was_staff else WORKER_HOME
    return redirect(safe_next(request, _next_param(request), default))


# My profile and my data ---------------------------------------------------------------


def _profile_forms(profile, user):
    known = [p for p in profile.platforms if p in COMMON_PLATFORMS]
    other = [p for p in profile.platforms if p not in COMMON_PLATFORMS]
    return ProfileForm(initial={
        "display_name": user.display_name,
        "occupation": profile.occupation,
        "platforms": known,
        "other_platforms": "，".join(other),
    })


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def profile_view(request):
    user = request.user
    profile = selectors.worker_profile_of(user)
    if profile is None:
        return render(request, "accounts/profile_other.html", {"is_staff": _is_staff(user)})
    basic_form = _profile_forms(profile, user)
    error = ""
    if request.method == "POST":
        section = request.POST.get("section")
        try:
            if section == "home":
                home_form = HomeRegionForm(request.POST)
                if not home_form.is_valid():
                    raise ServiceError("invalid_home_region", _("请选择一个社区。"))
                services.worker_profile_update(
                    user=user, home_region_code=home_form.cleaned_data["home_region"])
                messages.success(request, _("常驻社区已保存。"))
                return redirect("accounts:profile")
            basic_form = ProfileForm(request.POST)
            if basic_form.is_valid():
                services.worker_profile_update(
                    user=user,
                    display_name=basic_form.cleaned_data["display_name"],
                    occupation=basic_form.cleaned_data["occupation"],
                    platforms=basic_form.platform_list(),
                )
                messages.success(request, _("个人信息已保存。"))
                return redirect("accounts:profile")
            error = _("请检查下面标红的内容。")
        except ServiceError as exc:
            error = _error_text(exc)

    district = request.GET.get("district", "")[:6]
    query = request.GET.get("q", "").strip()[:20]
    if not selectors.is_district(district):
        district = profile.home_region.code[:6] if profile.home_region else ""
    communities = selectors.community_choices(district_code=district, query=query)
    return render(request, "accounts/profile.html", {
        "profile": profile,
        "home_path": selectors.region_path(profile.home_region) if profile.home_region else "",
        "basic_form": basic_form,
        "error": error,
        "districts": selectors.district_choices(),
        "district": district,
        "query": query,
        "communities": [
            (c.code, c.name, selectors.region_path(c.parent)) for c in communities
        ],
        "community_limit": selectors.COMMUNITY_CHOICE_LIMIT,
        "notice_version": services.current_notice_version(),
    })


@never_cache
@login_required
def export_view(request):
    """The person's own data as a JSON download."""
    data = personal_data_export(request.user)
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="nuanxin-my-data-{stamp}.json"'
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def delete_view(request):
    user = request.user
    if user.kind != UserKind.WORKER:
        return render(request, "accounts/profile_other.html", {"is_staff": _is_staff(user)})
    form = AccountDeleteForm(request.POST if request.method == "POST" else None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            services.worker_account_delete(user=user)
        except ServiceError as exc:
            error = _error_text(exc)
        else:
            logout(request)
            messages.success(request, _("您的账号和个人数据已删除。感谢您使用暖新。"))
            return redirect(WORKER_HOME)
    return render(request, "accounts/delete.html", {
        "form": form, "error": error, "masked_phone": user.masked_phone,
        "privacy_version": settings.NUANXIN_PRIVACY_NOTICE_VERSION,
    })


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def inbox_view(request):
    """My messages: what changed on the things I follow. Opening the page reads them."""
    from nuanxin.accounts.selectors import notifications_for

    items = list(notifications_for(request.user))
    unread = {n.pk for n in items if n.read_at is None}
    services.notifications_mark_read(user=request.user, ids=list(unread))
    return render(request, "accounts/inbox.html", {"items": items, "unread": unread})
