"""The 暖新联盟's data: co-building agreements, partners' resources (资源清单), needs routed to
partners, and projects (项目清单) that answer needs with partners' resources.

Partners themselves (accounts.Partner, with their region of work) and partner users
(accounts.PartnerMember) live in accounts. Needs live in the needs app; this app refers to a
need by its id only (`need_id`, a plain integer column, see docs/decisions/0005) and reads and
changes needs through needs.selectors and needs.services.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nuanxin.common.scoping import RegionScopedQuerySet
from nuanxin.common.seats import SeatHolding
from nuanxin.common.workflow import HistoryEntry
from nuanxin.needs.choices import NeedCategory


class Agreement(models.Model):
    """A co-building agreement (共建协议) between a partner and a service centre (OrgUnit):
    the partner becomes one of that centre's 共建单位 for the agreed period."""

    # common.scoping: staff see agreements of centres in their region; a partner its own
    region_path = "org_unit__region"
    partner_path = "partner"
    not_found = ("agreement_not_found", _("找不到这份共建协议。"))

    partner = models.ForeignKey("accounts.Partner", on_delete=models.CASCADE,
                                related_name="agreements", verbose_name=_("联盟单位"))
    org_unit = models.ForeignKey("accounts.OrgUnit", on_delete=models.PROTECT,
                                 related_name="agreements", verbose_name=_("共建阵地"))
    title = models.CharField(_("协议名称"), max_length=120)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("共建协议")
        verbose_name_plural = _("共建协议")
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")),
                                   name="agreement_ends_after_start"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_active_on(self, day) -> bool:
        return self.starts_on <= day <= self.ends_on


