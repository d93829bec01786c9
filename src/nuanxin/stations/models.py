from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from nuanxin.common.scoping import RegionScopedQuerySet


class StationType(models.TextChoices):
    CENTER = "center", _("党群服务中心")
    POST = "post", _("驿站")
    PARTNER_POINT = "partner_point", _("合作服务点")


class Station(models.Model):
    # common.scoping: staff manage the stations inside their region (through the region's
    # code, its primary key, the filter reads the station's own region_id: no join)
    region_path = "region"
    not_found = ("station_not_found", _("找不到这个服务阵地。"))

    name = models.CharField(_("名称"), max_length=80)
    type = models.CharField(_("类型"), max_length=20, choices=StationType.choices,
                            default=StationType.CENTER)
    region = models.ForeignKey("geo.Region", on_delete=models.PROTECT, verbose_name=_("所在区划"))
    org_unit = models.ForeignKey("accounts.OrgUnit", null=True, blank=True,
                                 on_delete=models.SET_NULL, verbose_name=_("主管单位"))
    partner = models.ForeignKey("accounts.Partner", null=True, blank=True,
                                on_delete=models.SET_NULL, verbose_name=_("合作单位"))
    address = models.CharField(_("地址"), max_length=200, blank=True)
    lat = models.FloatField(_("纬度 (WGS-84)"))
    lng = models.FloatField(_("经度 (WGS-84)"))
    h3_cell = models.CharField(max_length=16, db_index=True, editable=False)
    contact_name = models.CharField(_("联系人"), max_length=40, blank=True)
    contact_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    amenity_bits = models.BigIntegerField(_("设施"), default=0)
    night_light = models.BooleanField(_("夜间亮灯"), default=False)
    is_active = models.BooleanField(_("启用"), default=True)
    is_demo = models.BooleanField(_("演示数据"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("服务阵地")
        verbose_name_plural = _("服务阵地")
        constraints = [
            models.CheckConstraint(condition=models.Q(lat__gte=-90, lat__lte=90)
                                   & models.Q(lng__gte=-180, lng__lte=180),
                                   name="station_coordinates_valid"),
            models.CheckConstraint(condition=models.Q(amenity_bits__gte=0),
                                   name="station_amenity_bits_nonnegative"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def amenities(self) -> list[str]:
        from nuanxin.stations.amenities import codes_for

        return codes_for(self.amenity_bits)


class StationPhoto(models.Model):
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(upload_to="stations/")
    caption = models.CharField(max_length=80, blank=True)

    def __str__(self) -> str:
        return self.caption or self.image.name


MINUTES_PER_DAY = 24 * 60


class OpeningSpan(models.Model):
    """One opening span on a weekday, in minutes after local midnight.

    `closes` ≤ `opens` means the span runs past midnight into the next day; (0, 1440) is
    round the clock.
    """

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="spans")
    weekday = models.PositiveSmallIntegerField(_("星期"))  # 0 = Monday
    opens = models.PositiveSmallIntegerField(_("开门"))
    closes = models.PositiveSmallIntegerField(_("关门"))

    class Meta:
        ordering = ["weekday", "opens"]
        constraints = [
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="span_weekday_range"),
            models.CheckConstraint(condition=models.Q(opens__lt=MINUTES_PER_DAY),
                                   name="span_opens_range"),
            models.CheckConstraint(
                condition=models.Q(closes__gte=1, closes__lte=MINUTES_PER_DAY),
                name="span_closes_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weekday}: {self.opens}-{self.closes}"


class HolidayCampaign(models.Model):
    """A dated campaign (e.g. 春节"不打烊") that keeps chosen stations open with set hours."""

    region_path = "region"
    not_found = ("campaign_not_found", _("找不到这个节假日活动。"))

    name = models.CharField(_("名称"), max_length=60)
    region = models.ForeignKey("geo.Region", on_delete=models.PROTECT, verbose_name=_("发起区划"))
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    opens = models.PositiveSmallIntegerField(_("开门"), default=0)
    closes = models.PositiveSmallIntegerField(_("关门"), default=MINUTES_PER_DAY)
    stations = models.ManyToManyField(Station, related_name="campaigns", blank=True)

    objects = RegionScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("节假日不打烊")
        verbose_name_plural = _("节假日不打烊")
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")),
                                   name="campaign_dates_ordered"),
        ]

    def __str__(self) -> str:
        return self.name


class ScheduleException(models.Model):
    """A dated change for one station: closed that day, or open with other hours."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField(_("日期"))
    closed = models.BooleanField(_("全天关闭"), default=False)
    opens = models.PositiveSmallIntegerField(_("开门"), null=True, blank=True)
    closes = models.PositiveSmallIntegerField(_("关门"), null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=80, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closed=True, opens__isnull=True, closes__isnull=True)
                | models.Q(closed=False, opens__isnull=False, closes__isnull=False,
                           opens__lt=MINUTES_PER_DAY, closes__gte=1,
                           closes__lte=MINUTES_PER_DAY),
                name="exception_closed_or_hours",
            ),
            models.UniqueConstraint(fields=["station", "date", "opens"],
                                    name="exception_unique_span"),
        ]

    def __str__(self) -> str:
        return f"{self.date}: {'closed' if self.closed else f'{self.opens}-{self.closes}'}"


class CheckIn(models.Model):
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="checkins")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="checkins")
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["station", "at"]),
            models.Index(fields=["worker", "station", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.station_id} @ {self.at:%Y-%m-%d %H:%M}"


class StationIndexVersion(models.Model):
    """The version of the station data the nearby index holds: bumped by one, under this
    row's lock, in the same transaction as every station write, so versions commit in
    order. The high 32 bits are an epoch drawn when the row is created: a database that
    was emptied and started again never repeats a version a process has seen."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return str(self.version)


class StationChange(models.Model):
    """Which stations a version changed: one row per station for a few; for many (an
    import, a campaign over thousands of stations) one row listing them all in
    `station_pks`, which each process applies in the background; neither: stations
    unknown, each process rebuilds its index in the background. A row naming a campaign
    (`campaign_pk`) says that only that campaign's part of the listed stations' hours
    changed: processes apply it from the campaign's own row and members, without reading
    the stations. Every version has at least one row; old rows are pruned (a process that
    far behind rebuilds)."""

    seq = models.BigIntegerField(db_index=True)
    station_pk = models.BigIntegerField(null=True)
    station_pks = models.TextField(blank=True, default="")  # "12,15,…" when many
    campaign_pk = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        if self.campaign_pk is not None:
            return f"{self.seq}: campaign {self.campaign_pk}"
        return f"{self.seq}: {self.station_pk or 'all'}"
