from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from nuanxin.accounts.models import (
    AuditLog,
    OrgUnit,
    Partner,
    PartnerMember,
    StaffProfile,
    User,
    WorkerProfile,
)
from nuanxin.accounts.services import audit


@admin.register(User)
class NuanxinUserAdmin(UserAdmin):
    list_display = ["username", "masked_phone", "kind", "display_name", "is_active"]
    list_filter = ["kind", "is_active", "is_superuser"]
    search_fields = ["username", "display_name"]
    fieldsets = [
        *UserAdmin.fieldsets,
        ("暖新", {"fields": ["kind", "phone", "display_name", "totp_confirmed_at"]}),
    ]
    readonly_fields = ["totp_confirmed_at"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The change form shows the full phone number: record who looked.
        audit(actor=request.user, action="accounts.phone.viewed_in_admin", obj_type="user",
              obj_id=object_id, ip=request.META.get("REMOTE_ADDR"))
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ["name", "region"]
    search_fields = ["name", "region__code", "region__name"]
    raw_id_fields = ["region"]


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "org_unit"]
    list_filter = ["role"]
    raw_id_fields = ["user", "org_unit"]


@admin.register(WorkerProfile)
class WorkerProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "occupation", "home_region", "consent_version"]
    list_filter = ["occupation"]
    raw_id_fields = ["user", "home_region"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "region"]
    list_filter = ["kind"]
    raw_id_fields = ["region"]


admin.site.register(PartnerMember, raw_id_fields=["user", "partner"])


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "ip"]
    list_filter = ["action"]
    search_fields = ["object_id", "action"]

    # The audit trail is append-only, also for superusers.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
