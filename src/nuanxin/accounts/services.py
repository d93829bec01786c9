"""Write use cases for people: login codes, registration, staff, second factor, audit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import pyotp
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import (
    ADMIN_ROLES,
    FULL_PHONE_ROLES,
    ROLE_LEVELS,
    AuditLog,
    ConsentRecord,
    Occupation,
    OrgUnit,
    SmsCode,
    StaffProfile,
    StaffRole,
    User,
    UserKind,
    WorkerProfile,
)
from nuanxin.accounts.phones import normalize_phone
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError

SMS_CODE_TTL = timedelta(minutes=5)
SMS_MAX_TRIES = 5
SMS_RESEND_INTERVAL = timedelta(seconds=60)
SMS_PER_PHONE_PER_DAY = 10
SMS_PER_IP_PER_HOUR = 30


def _hash_code(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(),
                    hashlib.sha256).hexdigest()


@transaction.atomic
def sms_code_request(*, phone: str, ip: str | None) -> SmsCode:
    """Issue a 6-digit login code, within the resend limits per number and per address."""
    phone = normalize_phone(phone)
    now = timezone.now()
    recent = SmsCode.objects.filter(phone=phone, created_at__gte=now - timedelta(days=1))
    last = recent.order_by("-created_at").first()
    if last and now - last.created_at < SMS_RESEND_INTERVAL:
        wait = int((SMS_RESEND_INTERVAL - (now - last.created_at)).total_seconds()) + 1
        raise ServiceError("sms_resend_too_soon", _("验证码已发送，请稍后再试。"),
                           status=429, details={"retry_after": wait})
    if recent.count() >= SMS_PER_PHONE_PER_DAY:
        raise ServiceError("sms_daily_limit", _("这个号码今天获取验证码次数过多，请明天再试。"),
                           status=429)
    if ip and SmsCode.objects.filter(ip=ip, created_at__gte=now - timedelta(hours=1)).count() \
            >= SMS_PER_IP_PER_HOUR:
        raise ServiceError("sms_ip_limit", _("当前网络获取验证码过于频繁，请稍后再试。"),
                           status=429)
    code = f"{secrets.randbelow(1_000_000):06d}"
    sms = SmsCode.objects.create(phone=phone, code_hash=_hash_code(phone, code), ip=ip,
                                 created_at=now, expires_at=now + SMS_CODE_TTL)
    text = gettext("【暖新】您的登录验证码是 %(code)s，5 分钟内有效。") % {"code": code}
    from nuanxin.accounts.jobs import deliver_sms

    transaction.on_commit(lambda: deliver_sms(phone, text))
    return sms


@transaction.atomic
def sms_code_verify(*, phone: str, code: str) -> str:
    """Consume the newest live code for the number; each wrong try counts against it."""
    phone = normalize_phone(phone)
    now = timezone.now()
    sms = (
        SmsCode.objects.select_for_update()
        .filter(phone=phone, consumed_at__isnull=True)
        .order_by("-created_at")
        .first()
    )
    if sms is None or sms.expires_at <= now:
        raise ServiceError("sms_code_expired", _("验证码已过期，请重新获取。"))
    if sms.attempts >= SMS_MAX_TRIES:
        raise ServiceError("sms_too_many_tries", _("验证码输错次数过多，请重新获取。"),
                           status=429)
    if not hmac.compare_digest(sms.code_hash, _hash_code(phone, (code or "").strip())):
        sms.attempts += 1
        sms.save(update_fields=["attempts"])
        left = SMS_MAX_TRIES - sms.attempts
        if left == 0:
            raise ServiceError("sms_too_many_tries", _("验证码输错次数过多，请重新获取。"),
                               status=429)
        raise ServiceError("sms_code_wrong", _("验证码不正确。"), details={"tries_left": left})
    sms.consumed_at = now
    sms.save(update_fields=["consumed_at"])
    return phone


def current_notice_version() -> str:
    return settings.NUANXIN_PRIVACY_NOTICE_VERSION


def worker_needs_consent(user: User | None) -> bool:
    if user is None:
        return True
    profile = getattr(user, "worker_profile", None)
    return profile is None or profile.consent_version != current_notice_version()


@transaction.atomic
def worker_login_with_sms(
    *,
    phone: str,
    code: str,
    consent_version: str | None,
    ip: str | None,
    occupation: str | None = None,
) -> User:
    """Log a worker in by SMS code; a first login (or a new notice) requires consent.

    The code is checked before consent so a wrong code never reveals whether a number
    is registered. When consent is missing the code is not spent.
    """
    phone = normalize_phone(phone)
    existing = User.objects.filter(phone=phone).select_related("worker_profile").first()
    if existing is not None and existing.kind != UserKind.WORKER:
        raise ServiceError("not_a_worker_account", _("这个号码属于工作人员账号，请用工作人员登录。"))
    needs_consent = worker_needs_consent(existing)
    if needs_consent and consent_version != current_notice_version():
        # Check the code without consuming it, so the person can tick the box and resend.
        _check_code_without_consuming(phone=phone, code=code)
        raise ServiceError(
            "consent_required",
            _("请先阅读并同意《个人信息保护告知书》。"),
            details={"notice_version": current_notice_version()},
        )
    sms_code_verify(phone=phone, code=code)
    now = timezone.now()
    user = existing
    if user is None:
        user = User.objects.create(username=phone, phone=phone, kind=UserKind.WORKER)
        user.set_unusable_password()
        user.save(update_fields=["password"])
    if occupation and occupation not in Occupation.values:
        raise ServiceError("invalid_occupation", _("未知的职业类型。"))
    if needs_consent:
        WorkerProfile.objects.update_or_create(
            user=user,
            defaults={"consent_version": current_notice_version(), "consented_at": now,
                      **({"occupation": occupation} if occupation else {})},
        )
        ConsentRecord.objects.get_or_create(user=user, version=current_notice_version(),
                                            defaults={"ip": ip})
    user.last_login = now
    user.save(update_fields=["last_login"])
    return user


def _check_code_without_consuming(*, phone: str, code: str) -> None:
    with transaction.atomic():
        sid = transaction.savepoint()
        try:
            sms_code_verify(phone=phone, code=code)
        except ServiceError:
            transaction.savepoint_commit(sid)  # keep the counted try
            raise
        transaction.savepoint_rollback(sid)


@transaction.atomic
def worker_profile_update(
    *, user: User, occupation: str | None = None, platforms: list[str] | None = None,
    home_region_code: str | None = None, display_name: str | None = None,
) -> WorkerProfile:
    from nuanxin.geo.models import Region, RegionLevel

    profile = WorkerProfile.objects.select_for_update().get(user=user)
    if occupation is not None:
        if occupation not in Occupation.values:
            raise ServiceError("invalid_occupation", _("未知的职业类型。"))
        profile.occupation = occupation
    if platforms is not None:
        cleaned = sorted({p.strip()[:20] for p in platforms if p and p.strip()})
        if len(cleaned) > 10:
            raise ServiceError("too_many_platforms", _("最多填写 10 个平台。"))
        profile.platforms = cleaned
    if home_region_code is not None:
        if home_region_code == "":
            profile.home_region = None
        else:
            region = Region.objects.filter(code=home_region_code,
                                           level=RegionLevel.COMMUNITY).first()
            if region is None:
                raise ServiceError("invalid_home_region", _("请选择一个社区。"))
            profile.home_region = region
    if display_name is not None:
        user.display_name = display_name.strip()[:40]
        user.save(update_fields=["display_name"])
    profile.save()
    return profile


@transaction.atomic
def staff_create(
    *, username: str, password: str, org_unit: OrgUnit, role: str, phone: str | None = None,
    display_name: str = "",
) -> User:
    if role not in StaffRole.values:
        raise ServiceError("invalid_role", _("未知的角色。"))
    if org_unit.region.level not in ROLE_LEVELS[StaffRole(role)]:
        raise ServiceError("role_level_mismatch", _("这个角色不能设在该级组织。"))
    if User.objects.filter(username=username).exists():
        raise ServiceError("username_taken", _("用户名已存在。"), status=409)
    user = User(username=username, kind=UserKind.STAFF, display_name=display_name,
                phone=normalize_phone(phone) if phone else None)
    user.set_password(password)
    user.save()
    StaffProfile.objects.create(user=user, org_unit=org_unit, role=role)
    return user


def staff_requires_totp(user: User) -> bool:
    profile = getattr(user, "staff_profile", None)
    return bool(profile and profile.role in ADMIN_ROLES) or user.is_superuser


@transaction.atomic
def totp_begin_enrolment(*, user: User) -> str:
    if user.totp_confirmed_at:
        raise ServiceError("totp_already_enrolled", _("已经绑定动态口令。"), status=409)
    user.totp_secret = pyotp.random_base32()
    user.save(update_fields=["totp_secret"])
    return user.totp_secret


def totp_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name="暖新")


@transaction.atomic
def totp_verify(*, user: User, code: str) -> None:
    if not user.totp_secret:
        raise ServiceError("totp_not_enrolled", _("尚未绑定动态口令。"))
    if not pyotp.TOTP(user.totp_secret).verify((code or "").strip(), valid_window=1):
        raise ServiceError("totp_wrong", _("动态口令不正确。"))
    if user.totp_confirmed_at is None:
        user.totp_confirmed_at = timezone.now()
        user.save(update_fields=["totp_confirmed_at"])


def audit(*, actor: User | None, action: str, obj_type: str, obj_id: str,
          ip: str | None = None, **detail) -> AuditLog:
    return AuditLog.objects.create(actor=actor, action=action, object_type=obj_type,
                                   object_id=str(obj_id), ip=ip, detail=detail)


@transaction.atomic
def phone_reveal(*, viewer: User, subject: User, ip: str | None) -> str:
    """Show a full number to staff whose role needs it, and write that down."""
    from nuanxin.accounts.selectors import users_visible_to

    profile = getattr(viewer, "staff_profile", None)
    if profile is None or profile.role not in FULL_PHONE_ROLES:
        raise PermissionDenied("phone_reveal_forbidden", _("您的角色不能查看完整手机号。"))
    if not users_visible_to(viewer).filter(pk=subject.pk).exists():
        raise NotFound("user_not_found", _("找不到这个人。"))
    audit(actor=viewer, action="accounts.phone.revealed", obj_type="user", obj_id=subject.pk,
          ip=ip)
    return subject.phone or ""