class Resource(models.Model):
    """What a partner offers (资源清单): a class's seats, battery slots, consultations ...

    `capacity` counts units of `capacity_unit` ("个名额", "个电池槽", "次/月"); what is left
    is the capacity minus what open projects have taken (ProjectResource rows). Taking
    capacity goes through services.resources.RESOURCE_SEATS (common.seats).
    """

    # common.scoping: an offer in the staff member's region, or covering it (a city-wide
    # offer is visible to a community's staff); a partner sees its own
    region_path = "region"
    region_match = "overlaps"
    partner_path = "partner"
    not_found = ("resource_not_found", _("找不到这项资源。"))

    partner = models.ForeignKey("accounts.Partner", on_delete=models.CASCADE,
                                related_name="resources", verbose_name=_("联盟单位"))
    title = models.CharField(_("名称"), max_length=80)
    category = models.CharField(_("类别"), max_length=20, choices=NeedCategory.choices)
    description = models.TextField(_("说明"), blank=True)
    region = models.ForeignKey("geo.Region", on_delete=models.PROTECT, verbose_name=_("所在区划"))
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    capacity = models.PositiveIntegerField(_("容量"))
    capacity_unit = models.CharField(_("单位"), max_length=20, default="个名额")
    conditions = models.TextField(_("条件"), blank=True)
    available_from = models.DateField(_("开始提供"))
    available_until = models.DateField(_("提供至"), null=True, blank=True)
    is_active = models.BooleanField(_("在提供"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["partner__name", "title", "id"]
        verbose_name = _("资源")
        verbose_name_plural = _("资源清单")
        indexes = [models.Index(fields=["category", "is_active"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(capacity__gte=1),
                                   name="resource_capacity_positive"),
            models.CheckConstraint(
                condition=models.Q(available_until__isnull=True)
                | models.Q(available_until__gte=models.F("available_from")),
                name="resource_available_range",
            ),
            models.CheckConstraint(
                condition=models.Q(lat__isnull=True, lng__isnull=True)
                | models.Q(lat__isnull=False, lng__isnull=False, lat__gte=-90, lat__lte=90,
                           lng__gte=-180, lng__lte=180),
                name="resource_coordinates_pair",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ProjectStatus(models.TextChoices):
    PLANNED = "planned", _("筹备中")
    ACTIVE = "active", _("推进中")
    CLOSED = "closed", _("已完成")
    CANCELLED = "cancelled", _("已取消")


OPEN_PROJECT_STATUSES = (ProjectStatus.PLANNED, ProjectStatus.ACTIVE)


class Project(models.Model):
    """One item of the project list (项目清单): needs answered with partners' resources."""

    # common.scoping: staff see projects their region's centres own; a partner the projects
    # that use its resources
    region_path = "owner__region"
    partner_path = "allocations__resource__partner"
    not_found = ("project_not_found", _("找不到这个项目。"))

    title = models.CharField(_("项目名称"), max_length=80)
    description = models.TextField(_("项目说明"), blank=True)
    owner = models.ForeignKey("accounts.OrgUnit", on_delete=models.PROTECT,
                              related_name="alliance_projects", verbose_name=_("责任单位"))
    status = models.CharField(_("状态"), max_length=12, choices=ProjectStatus.choices,
                              default=ProjectStatus.PLANNED)
    progress = models.PositiveSmallIntegerField(_("进度 %"), default=0)
    cost_fen = models.BigIntegerField(_("投入（分）"), default=0)
    results = models.TextField(_("成效"), blank=True)
    cancel_reason = models.TextField(_("取消原因"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("项目")
        verbose_name_plural = _("项目清单")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in ProjectStatus]),
                name="project_status_known"),
            models.CheckConstraint(condition=models.Q(progress__gte=0, progress__lte=100),
                                   name="project_progress_range"),
            models.CheckConstraint(condition=models.Q(cost_fen__gte=0),
                                   name="project_cost_not_negative"),
            models.CheckConstraint(
                condition=~models.Q(status="closed")
                | (models.Q(closed_at__isnull=False) & ~models.Q(results="")),
                name="project_closed_has_results",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def ref(self) -> str:
        return project_ref(self.pk)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_PROJECT_STATUSES


PROJECT_REF_PREFIX = "alliance.project:"


def project_ref(project_id: int) -> str:
    """What a need's `project_ref` says when the need is in this project."""
    return f"{PROJECT_REF_PREFIX}{project_id}"


def project_id_from_ref(ref: str) -> int | None:
    if not ref or not ref.startswith(PROJECT_REF_PREFIX):
        return None
    tail = ref[len(PROJECT_REF_PREFIX):]
    return int(tail) if tail.isdigit() else None


class ProjectNeed(models.Model):
    """A need (by id, in the needs app) answered by the project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="needs")
    need_id = models.PositiveBigIntegerField(db_index=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    added_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "need_id"], name="project_need_once"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} ← need {self.need_id}"


class ProjectResource(SeatHolding):
    """Capacity of a resource taken by a project (while the project is open): a holding of
    the resource's seats (common.seats), keyed by the project's id."""

    pool_field = "resource"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="allocations")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT,
                                 related_name="allocations")
    quantity = models.PositiveIntegerField(_("数量"))

    class Meta(SeatHolding.Meta):
        constraints = [
            models.UniqueConstraint(fields=["project", "resource"],
                                    name="project_resource_once"),
            models.UniqueConstraint(fields=["resource", "key"], name="project_resource_key_once"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1),
                                   name="project_resource_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.quantity} × {self.resource_id}"


class Milestone(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("节点"), max_length=80)
    due_on = models.DateField(_("计划日期"), null=True, blank=True)
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.title


class ProjectEvent(HistoryEntry):
    """Append-only history of a project: transitions and notable acts."""

    subject_field = "project"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="events")

    class Meta(HistoryEntry.Meta):
        pass


class RoutingStatus(models.TextChoices):
    ROUTED = "routed", _("待答复")
    ACCEPTED = "accepted", _("已接单")
    PROPOSED = "proposed", _("提出方案")
    DECLINED = "declined", _("已婉拒")


class NeedRouting(models.Model):
    """A need sent by staff to a partner, with the partner's answer.

    The partner sees only what staff sent (`title`, `category`, `description`, `region`),
    copied at routing time: never who raised the need. Staff may shorten the description
    before sending it.
    """

    # common.scoping: staff see routings of needs in their region; a partner those sent to it
    region_path = "region"
    partner_path = "partner"
    not_found = ("routing_not_found", _("找不到这条派单。"))

    need_id = models.PositiveBigIntegerField(db_index=True)
    partner = models.ForeignKey("accounts.Partner", on_delete=models.CASCADE,
                                related_name="routings", verbose_name=_("联盟单位"))
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="routings", verbose_name=_("建议资源"))
    title = models.CharField(_("标题"), max_length=80)
    category = models.CharField(_("类别"), max_length=20, choices=NeedCategory.choices)
    description = models.TextField(_("情况说明"), blank=True)
    region = models.ForeignKey("geo.Region", on_delete=models.PROTECT, verbose_name=_("区划"))
    status = models.CharField(_("状态"), max_length=12, choices=RoutingStatus.choices,
                              default=RoutingStatus.ROUTED)
    message = models.TextField(_("给联盟单位的话"), blank=True)
    proposal = models.TextField(_("方案"), blank=True)
    decline_reason = models.TextField(_("婉拒原因"), blank=True)
    routed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    routed_at = models.DateTimeField(db_index=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-routed_at", "-id"]
        verbose_name = _("需求派单")
        verbose_name_plural = _("需求派单")
        constraints = [
            models.UniqueConstraint(fields=["need_id", "partner"], name="routing_once_per_partner"),
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in RoutingStatus]),
                name="routing_status_known"),
            models.CheckConstraint(
                condition=~models.Q(status="proposed") | ~models.Q(proposal=""),
                name="routing_proposal_has_text"),
            models.CheckConstraint(
                condition=~models.Q(status="declined") | ~models.Q(decline_reason=""),
                name="routing_decline_has_reason"),
        ]

    def __str__(self) -> str:
        return f"need {self.need_id} → {self.partner_id}"


class RoutingEvent(HistoryEntry):
    """Append-only history of a routing."""

    subject_field = "routing"

    routing = models.ForeignKey(NeedRouting, on_delete=models.CASCADE, related_name="events")

    class Meta(HistoryEntry.Meta):
        pass
