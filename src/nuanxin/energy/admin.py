"""Superusers' view of the energy app: read-only, because every write that matters goes
through a service (the custody ledger, the cabinet lock, the MQTT commands)."""

from django.contrib import admin

from nuanxin.energy.models import (
    Alarm,
    AlarmEvent,
    Battery,
    BatteryModel,
    Cabinet,
    CabinetCommand,
    CustodyEntry,
    IngestRejection,
    Operator,
    Plan,
    Slot,
    Subscription,
    SubscriptionEvent,
    Swap,
    SwapEvent,
    WorkOrder,
    WorkOrderEvent,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BatteryModel)
class BatteryModelAdmin(admin.ModelAdmin):
    # Reference data with no invariants beyond its row: superusers may edit it here.
    list_display = ["code", "name", "chemistry", "rated_voltage_v", "capacity_ah"]


@admin.register(Operator)
class OperatorAdmin(admin.ModelAdmin):
    list_display = ["__str__", "hotline"]
    raw_id_fields = ["partner"]


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "operator", "battery_model", "kind", "price_fen", "active"]
    list_filter = ["kind", "active"]


class SlotInline(admin.TabularInline):
    model = Slot
    extra = 0
    can_delete = False
    fields = ["number", "door_open", "enabled", "locked", "charging"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Cabinet)
class CabinetAdmin(ReadOnlyAdmin):
    list_display = ["serial", "name", "operator", "group", "online", "enabled", "safety_locked",
                    "last_heartbeat_at"]
    list_filter = ["online", "enabled", "safety_locked", "is_demo"]
    search_fields = ["serial", "name", "group", "address"]
    inlines = [SlotInline]


@admin.register(Battery)
class BatteryAdmin(ReadOnlyAdmin):
    list_display = ["serial", "model", "operator", "status", "soc_pct", "soh_pct", "cycle_count"]
    list_filter = ["status", "model"]
    search_fields = ["serial"]


@admin.register(Swap)
class SwapAdmin(ReadOnlyAdmin):
    list_display = ["pk", "cabinet", "state", "created_at", "finished_at", "failure_code"]
    list_filter = ["state"]
    search_fields = ["cabinet__serial"]


@admin.register(SwapEvent)
class SwapEventAdmin(ReadOnlyAdmin):
    list_display = ["swap", "at", "action", "from_state", "to_state"]
    search_fields = ["action"]


@admin.register(AlarmEvent, WorkOrderEvent, SubscriptionEvent)
class HistoryAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "at", "action", "from_state", "to_state", "actor"]
    search_fields = ["action"]


@admin.register(CustodyEntry)
class CustodyEntryAdmin(ReadOnlyAdmin):
    list_display = ["battery", "at", "action", "from_place", "to_place", "to_status", "swap",
                    "work_order"]
    search_fields = ["battery__serial", "action"]


@admin.register(Alarm)
class AlarmAdmin(ReadOnlyAdmin):
    list_display = ["kind", "cabinet", "slot", "battery", "state", "started_at", "cleared_at",
                    "resolved_at"]
    list_filter = ["kind", "state"]


@admin.register(WorkOrder)
class WorkOrderAdmin(ReadOnlyAdmin):
    list_display = ["pk", "kind", "state", "operator", "battery", "cabinet", "created_at",
                    "done_at"]
    list_filter = ["kind", "state"]


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["rider", "plan", "status", "starts_at", "paid_until"]
    list_filter = ["status"]


@admin.register(CabinetCommand)
class CabinetCommandAdmin(ReadOnlyAdmin):
    list_display = ["command", "cabinet", "created_at", "sent_at", "acked_at", "result"]
    list_filter = ["command", "result"]


@admin.register(IngestRejection)
class IngestRejectionAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "reason", "serial", "topic"]
    list_filter = ["reason"]
