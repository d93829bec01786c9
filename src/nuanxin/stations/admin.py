from django.contrib import admin

from nuanxin.stations.models import (
    HolidayCampaign,
    OpeningSpan,
    ScheduleException,
    Station,
    StationPhoto,
)


class OpeningSpanInline(admin.TabularInline):
    model = OpeningSpan
    extra = 0
    can_delete = False


class PhotoInline(admin.TabularInline):
    model = StationPhoto
    extra = 0


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    """Read-only: station writes go through the console (services keep the index fresh)."""

    list_display = ["name", "type", "region", "is_active", "night_light"]
    list_filter = ["type", "is_active", "night_light", "is_demo"]
    search_fields = ["name", "address", "region__code"]
    raw_id_fields = ["region", "org_unit", "partner"]
    readonly_fields = ["h3_cell", "updated_at"]
    inlines = [OpeningSpanInline, PhotoInline]

    # Changes go through the console's services (validation, scope, audit, nearby index).
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(HolidayCampaign)
class HolidayCampaignAdmin(ReadOnlyAdmin):
    list_display = ["name", "region", "starts_on", "ends_on"]


@admin.register(ScheduleException)
class ScheduleExceptionAdmin(ReadOnlyAdmin):
    list_display = ["station", "date", "closed", "opens", "closes", "reason"]
