"""Work orders: the only way a battery leaves service or comes back, and a slot is inspected.

  to_maintenance     a battery (from its slot, or the depot) → the depot, status maintenance
  retire             a battery (from its slot, or the depot) → the depot, status retired
  return_to_service  a battery in maintenance (or quarantined) → the depot's stock; one
                     quarantined in a slot goes back to charging where it is
  inspect_slot       someone looked at the slot: its alarms are resolved and it is unlocked

Every move goes through `custody.battery_move` with the work order on the ledger entry, in
one transaction under the cabinet's lock (or the battery's, for one at the depot).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.services import audit
from nuanxin.common.errors import NotFound, ServiceError, lazy_format
from nuanxin.energy import locking
from nuanxin.energy.models import (
    OPEN_SWAP_STATES,
    Alarm,
    Battery,
    BatteryStatus,
    Place,
    Slot,
    Swap,
    WorkOrder,
    WorkOrderKind,
    WorkOrderState,
)
from nuanxin.energy.selectors import console as scope
from nuanxin.energy.services import custody
from nuanxin.energy.services.workflows import (
    ALARM_WORKFLOW,
    WORK_ORDER_WORKFLOW,
    still_reported,
)

W = WorkOrderKind
S = BatteryStatus

# kind: (battery statuses it may start from, status it ends in, ledger action)
BATTERY_KINDS: dict[str, tuple[frozenset[str], str, str]] = {
    W.TO_MAINTENANCE: (frozenset({S.FULL, S.CHARGING, S.QUARANTINED, S.STOCK}), S.MAINTENANCE,
                       "energy.battery.to_maintenance"),
    W.RETIRE: (frozenset({S.FULL, S.CHARGING, S.QUARANTINED, S.STOCK, S.MAINTENANCE}), S.RETIRED,
               "energy.battery.retired"),
    W.RETURN_TO_SERVICE: (frozenset({S.MAINTENANCE, S.QUARANTINED}), S.STOCK,
                          "energy.battery.returned_to_service"),
}


def work_order_open(*, user, kind: str, battery_id: int | None = None,
                    cabinet_id: int | None = None, slot_id: int | None = None,
                    alarm_id: int | None = None, note: str = "") -> WorkOrder:
    """Open a work order; from an alarm, its cabinet, slot and battery are taken over."""
    if kind not in W.values:
        raise ServiceError("bad_kind", _("未知的工单类型。"))
    note = (note or "").strip()[:200]
    alarm = battery = slot = cabinet = None
    if alarm_id:
        alarm = (Alarm.objects.filter(pk=alarm_id, cabinet__in=scope.cabinets_visible_to(user))
                 .select_related("cabinet", "slot", "battery").first())
        if alarm is None:
            raise NotFound("alarm_not_found", _("找不到这条告警。"))
        cabinet, slot = alarm.cabinet, alarm.slot
        battery_id = battery_id or alarm.battery_id
    if battery_id:
        battery = scope.battery_for(user, battery_id)
        if battery.slot_id is not None:
            slot = battery.slot
            cabinet = battery.slot.cabinet
    if slot_id and slot is None:
        slot = (Slot.objects.filter(pk=slot_id, cabinet__in=scope.cabinets_visible_to(user))
                .select_related("cabinet").first())
        if slot is None:
            raise NotFound("slot_not_found", _("找不到这个仓位。"))
        cabinet = slot.cabinet
    if cabinet_id and cabinet is None:
        cabinet = scope.cabinet_for(user, cabinet_id)
    if kind in BATTERY_KINDS:
        if battery is None:
            raise ServiceError("battery_required", _("请选择电池。"))
        allowed, _to, _action = BATTERY_KINDS[kind]
        if battery.status not in allowed:
            raise ServiceError("battery_status",
                               lazy_format(_("这块电池当前状态为“%(status)s”，不能开这类工单。"),
                                           status=BatteryStatus(battery.status).label),
                               status=409)
    elif slot is None:
        raise ServiceError("slot_required", _("请选择仓位。"))
    operator_id = battery.operator_id if battery is not None else cabinet.operator_id
    with transaction.atomic():
        # Cabinet first, then the battery (the locking order everywhere): whichever way the
        # order is opened, two requests for one battery queue on the same row.
        if cabinet is not None:
            locking.lock_cabinet(cabinet.pk)
        if battery is not None:
            locking.lock_battery(battery.pk)
        duplicate = WorkOrder.objects.filter(kind=kind, state=WorkOrderState.OPEN)
        duplicate = (duplicate.filter(battery=battery) if kind in BATTERY_KINDS
                     else duplicate.filter(slot=slot))
        if duplicate.exists():
            raise ServiceError("work_order_exists", _("已有一张同类工单尚未完成。"), status=409)
        order = WorkOrder.objects.create(kind=kind, operator_id=operator_id, battery=battery,
                                         cabinet=cabinet, slot=slot, alarm=alarm, note=note,
                                         created_by=user)
        WORK_ORDER_WORKFLOW.record(order, "energy.work_order.opened", actor=user,
                                   to_state=order.state, reason=note)
        return order


def work_order_cancel(*, user, work_order_id: int) -> WorkOrder:
    with transaction.atomic():
        order = scope.work_order_for(user, work_order_id)
        order = WorkOrder.objects.select_for_update(of=("self",)).get(pk=order.pk)
        WORK_ORDER_WORKFLOW.apply(order, "cancel", actor=user)
        return order


def work_order_complete(*, user, work_order_id: int) -> WorkOrder:
    order = scope.work_order_for(user, work_order_id)
    with transaction.atomic():
        battery = None
        if order.battery_id is not None:
            # Lock where the battery is now (it may have moved since the order was opened).
            where = Battery.objects.filter(pk=order.battery_id).values("slot__cabinet_id").first()
            if where and where["slot__cabinet_id"]:
                locking.lock_cabinet(where["slot__cabinet_id"])
            else:
                locking.lock_battery(order.battery_id)
            battery = Battery.objects.select_related("slot").get(pk=order.battery_id)
        elif order.cabinet_id is not None:
            locking.lock_cabinet(order.cabinet_id)
        order = WorkOrder.objects.select_for_update(of=("self",)).get(pk=order.pk)
        WORK_ORDER_WORKFLOW.check(order, "complete")
        now = timezone.now()
        if order.kind in BATTERY_KINDS:
            allowed, to_status, action = BATTERY_KINDS[order.kind]
            if battery.status not in allowed:
                raise ServiceError("battery_status",
                                   lazy_format(_("这块电池当前状态为“%(status)s”，无法完成工单。"),
                                               status=BatteryStatus(battery.status).label),
                                   status=409)
            if Swap.objects.filter(state__in=OPEN_SWAP_STATES,
                                   battery_released=battery).exists():
                raise ServiceError("battery_in_swap",
                                   _("这块电池正被一次换电占用，请稍后再试。"), status=409)
            if (order.kind == W.RETURN_TO_SERVICE and battery.slot_id is not None):
                # Quarantined where it stands: it charges back to full in its slot.
                custody.battery_move(battery=battery, to_place=Place.SLOT, to_slot=battery.slot,
                                     to_status=S.CHARGING, action=action, work_order=order,
                                     actor=user, at=now)
            else:
                custody.battery_move(battery=battery, to_place=Place.DEPOT, to_status=to_status,
                                     action=action, work_order=order, actor=user, at=now)
        else:
            _inspect_done(order=order, user=user, now=now)
        WORK_ORDER_WORKFLOW.apply(order, "complete", actor=user, at=now)
        return order


def _inspect_done(*, order: WorkOrder, user, now) -> None:
    """The inspection was the resolution: the slot's open alarms are closed with a note
    naming this order, and the slot opens again unless something else still holds it."""
    slot = Slot.objects.get(pk=order.slot_id)
    note = gettext("现场检查工单 #%(n)s 已完成") % {"n": order.pk}
    for alarm in Alarm.objects.filter(slot=slot, state__in=scope.UNRESOLVED):
        if still_reported(alarm):
            # The cabinet still reports danger there: a person resolves that one on its own.
            continue
        ALARM_WORKFLOW.apply(alarm, "resolve", actor=user, reason=note[:200], at=now,
                             data={"work_order": order.pk})
    still_open = Alarm.objects.filter(slot=slot, state__in=scope.UNRESOLVED).exists()
    if slot.locked and not still_open:
        slot.locked = False
        slot.save(update_fields=["locked", "updated_at"])
        audit(actor=user, action="energy.slot.unlocked", obj_type="energy.slot",
              obj_id=slot.pk, work_order=order.pk)
