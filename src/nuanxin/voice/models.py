"""Workers' voice (说说心里话): stories and feedback a worker shares with their community.

A story is published on the community's public page only if its author allowed it
(`consent_publish`), and under their name only if they chose to be named (`show_name`);
the database refuses anything else.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nuanxin.common.scoping import RegionScopedQuerySet
from nuanxin.common.workflow import HistoryEntry


class StoryKind(models.TextChoices):
    STORY = "story", _("心里话")
    FEEDBACK = "feedback", _("意见建议")


class StoryStatus(models.TextChoices):
    SUBMITTED = "submitted", _("待审阅")
    PUBLISHED = "published", _("已发布")
    HIDDEN = "hidden", _("不公开")
    WITHDRAWN = "withdrawn", _("已撤回")


class Story(models.Model):
    # common.scoping: staff see the stories of their region subtree
    region_path = "region"
    not_found = ("story_not_found", _("找不到这条心里话。"))

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="stories")
    region = models.ForeignKey("geo.Region", on_delete=models.PROTECT, verbose_name=_("社区"))
    kind = models.CharField(_("类型"), max_length=10, choices=StoryKind.choices,
                            default=StoryKind.STORY)
    text = models.TextField(_("内容"))
    consent_publish = models.BooleanField(_("同意公开"), default=False)
    show_name = models.BooleanField(_("署名"), default=False)
    display_name = models.CharField(_("署名"), max_length=40, blank=True)
    # What the author does (外卖骑手, 快递员 ...), copied when they write: shown with the story.
    occupation = models.CharField(max_length=20, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=StoryStatus.choices,
                              default=StoryStatus.SUBMITTED)
    created_at = models.DateTimeField(db_index=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("心里话")
        verbose_name_plural = _("心里话")
        indexes = [models.Index(fields=["status", "region"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in StoryStatus]),
                name="story_status_known"),
            models.CheckConstraint(
                condition=~models.Q(status="published")
                | models.Q(consent_publish=True, published_at__isnull=False),
                name="story_published_only_with_consent"),
            models.CheckConstraint(
                condition=models.Q(show_name=False) | ~models.Q(display_name=""),
                name="story_named_has_name"),
        ]

    def __str__(self) -> str:
        return self.text[:30]


class StoryEvent(HistoryEntry):
    """Append-only history of a story: written, published, hidden, withdrawn."""

    subject_field = "story"

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="events")

    class Meta(HistoryEntry.Meta):
        pass
