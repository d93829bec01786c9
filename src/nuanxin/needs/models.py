from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nuanxin.common.scoping import RegionScopedQuerySet
from nuanxin.common.workflow import HistoryEntry
from nuanxin.needs.choices import (  # noqa: F401  (the rest of needs imports them from here)
    CLOSED_STATUSES,
    OPEN_STATUSES,
    PRIVATE_CATEGORIES,
    NeedCategory,
    NeedSource,
    NeedStatus,
    Urgency,
)


class Need(models.Model):
    """One item of the needs list (需求清单), owned by an organisation unit."""

    # common.scoping: staff see the needs of their region subtree
    region_path = "region"
    not_found = ("need_not_found", _("找不到这条需求。"))

    title = models.CharField(_("标题"), max_length=80)
    description = models.TextField(_("描述"), blank=True)
    category = models.CharField(_("类别"), max_length=20, choices=NeedCategory.choices)
    source = models.CharField(_("来源"), max_length=20, choices=NeedSource.choices)
    region = models.ForeignKey("geo.Region", on_delete=models.PROTECT, verbose_name=_("区划"))
    owner = models.ForeignKey("accounts.OrgUnit", on_delete=models.PROTECT,
                              related_name="needs", verbose_name=_("责任单位"))
    urgency = models.PositiveSmallIntegerField(_("紧急程度"), choices=Urgency.choices,
                                               default=Urgency.LOW)
    status = models.CharField(_("状态"), max_length=20, choices=NeedStatus.choices,
                              default=NeedStatus.SUBMITTED)
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    target_date = models.DateField(_("目标日期"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="merged_needs")
    # Set by the alliance app when the need joins a project (an id, not a foreign key:
    # needs does not depend on the apps that answer needs).
    project_ref = models.CharField(max_length=40, blank=True)
    outcome = models.TextField(_("结果说明"), blank=True)
    raised_count = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("需求")
        verbose_name_plural = _("需求")
        indexes = [
            models.Index(fields=["status", "category"]),
            models.Index(fields=["region", "status"]),
            # the staff list's order: most urgent first, newest first
            models.Index(fields=["-urgency", "-created_at", "-id"], name="need_list_order"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=[s.value for s in NeedStatus]),
                                   name="need_status_known"),
            models.CheckConstraint(
                condition=models.Q(status="merged", merged_into__isnull=False)
                | (~models.Q(status="merged") & models.Q(merged_into__isnull=True)),
                name="need_merged_iff_target",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="resolved") | models.Q(resolved_at__isnull=False),
                name="need_resolved_has_time",
            ),
            models.CheckConstraint(
                condition=models.Q(category__in=[c.value for c in NeedCategory]),
                name="need_category_known",
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=[s.value for s in NeedSource]),
                name="need_source_known",
            ),
            models.CheckConstraint(
                condition=models.Q(urgency__gte=1, urgency__lte=3), name="need_urgency_range",
            ),
            models.CheckConstraint(condition=~models.Q(merged_into=models.F("pk")),
                                   name="need_not_merged_into_itself"),
        ]

    def __str__(self) -> str:
        return self.title


class NeedRaiser(models.Model):
    """A worker who raised (or raised again) a need; merging moves these rows."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="raisers")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="raised_needs")
    source = models.CharField(max_length=20, choices=NeedSource.choices)
    raised_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["need", "worker"], name="need_raiser_once"),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id} → {self.need_id}"


class NeedFollower(models.Model):
    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="followed_needs")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["need", "user"], name="need_follower_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} follows {self.need_id}"


class NeedEvent(HistoryEntry):
    """Append-only history: every transition and notable act on a need.

    `actor_unit` is the organisation unit the acting staff member belonged to at the time:
    workers see the unit that acted, never a staff member's name. `data` holds the
    language-neutral details a page renders (the merge target, the fields changed ...).
    """

    subject_field = "need"

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="events")
    actor_unit = models.ForeignKey("accounts.OrgUnit", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta(HistoryEntry.Meta):
        pass


class NeedFeedback(models.Model):
    """A raiser's satisfaction once the need is resolved: 1–5 and a comment."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="feedback")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="+")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["need", "worker"], name="need_feedback_once"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5),
                                   name="need_feedback_score_range"),
        ]

    def __str__(self) -> str:
        return f"{self.need_id}: {self.score}"
