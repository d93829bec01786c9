"""Django admin for superusers: look, do not edit — changes go through the console, whose
services keep the history and the needs list in step."""

from django.contrib import admin

from nuanxin.alliance.models import (
    Agreement,
    NeedRouting,
    Project,
    ProjectEvent,
    Resource,
    RoutingEvent,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Agreement)
class AgreementAdmin(ReadOnlyAdmin):
    list_display = ["title", "partner", "org_unit", "starts_on", "ends_on"]
    search_fields = ["title", "partner__name"]


@admin.register(Resource)
class ResourceAdmin(ReadOnlyAdmin):
    list_display = ["title", "partner", "category", "region", "capacity", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["title", "partner__name"]


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ["title", "owner", "status", "progress", "cost_fen", "created_at"]
    list_filter = ["status"]
    search_fields = ["title"]


@admin.register(ProjectEvent)
class ProjectEventAdmin(ReadOnlyAdmin):
    list_display = ["project", "action", "from_state", "to_state", "actor", "at"]


@admin.register(NeedRouting)
class NeedRoutingAdmin(ReadOnlyAdmin):
    list_display = ["need_id", "partner", "status", "routed_at", "answered_at"]
    list_filter = ["status"]


@admin.register(RoutingEvent)
class RoutingEventAdmin(ReadOnlyAdmin):
    list_display = ["routing", "action", "from_state", "to_state", "actor", "at"]
