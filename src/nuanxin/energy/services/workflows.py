"""Energy's four state machines, each a table in one place (common.workflow): the swap, the
alarm, the work order and the rider's plan. The services that move them (swaps, safety,
work orders, plans) lock the row, then `apply`; anything the table does not allow is the one
409 `invalid_transition` with `state`, `action` and `allowed`.

The lowest domain layer but the row locks and models: every layer above may move a row
without importing the layer that usually owns it (the alarm ladder opens work orders, an
inspection resolves alarms).

    swap     (reserved) ─start─> opening_return ─opened─> returning ─closed with the rider's
             serial─> opening_release ─opened─> taking ─closed empty─> completed
             (a first pickup starts at opening_release; any active step can be suspended and
             resumed where it was, or fail; see services/swaps.py)
    alarm    open ─acknowledge─> acknowledged ─resolve─> resolved   (open ─resolve─> too)
    order    open ─complete─> done | open ─cancel─> cancelled
    plan     active ─cancel─> cancelled
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import ServiceError
from nuanxin.common.workflow import NEW, Change, Workflow, move
from nuanxin.energy.models import (
    FINISHED_SWAP_STATES,
    Alarm,
    AlarmEvent,
    AlarmKind,
    AlarmState,
    Battery,
    SubscriptionEvent,
    SubscriptionStatus,
    Swap,
    SwapEvent,
    SwapState,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderState,
)

__all__ = ["NEW", "ACTIVE_STEPS", "SWAP_WORKFLOW", "ALARM_WORKFLOW", "WORK_ORDER_WORKFLOW",
           "SUBSCRIPTION_WORKFLOW", "still_reported"]

S = SwapState
ACTIVE_STEPS = frozenset({S.OPENING_RETURN, S.RETURNING, S.OPENING_RELEASE, S.TAKING})


# --- the swap ------------------------------------------------------------------------------

def _back_to_where_it_was(swap: Swap) -> str:
    return swap.suspended_from


def _swap_changed(swap: Swap, change: Change) -> None:
    if change.to_state == S.SUSPENDED:
        swap.suspended_from = change.from_state
    elif change.action == "resume":
        swap.suspended_from = ""
    if change.to_state in FINISHED_SWAP_STATES:
        swap.finished_at = change.at
        swap.deadline = None


SWAP_WORKFLOW = Workflow(
    "energy.swap", states=SwapState, field="state", history=SwapEvent,
    refusal=_("这次换电现在是“%(state)s”，不能这样操作。"),
    transitions={
        "reserve": move({NEW}, S.RESERVED, "energy.swap.reserved"),
        "start": move({NEW, S.RESERVED}, S.OPENING_RETURN, "energy.swap.started"),
        "start_pickup": move({NEW, S.RESERVED}, S.OPENING_RELEASE, "energy.swap.started_pickup"),
        "return_door_opened": move({S.OPENING_RETURN}, S.RETURNING,
                                   "energy.swap.return_door_opened"),
        "return_slot_changed": move({S.OPENING_RETURN}, S.OPENING_RETURN,
                                    "energy.swap.return_slot_changed"),
        "return_door_reopened": move({S.RETURNING}, S.OPENING_RETURN,
                                     "energy.swap.return_door_reopened"),
        "battery_returned": move({S.RETURNING}, S.OPENING_RELEASE,
                                 "energy.swap.battery_returned"),
        "release_door_opened": move({S.OPENING_RELEASE}, S.TAKING,
                                    "energy.swap.release_door_opened"),
        "release_slot_changed": move({S.OPENING_RELEASE}, S.OPENING_RELEASE,
                                     "energy.swap.release_slot_changed"),
        "release_door_reopened": move({S.TAKING}, S.OPENING_RELEASE,
                                      "energy.swap.release_door_reopened"),
        "complete": move({S.TAKING}, S.COMPLETED, "energy.swap.completed"),
        "suspend": move(ACTIVE_STEPS, S.SUSPENDED, "energy.swap.suspended"),
        "resume": move({S.SUSPENDED}, _back_to_where_it_was, "energy.swap.resumed"),
        # Once the old battery is in, cancelling would leave the rider with nothing: the
        # rider takes the new one (or walks away, and the timeout explains).
        "cancel": move({S.RESERVED, S.OPENING_RETURN, S.RETURNING}, S.CANCELLED,
                       "energy.swap.cancelled"),
        "expire": move({S.RESERVED}, S.EXPIRED, "energy.swap.expired"),
        "fail": move(ACTIVE_STEPS | {S.SUSPENDED}, S.FAILED, "energy.swap.failed"),
    },
    on_change=_swap_changed,
    labels={
        "energy.swap.reserved": _("预约了电池"),
        "energy.swap.started": _("开始换电"),
        "energy.swap.started_pickup": _("开始取电"),
        "energy.swap.door_commanded": _("下发开门指令"),
        "energy.swap.door_command_resent": _("重发开门指令"),
        "energy.swap.command_acked": _("柜机确认了指令"),
        "energy.swap.return_door_opened": _("还电仓门已打开"),
        "energy.swap.return_slot_changed": _("改用另一个还电仓"),
        "energy.swap.return_door_reopened": _("还电仓门重新打开"),
        "energy.swap.battery_returned": _("旧电池已放回"),
        "energy.swap.release_door_opened": _("取电仓门已打开"),
        "energy.swap.release_slot_changed": _("改用另一个取电仓"),
        "energy.swap.release_door_reopened": _("取电仓门重新打开"),
        "energy.swap.battery_released": _("新电池已取走"),
        "energy.swap.completed": _("换电完成"),
        "energy.swap.suspended": _("暂停（柜机失联）"),
        "energy.swap.resumed": _("恢复"),
        "energy.swap.cancelled": _("已取消"),
        "energy.swap.expired": _("预约已过期"),
        "energy.swap.failed": _("换电失败"),
        "energy.swap.report_ignored": _("柜机报告与本次换电无关，未采用"),
    },
)


# --- the alarm -----------------------------------------------------------------------------

def still_reported(alarm: Alarm) -> bool:
    """A dangerous condition the cabinet has not yet reported over."""
    return bool(alarm.device_alarm_id and alarm.cleared_at is None
                and alarm.kind in (AlarmKind.SMOKE, AlarmKind.OVER_TEMPERATURE))


def _battery_gone(alarm: Alarm) -> bool:
    """The hot battery has been taken out of the cabinet (a work order moved it): what the
    cabinet may still report about it no longer describes anything inside, so a person
    may close the alarm (a faulty sensor must not keep it open for ever)."""
    if alarm.kind != AlarmKind.OVER_TEMPERATURE or alarm.battery_id is None:
        return False
    return not Battery.objects.filter(pk=alarm.battery_id,
                                      slot__cabinet_id=alarm.cabinet_id).exists()


def _cleared(alarm: Alarm, change: Change) -> None:
    if still_reported(alarm) and not _battery_gone(alarm):
        raise ServiceError("alarm_not_cleared",
                           _("柜机仍在报告这一告警，消除后才能标记为已解决。"), status=409)


def _alarm_changed(alarm: Alarm, change: Change) -> None:
    if alarm.acknowledged_at is None:
        # Resolving is also seeing it: the record shows who first took it on.
        alarm.acknowledged_by, alarm.acknowledged_at = change.actor, change.at
    if change.to_state == AlarmState.RESOLVED:
        alarm.resolved_by, alarm.resolved_at = change.actor, change.at
        alarm.resolution_note = change.reason[:200]


ALARM_WORKFLOW = Workflow(
    "energy.alarm", states=AlarmState, field="state", history=AlarmEvent,
    refusal=_("这条告警现在是“%(state)s”，不能这样操作。"),
    transitions={
        "acknowledge": move({AlarmState.OPEN}, AlarmState.ACKNOWLEDGED,
                            "energy.alarm.acknowledged"),
        "resolve": move({AlarmState.OPEN, AlarmState.ACKNOWLEDGED}, AlarmState.RESOLVED,
                        "energy.alarm.resolved", guard=_cleared),
    },
    on_change=_alarm_changed,
    labels={
        "energy.alarm.raised": _("柜机报警"),
        "energy.alarm.cleared": _("柜机报告已消除"),
        "energy.alarm.acknowledged": _("确认告警，由其跟进"),
        "energy.alarm.resolved": _("解决了告警"),
    },
)


# --- the work order ------------------------------------------------------------------------

def _order_closed(order: WorkOrder, change: Change) -> None:
    order.done_by, order.done_at = change.actor, change.at


WORK_ORDER_WORKFLOW = Workflow(
    "energy.work_order", states=WorkOrderState, field="state", history=WorkOrderEvent,
    refusal=_("这张工单现在是“%(state)s”，不能这样操作。"),
    transitions={
        "complete": move({WorkOrderState.OPEN}, WorkOrderState.DONE,
                         "energy.work_order.completed"),
        "cancel": move({WorkOrderState.OPEN}, WorkOrderState.CANCELLED,
                       "energy.work_order.cancelled"),
    },
    on_change=_order_closed,
    labels={
        "energy.work_order.opened": _("开工单"),
        "energy.work_order.completed": _("完成工单"),
        "energy.work_order.cancelled": _("取消工单"),
    },
)


# --- the rider's plan ----------------------------------------------------------------------
# "ended" has no move into it yet: a monthly plan past its paid month stays active until the
# rider renews or cancels it.

SUBSCRIPTION_WORKFLOW = Workflow(
    "energy.subscription", states=SubscriptionStatus, history=SubscriptionEvent,
    refusal=_("这个换电套餐现在是“%(state)s”，不能这样操作。"),
    transitions={
        "cancel": move({SubscriptionStatus.ACTIVE}, SubscriptionStatus.CANCELLED,
                       "energy.subscription.cancelled"),
    },
    labels={
        "energy.subscription.started": _("开通套餐"),
        "energy.subscription.renewed": _("续费"),
        "energy.subscription.cancelled": _("退订套餐"),
    },
)
