from django.db import models
from django.utils.translation import gettext_lazy as _

from nuanxin.common.scoping import RegionScopedQuerySet


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    DISTRICT = "district", _("区县")
    STREET = "street", _("街道/乡镇")
    COMMUNITY = "community", _("社区/村")


# How many leading digits of a code identify a region and everything below it.
# GB/T 2260 gives 6 digits down to the district; streets add 3 and communities 3 more.
PREFIX_LENGTH = {
    RegionLevel.PROVINCE: 2,
    RegionLevel.CITY: 4,
    RegionLevel.DISTRICT: 6,
    RegionLevel.STREET: 9,
    RegionLevel.COMMUNITY: 12,
}


class Region(models.Model):
    """One node of the administrative tree; its code's prefix names its whole subtree."""

    # common.scoping: a region is its own region, so `Region.objects.in_region(prefix)` is a
    # subtree and `visible_to(user)` the regions a staff member may pick.
    region_path = ""
    not_found = ("region_not_found", _("没有这个行政区划代码。"))

    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.CharField(_("级别"), max_length=12, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    prefix = models.CharField(max_length=12, db_index=True, editable=False)
    is_demo = models.BooleanField(_("演示数据"), default=False)
    center_lat = models.FloatField(null=True, blank=True)
    center_lng = models.FloatField(null=True, blank=True)
    boundary = models.JSONField(_("边界 GeoJSON"), null=True, blank=True)

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    level__in=["province", "city", "district", "street", "community"]
                ),
                name="region_level_known",
            ),
            models.CheckConstraint(
                condition=models.Q(level="province") | models.Q(parent__isnull=False),
                name="region_parent_required_below_province",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.prefix = region_prefix(self.code, self.level)
        super().save(*args, **kwargs)


def region_prefix(code: str, level: str) -> str:
    return code[: PREFIX_LENGTH[RegionLevel(level)]]
