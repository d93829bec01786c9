from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.phones import mask_phone
from nuanxin.accounts.roles import (  # noqa: F401  (the rest imports them from here too)
    ADMIN_ROLES,
    FULL_PHONE_ROLES,
    MANAGER_ROLES,
    STATION_EDITOR_ROLES,
    StaffRole,
)
from nuanxin.common.scoping import RegionScopedQuerySet
from nuanxin.geo.models import RegionLevel


class UserKind(models.TextChoices):
    WORKER = "worker", _("新就业群体")
    STAFF = "staff", _("工作人员")
    PARTNER = "partner", _("联盟单位")


class NuanxinUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        # A superuser is staff, not a worker (workers must have a phone number), so that
        # `nuanxin createsuperuser` works.
        extra_fields.setdefault("kind", UserKind.STAFF)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    kind = models.CharField(_("类型"), max_length=10, choices=UserKind.choices,
                            default=UserKind.WORKER)
    phone = models.CharField(_("手机号"), max_length=11, unique=True, null=True, blank=True)
    display_name = models.CharField(_("称呼"), max_length=40, blank=True)
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The 30-second step of the last code accepted: a code is taken once, and never one
    # older than it, by a conditional UPDATE that every process sees.
    totp_last_step = models.BigIntegerField(null=True, blank=True)

    objects = NuanxinUserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=["worker", "staff", "partner"]), name="user_kind_known"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="worker") | models.Q(phone__isnull=False),
                name="worker_has_phone",
            ),
        ]

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    def __str__(self) -> str:
        return self.display_name or self.masked_phone or self.username


class Occupation(models.TextChoices):
    FOOD_DELIVERY = "food_delivery", _("外卖骑手")
    COURIER = "courier", _("快递员")
    RIDE_HAILING = "ride_hailing", _("网约车司机")
    TRUCK = "truck", _("货车司机")
    DESIGNATED_DRIVER = "designated_driver", _("代驾")
    OTHER = "other", _("其他")


class WorkerProfile(models.Model):
    # common.scoping: a worker counts where they live (target groups, visit coverage)
    region_path = "home_region"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="worker_profile")
    occupation = models.CharField(_("职业"), max_length=20, choices=Occupation.choices,
                                  default=Occupation.FOOD_DELIVERY)
    platforms = models.JSONField(_("平台"), default=list, blank=True)
    home_region = models.ForeignKey("geo.Region", null=True, blank=True,
                                    on_delete=models.SET_NULL, verbose_name=_("常驻社区"))
    consent_version = models.CharField(max_length=20)
    consented_at = models.DateTimeField()

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("骑手/司机档案")
        verbose_name_plural = _("骑手/司机档案")

    def __str__(self) -> str:
        return str(self.user)


class ConsentRecord(models.Model):
    """Append-only: every acceptance of a privacy-notice version, with when and from where."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="consents")
    version = models.CharField(max_length=20)
    accepted_at = models.DateTimeField(auto_now_add=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "version"], name="consent_once_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.version}"


# The organisation level each role sits at.
ROLE_LEVELS = {
    StaffRole.STATION_KEEPER: {RegionLevel.COMMUNITY, RegionLevel.STREET},
    StaffRole.COMMUNITY_STAFF: {RegionLevel.COMMUNITY},
    StaffRole.STREET_ADMIN: {RegionLevel.STREET},
    StaffRole.DISTRICT_ADMIN: {RegionLevel.DISTRICT},
    StaffRole.CITY_ADMIN: {RegionLevel.CITY},
    StaffRole.PROVINCE_ADMIN: {RegionLevel.PROVINCE},
}


class OrgUnit(models.Model):
    """A party-mass service centre or office at one level, responsible for one region."""

    name = models.CharField(_("名称"), max_length=80)
    region = models.ForeignKey("geo.Region", on_delete=models.PROTECT, verbose_name=_("辖区"))

    class Meta:
        verbose_name = _("组织单位")
        verbose_name_plural = _("组织单位")
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="org_unit_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class StaffProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="staff_profile")
    org_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="staff")
    role = models.CharField(_("角色"), max_length=20, choices=StaffRole.choices)

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES


class PartnerKind(models.TextChoices):
    COMPANY = "company", _("企业")
    SOCIAL_ORG = "social_org", _("社会组织")
    FINANCIAL = "financial", _("金融机构")
    PROFESSIONAL = "professional", _("专业团队")
    OPERATOR = "operator", _("运营商")
    MERCHANT = "merchant", _("商户")


class Partner(models.Model):
    name = models.CharField(_("名称"), max_length=80, unique=True)
    kind = models.CharField(_("类型"), max_length=20, choices=PartnerKind.choices)
    region = models.ForeignKey("geo.Region", on_delete=models.PROTECT, verbose_name=_("服务区域"))

    class Meta:
        verbose_name = _("联盟单位")
        verbose_name_plural = _("联盟单位")

    def __str__(self) -> str:
        return self.name


class PartnerMember(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="partner_member")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="members")

    def __str__(self) -> str:
        return f"{self.user} @ {self.partner}"


class SmsCode(models.Model):
    """One issued login code. Only its keyed hash is stored."""

    phone = models.CharField(max_length=11, db_index=True)
    code_hash = models.CharField(max_length=64)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ip", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(attempts__lte=5), name="sms_code_max_tries")
        ]

    def __str__(self) -> str:
        return f"{mask_phone(self.phone)} {self.created_at:%Y-%m-%d %H:%M}"


class AuditLog(models.Model):
    """Append-only record of staff access to personal data and other sensitive acts."""

    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=60)  # dotted code, e.g. accounts.phone.revealed
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"


class Notification(models.Model):
    """A message to one person's inbox on the platform (their 消息 page)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    title = models.CharField(max_length=120)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    # Senders may pass a key so a retried job does not notify twice.
    dedupe_key = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "dedupe_key"],
                                    condition=~models.Q(dedupe_key=""),
                                    name="notification_dedupe"),
        ]

    def __str__(self) -> str:
        return self.title


class SecurityCounter(models.Model):
    """A failure count (password and TOTP lockouts) shared by every process.

    Kept in the database, not a process's cache, so that a lock holds whichever worker
    answers the next try. `key` names the kind and a hash of the identity (username, IP).
    """

    key = models.CharField(max_length=80, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key} = {self.count}"
