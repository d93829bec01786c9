from django.contrib.auth import login, logout
from django.middleware.csrf import get_token
from django.utils.translation import gettext_lazy as _
from ninja import Path, Router, Schema, Status
from ninja.security import django_auth
from ninja.utils import check_csrf
from pydantic import Field

from nuanxin.accounts import services
from nuanxin.accounts.decorators import second_factor_pending
from nuanxin.accounts.models import User
from nuanxin.common.errors import PermissionDenied, ServiceError

router = Router(tags=["accounts"])


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


class PhoneIn(Schema):
    phone: str = Field(..., max_length=20)


class SmsRequested(Schema):
    expires_in: int
    resend_after: int
    message: str


@router.post("/auth/sms-codes", response={202: SmsRequested}, summary="Send a login code by SMS")
def request_sms_code(request, body: PhoneIn):
    services.sms_code_request(phone=body.phone, ip=client_ip(request))
    return Status(202, {
        "expires_in": int(services.SMS_CODE_TTL.total_seconds()),
        "resend_after": int(services.SMS_RESEND_INTERVAL.total_seconds()),
        "message": str(_("验证码已发送。")),
    })


class SmsLoginIn(Schema):
    phone: str = Field(..., max_length=20)
    code: str = Field(..., max_length=10)
    consent_version: str | None = Field(
        None, description="the privacy notice version the person accepted (first login)"
    )
    occupation: str | None = None


class MeOut(Schema):
    id: int
    kind: str
    phone_masked: str
    display_name: str
    occupation: str | None = None
    platforms: list[str] = []
    home_region: dict | None = None
    consent_version: str | None = None


def _me(user: User) -> dict:
    profile = getattr(user, "worker_profile", None)
    return {
        "id": user.pk,
        "kind": user.kind,
        "phone_masked": user.masked_phone,
        "display_name": user.display_name,
        "occupation": profile.occupation if profile else None,
        "platforms": profile.platforms if profile else [],
        "home_region": (
            {"code": profile.home_region.code, "name": profile.home_region.name}
            if profile and profile.home_region else None
        ),
        "consent_version": profile.consent_version if profile else None,
    }


class CsrfOut(Schema):
    csrf_token: str


@router.get("/auth/csrf", response=CsrfOut,
            summary="A CSRF token (also set as the csrftoken cookie) for the login call")
def csrf_token(request):
    return {"csrf_token": get_token(request)}


@router.post(
    "/auth/sms-login", response=MeOut, summary="Log in (or sign up) with the SMS code",
    description="Needs the CSRF token (cookie `csrftoken` and header `X-CSRFToken`, from "
    "GET /api/v1/auth/csrf) so that another site cannot log a browser into its account.",
)
def sms_login(request, body: SmsLoginIn):
    # Login CSRF: without this a page elsewhere could sign a rider's browser into the
    # attacker's account and read what the rider then enters.
    if check_csrf(request):
        raise PermissionDenied("csrf_failed", _("页面已过期，请刷新页面后再试。"))
    user = services.worker_login_with_sms(
        phone=body.phone, code=body.code, consent_version=body.consent_version,
        ip=client_ip(request), occupation=body.occupation,
    )
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return _me(user)


@router.post("/auth/logout", auth=django_auth, response={204: None}, url_name="auth_logout")
def api_logout(request):
    logout(request)
    return Status(204, None)


@router.get("/me", auth=django_auth, response=MeOut, summary="The logged-in person")
def me(request):
    return _me(request.user)


class ProfileIn(Schema):
    occupation: str | None = None
    platforms: list[str] | None = None
    home_region: str | None = Field(None, description="community code, or empty to clear")
    display_name: str | None = Field(None, max_length=40)


@router.patch("/me", auth=django_auth, response=MeOut, summary="Change my profile")
def update_me(request, body: ProfileIn):
    if not hasattr(request.user, "worker_profile"):
        raise ServiceError("workers_only", _("只有骑手、快递员和司机有个人档案。"), status=403)
    services.worker_profile_update(
        user=request.user, occupation=body.occupation, platforms=body.platforms,
        home_region_code=body.home_region, display_name=body.display_name,
    )
    request.user.refresh_from_db()
    return _me(request.user)


class PhoneOut(Schema):
    phone: str


@router.post(
    "/people/{user_id}/phone", auth=django_auth, response=PhoneOut,
    summary="Show a worker's full phone number (staff whose role needs it; audited)",
)
def reveal_phone(request, user_id: int = Path(..., ge=1, le=2**63 - 1)):
    if second_factor_pending(request):
        raise PermissionDenied("totp_required", _("请先完成动态口令验证。"))
    phone = services.phone_reveal(viewer=request.user, subject=user_id, ip=client_ip(request))
    return {"phone": phone}
