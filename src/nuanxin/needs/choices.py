"""The needs list's vocabulary: what other apps may name (categories, sources, statuses)
without reaching into needs' tables."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NeedCategory(models.TextChoices):
    CHARGING = "charging", _("充电")
    REST_SPACE = "rest_space", _("歇脚场所")
    CHILDCARE = "childcare", _("子女照看")
    SKILLS = "skills", _("技能提升")
    LEGAL = "legal", _("法律维权")
    HEALTH = "health", _("健康")
    HOUSING = "housing", _("住房")
    TRAFFIC_PARKING = "traffic_parking", _("交通停车")
    PLATFORM_RULES = "platform_rules", _("平台规则")
    OTHER = "other", _("其他")


class NeedSource(models.TextChoices):
    VISIT = "visit", _("走访")
    SURVEY = "survey", _("问卷")
    ROUNDTABLE = "roundtable", _("圆桌会")
    WALK_IN = "walk_in", _("到站反映")
    ONLINE = "online", _("线上提交")
    REPORT = "report", _("随手报")


class NeedStatus(models.TextChoices):
    SUBMITTED = "submitted", _("已提交")
    ACCEPTED = "accepted", _("已受理")
    DECLINED = "declined", _("不予受理")
    IN_PROJECT = "in_project", _("项目推进中")
    RESOLVED = "resolved", _("已解决")
    NOT_FEASIBLE = "not_feasible", _("暂无法解决")
    MERGED = "merged", _("已合并")


OPEN_STATUSES = (NeedStatus.SUBMITTED, NeedStatus.ACCEPTED, NeedStatus.IN_PROJECT)
CLOSED_STATUSES = (NeedStatus.DECLINED, NeedStatus.RESOLVED, NeedStatus.NOT_FEASIBLE,
                   NeedStatus.MERGED)


# Needs about one person's own troubles (wages owed, illness): never listed to other workers
# for "me too", and not joined by id either; staff merge them when they are duplicates.
PRIVATE_CATEGORIES = (NeedCategory.LEGAL, NeedCategory.HEALTH)


class Urgency(models.IntegerChoices):
    LOW = 1, _("一般")
    NORMAL = 2, _("较急")
    HIGH = 3, _("紧急")
