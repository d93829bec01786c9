"""Write use cases for people: login codes, registration, staff, second factor, audit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import pyotp
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import (
    ADMIN_ROLES,
    FULL_PHONE_ROLES,
    ROLE_LEVELS,
    AuditLog,
    ConsentRecord,
    Notification,
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
    from nuanxin.accounts import throttle

    phone = normalize_phone(phone)
    # Concurrent requests for one number (or from one address) take turns, so the limits
    # below count every code issued, not only those committed before the request began.
    throttle.hold("sms-phone", phone)
    if ip:
        throttle.hold("sms-ip", ip)
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


def sms_codes_purge() -> int:
    """Codes are useless after 5 minutes; keep a day for the resend limits, then drop them."""
    deleted, _ = SmsCode.objects.filter(created_at__lt=timezone.now() - timedelta(days=2)).delete()
    return deleted


def sms_code_verify(*, phone: str, code: str, consume: bool = True) -> str:
    """Check the newest live code for the number; each wrong try counts against it.

    A wrong try is written in its own (inner) transaction that ends before the refusal is
    raised, so the count survives the refusal. Callers must not wrap this call in an
    atomic block that the refusal unwinds, or the count is lost and codes can be guessed.
    With `consume=False` a right code is only checked, not spent.
    """
    phone = normalize_phone(phone)
    now = timezone.now()
    refusal: ServiceError | None = None
    with transaction.atomic():
        sms = (
            SmsCode.objects.select_for_update()
            .filter(phone=phone, consumed_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        if sms is None or sms.expires_at <= now:
            refusal = ServiceError("sms_code_expired", _("验证码已过期，请重新获取。"))
        elif sms.attempts >= SMS_MAX_TRIES:
            refusal = ServiceError("sms_too_many_tries", _("验证码输错次数过多，请重新获取。"),
                                   status=429)
        elif not hmac.compare_digest(sms.code_hash, _hash_code(phone, (code or "").strip())):
            sms.attempts += 1
            sms.save(update_fields=["attempts"])
            left = SMS_MAX_TRIES - sms.attempts
            if left == 0:
                refusal = ServiceError("sms_too_many_tries",
                                       _("验证码输错次数过多，请重新获取。"), status=429)
            else:
                refusal = ServiceError("sms_code_wrong", _("验证码不正确。"),
                                       details={"tries_left": left})
        elif consume:
            sms.consumed_at = now
            sms.save(update_fields=["consumed_at"])
    if refusal is not None:
        raise refusal
    return phone


def current_notice_version() -> str:
    return settings.NUANXIN_PRIVACY_NOTICE_VERSION


def worker_needs_consent(user: User | None) -> bool:
    if user is None:
        return True
    profile = getattr(user, "worker_profile", None)
    return profile is None or profile.consent_version != current_notice_version()


def worker_login_with_sms(
    *,
    phone: str,
    code: str,
    consent_version: str | None,
    ip: str | None,
    occupation: str | None = None,
) -> User:
    """Log a worker in by SMS code; a first login (or a new notice) requires consent.

    The code is checked before anything else is said about the number, so a wrong code
    never reveals whether a number is registered (or belongs to staff). When consent is
    missing the code is checked but not spent, so the person can tick the box and send it
    again. The code check commits on its own (see `sms_code_verify`); the account is then
    written in one transaction.
    """
    phone = normalize_phone(phone)
    if occupation and occupation not in Occupation.values:
        raise ServiceError("invalid_occupation", _("未知的职业类型。"))
    existing = User.objects.filter(phone=phone).select_related("worker_profile").first()
    is_other_kind = existing is not None and existing.kind != UserKind.WORKER
    needs_consent = worker_needs_consent(existing)
    if is_other_kind or (needs_consent and consent_version != current_notice_version()):
        sms_code_verify(phone=phone, code=code, consume=False)
        if is_other_kind:
            raise ServiceError("not_a_worker_account",
                               _("这个号码属于工作人员账号，请用工作人员登录。"))
        raise ServiceError(
            "consent_required",
            _("请先阅读并同意《个人信息保护告知书》。"),
            details={"notice_version": current_notice_version()},
        )
    sms_code_verify(phone=phone, code=code)
    return _worker_account_open(user=existing, phone=phone, needs_consent=needs_consent,
                                occupation=occupation, ip=ip)


@transaction.atomic
def _worker_account_open(*, user: User | None, phone: str, needs_consent: bool,
                         occupation: str | None, ip: str | None) -> User:
    now = timezone.now()
    if user is None:
        user = User.objects.create(username=phone, phone=phone, kind=UserKind.WORKER)
        user.set_unusable_password()
        user.save(update_fields=["password"])
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
def org_unit_ensure(*, region) -> OrgUnit:
    """The organisation unit at `region`, opened (as its service centre) if there is none."""
    unit = OrgUnit.objects.filter(region=region).first()
    return unit or OrgUnit.objects.create(region=region, name=f"{region.name}党群服务中心")


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


def _totp_step(secret: str, code: str) -> int | None:
    """The 30-second step whose code `code` is, within one step of now; None if none."""
    totp = pyotp.TOTP(secret)
    now = timezone.now()
    given = code.encode()
    for offset in (0, -1, 1):
        if hmac.compare_digest(totp.at(now, counter_offset=offset).encode(), given):
            return totp.timecode(now) + offset
    return None


@transaction.atomic
def totp_verify(*, user: User, code: str) -> None:
    """Accept a right code once: a code (or an older one) already taken is refused.

    The conditional UPDATE is the single place where a step is taken, so two processes
    given the same code at the same moment cannot both accept it."""
    if not user.totp_secret:
        raise ServiceError("totp_not_enrolled", _("尚未绑定动态口令。"))
    step = _totp_step(user.totp_secret, (code or "").strip())
    if step is None:
        raise ServiceError("totp_wrong", _("动态口令不正确。"))
    now = timezone.now()
    taken = User.objects.filter(
        Q(totp_last_step__isnull=True) | Q(totp_last_step__lt=step), pk=user.pk
    ).update(totp_last_step=step, totp_confirmed_at=Coalesce("totp_confirmed_at", Value(now)))
    if not taken:
        raise ServiceError("totp_reused", _("这个动态口令刚刚用过，请等下一个口令。"))
    user.refresh_from_db(fields=["totp_last_step", "totp_confirmed_at"])


def audit(*, actor: User | None, action: str, obj_type: str, obj_id: str,
          ip: str | None = None, **detail) -> AuditLog:
    return AuditLog.objects.create(actor=actor, action=action, object_type=obj_type,
                                   object_id=str(obj_id), ip=ip, detail=detail)


@transaction.atomic
def phone_reveal(*, viewer: User, subject: User | int, ip: str | None) -> str:
    """Show a full number to staff whose role needs it, and write that down.

    `subject` is a user or a user id; a person outside the viewer's region, or no person at
    all, is "not found" (404), and only after the viewer's role has been checked (403).
    """
    from nuanxin.accounts.selectors import users_visible_to

    profile = getattr(viewer, "staff_profile", None)
    if profile is None or profile.role not in FULL_PHONE_ROLES:
        raise PermissionDenied("phone_reveal_forbidden", _("您的角色不能查看完整手机号。"))
    subject_id = subject.pk if isinstance(subject, User) else subject
    found = users_visible_to(viewer).filter(pk=subject_id).first()
    if found is None:
        raise NotFound("user_not_found", _("找不到这个人。"))
    audit(actor=viewer, action="accounts.phone.revealed", obj_type="user", obj_id=found.pk,
          ip=ip)
    return found.phone or ""


# Staff sign-in: password, then the second factor, both with failure limits.

STAFF_LOGIN_LOCK_AFTER = 10  # wrong passwords (or codes) per username ...
STAFF_LOGIN_LOCK_PER_IP = 50  # ... or per address, within the window
STAFF_LOGIN_LOCK_FOR = timedelta(minutes=15)


def _locked_error() -> ServiceError:
    return ServiceError(
        "login_locked", _("错误次数过多，账号已暂时锁定，请 15 分钟后再试。"), status=429,
        details={"retry_after": int(STAFF_LOGIN_LOCK_FOR.total_seconds())},
    )


def _count_failure(*, kind: str, username: str, ip: str | None) -> int:
    """Count one failure; return how many tries are left before the lock."""
    from nuanxin.accounts import throttle

    window = STAFF_LOGIN_LOCK_FOR
    count = throttle.failure_add(kind, username, limit=STAFF_LOGIN_LOCK_AFTER, window=window)
    if ip:
        throttle.failure_add(f"{kind}-ip", ip, limit=STAFF_LOGIN_LOCK_PER_IP, window=window)
    left = STAFF_LOGIN_LOCK_AFTER - count
    if left <= 0:
        audit(actor=None, action=f"accounts.{kind}.locked", obj_type="username",
              obj_id=username[:40], ip=ip)
    return left


def _is_locked(*, kind: str, username: str, ip: str | None) -> bool:
    from nuanxin.accounts import throttle

    return throttle.failure_count(kind, username) >= STAFF_LOGIN_LOCK_AFTER or bool(
        ip and throttle.failure_count(f"{kind}-ip", ip) >= STAFF_LOGIN_LOCK_PER_IP
    )


def staff_authenticate(*, username: str, password: str, ip: str | None) -> User:
    """Check a staff member's password; after 10 wrong ones the username waits 15 minutes.

    Only staff (with a staff profile) and superusers may pass; others are told to use the
    worker login. The caller logs the user in and, when `staff_requires_totp`, asks for the
    second factor before anything else.
    """
    from django.contrib.auth import authenticate

    from nuanxin.accounts import throttle

    username = (username or "").strip()
    if _is_locked(kind="staff_login", username=username, ip=ip):
        raise _locked_error()
    user = authenticate(username=username, password=password or "")
    if user is None:
        left = _count_failure(kind="staff_login", username=username, ip=ip)
        if left <= 0:
            raise _locked_error()
        raise ServiceError("login_failed", _("用户名或密码不正确。"),
                           details={"tries_left": left})
    if not (user.is_superuser or hasattr(user, "staff_profile")):
        raise PermissionDenied(
            "staff_only", _("这不是工作人员账号。骑手、快递员和司机请用手机号登录。")
        )
    throttle.failure_clear("staff_login", username)
    return user


def staff_totp_check(*, user: User, code: str, ip: str | None) -> None:
    """The second factor, with the same failure limit as passwords and no code used twice."""
    from nuanxin.accounts import throttle

    code = (code or "").strip()
    if _is_locked(kind="staff_totp", username=user.username, ip=ip):
        raise _locked_error()
    try:
        totp_verify(user=user, code=code)
    except ServiceError as exc:
        if exc.code != "totp_wrong":
            raise
        left = _count_failure(kind="staff_totp", username=user.username, ip=ip)
        if left <= 0:
            raise _locked_error() from None
        exc.details = {**exc.details, "tries_left": left}
        raise
    throttle.failure_clear("staff_totp", user.username)


# A worker's own data: deleting the account.


def pseudonymous_id(user: User) -> str:
    """A stable stand-in for a person in records that outlive their account."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"user:{user.pk}".encode(),
                      hashlib.sha256).hexdigest()
    return f"u-{digest[:24]}"


def worker_account_delete(*, user: User) -> str:
    """Delete a worker's account and everything that hangs off it; return the pseudonym.

    The user row goes, and with it (by cascade) the profile, consents and every other
    app's rows that point at it; data not tied by a foreign key is removed by the erasers
    other apps declare in their manifests. What stays is one audit row with a pseudonymous
    id and no personal data.
    """
    from django.db.models import ProtectedError

    from nuanxin.accounts.personal_data import run_erasers

    if user.kind != UserKind.WORKER:
        raise PermissionDenied("workers_only",
                               _("只有骑手、快递员和司机可以在这里注销账号。"))
    pseudonym = pseudonymous_id(user)
    try:
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=user.pk)
            run_erasers(user)
            if user.phone:
                SmsCode.objects.filter(phone=user.phone).delete()
            consents = list(user.consents.values_list("version", flat=True))
            user.delete()
            audit(actor=None, action="accounts.account.deleted", obj_type="user",
                  obj_id=pseudonym, kind=UserKind.WORKER.value, consent_versions=consents)
    except ProtectedError:
        raise ServiceError(
            "account_delete_blocked",
            _("您的账号还有未办结的事项，暂时不能注销，请联系所在社区。"),
            status=409,
        ) from None
    return pseudonym


def notify(*, user: User, title: str, body: str = "", link: str = "",
           dedupe_key: str = "") -> Notification | None:
    """Put a message in a person's inbox. With a dedupe_key, a repeat is a no-op."""
    if dedupe_key:
        notification, created = Notification.objects.get_or_create(
            user=user, dedupe_key=dedupe_key,
            defaults={"title": title[:120], "body": body, "link": link},
        )
        return notification if created else None
    return Notification.objects.create(user=user, title=title[:120], body=body, link=link)


def notify_many(*, user_ids: list[int], title: str, body: str = "", link: str = "",
                dedupe_key: str = "") -> None:
    """The same message to many people in one insert; with a dedupe_key, repeats are skipped."""
    rows = [Notification(user_id=uid, title=title[:120], body=body, link=link,
                         dedupe_key=dedupe_key) for uid in dict.fromkeys(user_ids)]
    Notification.objects.bulk_create(rows, ignore_conflicts=bool(dedupe_key), batch_size=1000)


def notification_settle(*, user: User, dedupe_key: str, title: str) -> int:
    """Retitle a message whose request is done (a survey answered) and count it as read.

    No moment is written: an unread one is marked read as of when it was sent, so the row
    cannot tell when the person acted (for an anonymous survey, when they answered)."""
    messages = Notification.objects.filter(user=user, dedupe_key=dedupe_key)
    messages.filter(read_at__isnull=True).update(read_at=F("created_at"))
    return messages.update(title=title[:120])


@transaction.atomic
def notifications_mark_read(*, user: User, ids: list[int] | None = None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())
