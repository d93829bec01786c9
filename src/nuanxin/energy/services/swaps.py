"""The swap: a rider's flat battery in, a full one out, through two cabinet doors.

The state machine is SWAP_WORKFLOW's table (services/workflows.py); every change goes
through `_transition`, which refuses anything the table does not allow (409
`invalid_transition`) and writes a SwapEvent. Every device report about a swap's slots is
recorded too, including the ones that change nothing (a duplicate, a late message, a report
that does not fit the current step): those are kept as `energy.swap.report_ignored` and
otherwise ignored, so replays are harmless.

    (reserved) ─start─> opening_return ─opened─> returning ─closed with the rider's serial─>
    opening_release ─opened─> taking ─closed empty─> completed (+ the per-swap charge)

A first pickup (the rider holds no battery) starts at opening_release. Any active step can
be suspended (cabinet offline) and resumed; any can fail, each failure with a code the rider
is told about (see FAILURE_MESSAGES). Custody moves only at the two door closings: rider →
slot on the return door closing with the right serial, slot → rider on the release door
closing empty; a swap that fails before the first leaves the rider's battery theirs, one that
fails between them leaves it in the slot and charges nothing.

Concurrency: every write takes `locking.lock_cabinet` first, then re-reads; the database's
partial unique constraints refuse a battery or slot promised to two open swaps whatever
happens, and such a refusal becomes a clear 409 "busy".
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import User, UserKind
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.energy import locking
from nuanxin.energy.models import (
    OPEN_SWAP_STATES,
    Battery,
    BatteryStatus,
    Cabinet,
    CabinetCommand,
    DeviceMessage,
    Place,
    Slot,
    Swap,
    SwapEvent,
    SwapState,
)
from nuanxin.energy.services import commands, custody, offer, plans, safety
from nuanxin.energy.services.workflows import ACTIVE_STEPS, NEW, SWAP_WORKFLOW

log = logging.getLogger("nuanxin.energy.swaps")

S = SwapState

# Step timeouts (seconds). Module attributes so a test can shorten them.
DOOR_OPEN_S = 15       # a commanded door must report opened
RETURN_S = 120         # the rider puts the old battery in and closes the door
TAKE_S = 60            # the rider takes the new battery and closes the door
SUSPEND_S = 30 * 60    # a swap waits this long for its offline cabinet
RESERVATION_S = 10 * 60
# After a reconnect, the cabinet first replays what it queued: give a door more time.
RESUME_DOOR_OPEN_S = 60
# A step's timeout waits for proof the cabinet has nothing older to say (see _may_time_out);
# a healthy cabinet heartbeats every 30 s, so a silent one is given up on after this.
HEARD_GRACE_S = 45

STEP_TIMEOUT_S = {S.OPENING_RETURN: DOOR_OPEN_S, S.RETURNING: RETURN_S,
                  S.OPENING_RELEASE: DOOR_OPEN_S, S.TAKING: TAKE_S}

# Failure codes, and what the rider is told. The text says where their battery is.
FAILURE_MESSAGES = {
    "door_jam": _("仓门故障，未能打开。本次不收费，请重新扫码换电。"),
    "wrong_battery": _("放入的不是您名下的电池，换电未完成。您名下的电池仍记在您名下，"
                       "本次不收费。"),
    "battery_unread": _("柜机无法识别您放入的电池，换电未完成，本次不收费。运维人员会尽快检查，"
                        "电池核实前仍记在您名下。"),
    "not_returned": _("超时未放入旧电池，换电已取消，电池仍在您手上，本次不收费。"),
    "nothing_returned": _("仓门关上时仓内没有电池，换电已取消。电池仍在您手上，本次不收费。"),
    "not_taken": _("超时未取走新电池。您的旧电池已存入柜中，本次不收费，"
                   "重新扫码即可取一块满电电池。"),
    "release_failed": _("满电仓门未能打开。您的旧电池已存入柜中，本次不收费，重新扫码即可取电，"
                        "或联系运营商。"),
    "cabinet_offline": _("柜机离线超过 30 分钟，换电未完成，本次不收费。运营商已收到通知。"),
}


def _now() -> datetime:
    return timezone.now()


def _due(at: datetime, seconds: float) -> datetime:
    """A step's deadline. The clock starts when the step is applied here, not when the
    cabinet's report was received: the rider's phone shows the step only from then on, and
    an ingester working through a backlog must not eat into the rider's time."""
    return max(at, _now()) + timedelta(seconds=seconds)


# --- history -------------------------------------------------------------------------------

def _record(swap: Swap, action: str, *, at: datetime, data: dict | None = None) -> SwapEvent:
    """A report or command that is not a move (door commanded, report ignored ...)."""
    return SWAP_WORKFLOW.record(swap, action, at=at, data=data)


def _transition(swap: Swap, action: str, *, at: datetime, data: dict | None = None,
                actor: User | None = None, deadline: datetime | None = None) -> SwapEvent:
    """A move of the table (services/workflows.py); every move sets the next step's deadline
    (none: the step waits for nothing)."""
    SWAP_WORKFLOW.check(swap, action)
    swap.deadline = deadline
    return SWAP_WORKFLOW.apply(swap, action, actor=actor, data=data, at=at)


def _open_door(swap: Swap, slot: Slot, *, at: datetime) -> CabinetCommand:
    payload = {"slot": slot.number, "swap": swap.pk}
    if swap.battery_returned_id is not None and slot.pk == swap.return_slot_id:
        payload["battery"] = swap.battery_returned.serial  # what the rider should put in
    command = commands.command_send(cabinet=swap.cabinet, kind="open_door", payload=payload,
                                    swap=swap)
    _record(swap, "energy.swap.door_commanded", at=at,
            data={"slot": slot.number, "cmd": command.msg_id})
    return command


def _alarm(swap: Swap, kind: str, *, slot: Slot | None, at: datetime, battery=None) -> None:
    if slot is not None:
        # Locked whatever the alarm ladder does: this slot must not be offered again.
        Slot.objects.filter(pk=slot.pk).update(locked=True)
    safety.alarm_raise(cabinet=swap.cabinet, kind=kind, at=at, slot=slot, battery=battery)


# --- starting ------------------------------------------------------------------------------

def _by_request_key(rider: User, request_key: str) -> Swap | None:
    if not request_key:
        return None
    return Swap.objects.filter(rider=rider, request_key=request_key).first()


def _check_rider(rider: User, request_key: str) -> None:
    if not getattr(rider, "is_authenticated", False) or rider.kind != UserKind.WORKER:
        raise PermissionDenied("workers_only", _("只有骑手可以换电。"))
    if len(request_key) > 64:
        raise ServiceError("bad_request_key", _("请求编号太长。"))


def _integrity_refusal(rider: User, request_key: str) -> Swap:
    existing = _by_request_key(rider, request_key)
    if existing is not None:
        return existing
    open_swap = Swap.objects.filter(rider=rider, state__in=OPEN_SWAP_STATES).first()
    if open_swap is not None:
        raise ServiceError("swap_open", _("您有一次换电还没有结束。"), status=409,
                           details={"swap_id": open_swap.pk})
    raise ServiceError("busy", _("换电柜正忙，请稍后再试。"), status=409)


def swap_start(*, rider: User, cabinet_token: str | None = None, cabinet_id: int | None = None,
               request_key: str = "") -> Swap:
    """Start a swap at a cabinet (scanned code or id): checks, reserves a slot and a battery,
    opens the first door. The same `request_key` again returns the same swap."""
    _check_rider(rider, request_key)
    existing = _by_request_key(rider, request_key)
    if existing is not None:
        return existing
    cabinet = offer.cabinet_for(cabinet_token, cabinet_id)
    def attempt() -> Swap:
        with transaction.atomic():
            return _start(rider=rider, cabinet=cabinet, request_key=request_key)

    try:
        return locking.retry_on_conflict(attempt)
    except IntegrityError:
        return _integrity_refusal(rider, request_key)


def _rider_open_swap(rider: User, cabinet: Cabinet) -> Swap | None:
    """The rider's reservation here (to take over), or a refusal for any other open swap."""
    current = Swap.objects.filter(rider=rider, state__in=OPEN_SWAP_STATES).first()
    if current is None:
        return None
    if current.state == S.RESERVED and current.cabinet_id == cabinet.pk:
        return current
    if current.state == S.RESERVED:
        raise ServiceError("reserved_elsewhere",
                           _("您在另一个换电柜有预约，请先取消预约。"), status=409,
                           details={"swap_id": current.pk})
    raise ServiceError("swap_open", _("您有一次换电还没有结束。"), status=409,
                       details={"swap_id": current.pk})


def _start(*, rider: User, cabinet: Cabinet, request_key: str) -> Swap:
    now = _now()
    offer.check_cabinet_usable(cabinet)
    plans.rider_lock(rider)
    eligibility = plans.swap_eligibility(rider=rider, cabinet=cabinet, at=now)
    cabinet = locking.lock_cabinet(cabinet.pk)
    # A double tap waited for the lock behind its twin: answer with the twin's swap.
    existing = _by_request_key(rider, request_key)
    if existing is not None:
        return existing
    offer.check_cabinet_usable(cabinet)
    swap = _rider_open_swap(rider, cabinet)
    held = eligibility.held
    model_id = eligibility.subscription.plan.battery_model_id
    battery = None
    if swap is not None and swap.battery_released_id is not None:
        # The reservation's battery, if it is still one we could hand out.
        battery = (offer.offerable_batteries(model_id=model_id).filter(pk=swap.battery_released_id)
                   .select_related("slot").first()
                   or _offerable_reserved(swap, model_id))
    if battery is None:
        battery = offer.pick_battery(cabinet, model_id)
    if battery is None:
        raise ServiceError("no_battery", _("这个换电柜暂时没有可换的满电电池，请换一个柜子。"),
                           status=409)
    return_slot = None
    if held is not None and swap is not None and swap.return_slot_id is not None:
        # The reservation's empty slot, while it is still one we could use.
        return_slot = offer.usable_empty_slot(swap.return_slot_id, exclude=battery.slot_id)
    if held is not None and return_slot is None:
        return_slot = offer.pick_empty_slot(cabinet, exclude_slot_ids={battery.slot_id})
        if return_slot is None:
            raise ServiceError("no_empty_slot", _("这个换电柜暂时没有空仓位，请换一个柜子。"),
                               status=409)
    if swap is None:
        swap = Swap(rider=rider, cabinet=cabinet, subscription=eligibility.subscription,
                    state=NEW)
    swap.cabinet = cabinet
    swap.subscription = eligibility.subscription
    swap.battery_released, swap.release_slot = battery, battery.slot
    swap.battery_returned, swap.return_slot = held, return_slot
    if request_key:
        swap.request_key = request_key
    data = {"cabinet": cabinet.serial, "battery_released": battery.serial,
            "release_slot": battery.slot.number}
    if held is not None:
        data.update(battery_returned=held.serial, return_slot=return_slot.number)
        _transition(swap, "start", at=now, actor=rider, data=data,
                    deadline=now + timedelta(seconds=DOOR_OPEN_S))
        _open_door(swap, return_slot, at=now)
    else:
        _transition(swap, "start_pickup", at=now, actor=rider, data=data,
                    deadline=now + timedelta(seconds=DOOR_OPEN_S))
        _open_door(swap, battery.slot, at=now)
    return swap


def _offerable_reserved(swap: Swap, model_id: int) -> Battery | None:
    """The reserved battery, counted as offerable although its own reservation promises it."""
    b = Battery.objects.select_related("slot", "slot__cabinet").filter(
        pk=swap.battery_released_id, slot__cabinet_id=swap.cabinet_id, model_id=model_id,
        status__in=(BatteryStatus.FULL, BatteryStatus.CHARGING), slot__enabled=True,
        slot__locked=False, slot__door_command__isnull=True).first()
    if b is None or b.soc_pct < b.slot.cabinet.full_threshold_pct:
        return None
    return b


def swap_reserve(*, rider: User, cabinet_id: int, request_key: str = "") -> Swap:
    """Hold one full battery at a cabinet for RESERVATION_S (10 minutes) for a rider on the way."""
    _check_rider(rider, request_key)
    existing = _by_request_key(rider, request_key)
    if existing is not None:
        return existing
    cabinet = offer.cabinet_for(None, cabinet_id)
    try:
        return locking.retry_on_conflict(lambda: _reserve(rider=rider, cabinet=cabinet,
                                                   request_key=request_key))
    except IntegrityError:
        return _integrity_refusal(rider, request_key)


def _reserve(*, rider: User, cabinet: Cabinet, request_key: str) -> Swap:
    with transaction.atomic():
        now = _now()
        offer.check_cabinet_usable(cabinet)
        plans.rider_lock(rider)
        eligibility = plans.swap_eligibility(rider=rider, cabinet=cabinet, at=now)
        cabinet = locking.lock_cabinet(cabinet.pk)
        existing = _by_request_key(rider, request_key)
        if existing is not None:
            return existing
        offer.check_cabinet_usable(cabinet)
        current = Swap.objects.filter(rider=rider, state__in=OPEN_SWAP_STATES).first()
        if current is not None:
            raise ServiceError("swap_open", _("您已有一次预约或换电还没有结束。"), status=409,
                               details={"swap_id": current.pk})
        battery = offer.pick_battery(cabinet, eligibility.subscription.plan.battery_model_id)
        if battery is None:
            raise ServiceError("no_battery", _("这个换电柜暂时没有可换的满电电池。"),
                               status=409)
        data = {"battery_released": battery.serial, "release_slot": battery.slot.number}
        # A rider who holds a battery needs somewhere to put it: the reservation holds an
        # empty slot too, or the cabinet could be full of others' flat batteries by arrival.
        return_slot = None
        if eligibility.held is not None:
            return_slot = offer.pick_empty_slot(cabinet, exclude_slot_ids={battery.slot_id})
            if return_slot is None:
                raise ServiceError("no_empty_slot",
                                   _("这个换电柜暂时没有空仓位，请换一个柜子。"), status=409)
            data["return_slot"] = return_slot.number
        swap = Swap(rider=rider, cabinet=cabinet, subscription=eligibility.subscription,
                    state=NEW, battery_released=battery, release_slot=battery.slot,
                    return_slot=return_slot, request_key=request_key)
        _transition(swap, "reserve", at=now, actor=rider,
                    deadline=now + timedelta(seconds=RESERVATION_S), data=data)
        return swap


def swap_cancel(*, rider: User, swap_id: int) -> Swap:
    """The rider gives up before their battery is in (a reservation, or at the first door)."""
    swap = Swap.objects.filter(pk=swap_id, rider=rider).first()
    if swap is None:
        raise NotFound("swap_not_found", _("找不到这次换电。"))

    def attempt() -> Swap:
        with transaction.atomic():
            locking.lock_cabinet(swap.cabinet_id)
            current = Swap.objects.select_related("cabinet").get(pk=swap.pk)
            if current.state in (S.OPENING_RELEASE, S.TAKING):
                raise ServiceError("swap_cancel_too_late",
                                   _("满电仓门已经打开，请取走新电池并关好仓门。"), status=409)
            if current.state == S.SUSPENDED:
                raise ServiceError(
                    "swap_cancel_suspended",
                    _("柜机离线中，恢复后会继续或自动结束这次换电，不会重复收费。"), status=409)
            _transition(current, "cancel", at=_now(), actor=rider)
            return current

    return locking.retry_on_conflict(attempt)


# --- device reports ----------------------------------------------------------------------

def _moves(swap: Swap, action: str):
    """This swap's history rows of one move of the table."""
    return swap.events.filter(action=SWAP_WORKFLOW.transitions[action].code)


def _reopen_reason(swap: Swap, action: str) -> str | None:
    """Why the door was reopened during this swap (None: it wasn't)."""
    event = _moves(swap, action).order_by("-id").first()
    return None if event is None else event.data.get("reason", "")


def _changed(swap: Swap, action: str) -> bool:
    return _moves(swap, action).exists()


def _fail(swap: Swap, code: str, *, at: datetime, data: dict | None = None) -> None:
    swap.failure_code = code
    _transition(swap, "fail", at=at, data={"failure": code, **(data or {})})


def _door_jammed(swap: Swap, *, at: datetime, data: dict) -> None:
    """The door we commanded did not open (jam, error ack or timeout): lock that slot, try one
    other slot, else fail. Whatever happens, nothing has changed hands yet at this door."""
    if swap.state == S.OPENING_RETURN:
        slot = swap.return_slot
        reason = _reopen_reason(swap, "return_door_reopened")
        _alarm(swap, "door_jam", slot=slot, at=at)
        if reason == "wrong_battery":
            _foreign_left(swap, at=at, data=data)
            return
        if reason == "unread":
            _unread_fail(swap, at=at, data=data)
            return
        if reason is None and not _changed(swap, "return_slot_changed"):
            other = offer.pick_empty_slot(swap.cabinet, exclude_slot_ids={slot.pk,
                                                                     swap.release_slot_id})
            if other is not None:
                swap.return_slot = other
                _transition(swap, "return_slot_changed", at=at,
                            data={**data, "from_slot": slot.number, "to_slot": other.number},
                            deadline=_due(at, DOOR_OPEN_S))
                _open_door(swap, other, at=at)
                return
        _fail(swap, "door_jam", at=at, data=data)
    elif swap.state == S.OPENING_RELEASE:
        slot = swap.release_slot
        _alarm(swap, "door_jam", slot=slot, at=at)
        if (_reopen_reason(swap, "release_door_reopened") is None
                and not _changed(swap, "release_slot_changed")):
            other = offer.pick_battery(swap.cabinet, swap.subscription.plan.battery_model_id,
                                  exclude_slot_ids={slot.pk})
            if other is not None:
                swap.battery_released, swap.release_slot = other, other.slot
                _transition(swap, "release_slot_changed", at=at,
                            data={**data, "from_slot": slot.number, "to_slot": other.slot.number,
                                  "battery_released": other.serial},
                            deadline=_due(at, DOOR_OPEN_S))
                _open_door(swap, other.slot, at=at)
                return
        _fail(swap, "release_failed" if swap.returned_at else "door_jam", at=at, data=data)


def _foreign_left(swap: Swap, *, at: datetime, data: dict) -> None:
    """A battery that is not the rider's stays in the return slot: the ledger says so (or, if
    it isn't ours at all, the slot is locked for inspection); the swap fails."""
    serial = _moves(swap, "return_door_reopened").order_by("-id") \
        .values_list("data", flat=True).first() or {}
    serial = serial.get("battery")
    slot = Slot.objects.get(pk=swap.return_slot_id)
    found = Battery.objects.filter(serial=serial).first() if serial else None
    if found is not None and found.slot_id != slot.pk:
        if Battery.objects.filter(slot=slot).exclude(pk=found.pk).exists():
            # The ledger has another battery there: the cabinet's next snapshot settles it.
            log.warning("swap %s: slot %s not empty, leaving %s to reconcile", swap.pk,
                        slot, serial)
        else:
            custody.battery_move(battery=found, to_place=Place.SLOT, to_slot=slot,
                                 to_status=custody._in_slot_status(found, swap.cabinet),
                                 action=custody.ACTION_FOUND, swap=swap, at=at)
    elif found is None and serial:
        _alarm(swap, "foreign_battery", slot=slot, at=at)
    _fail(swap, "wrong_battery", at=at, data={**data, "foreign_battery": serial})


def _unread_fail(swap: Swap, *, at: datetime, data: dict) -> None:
    """Twice unreadable: the slot is locked with an alarm and an inspection work order (the
    alarm ladder opens it); the battery stays the rider's in the ledger until inspected."""
    slot = Slot.objects.get(pk=swap.return_slot_id)
    _alarm(swap, "battery_unread", slot=slot, at=at)
    _fail(swap, "battery_unread", at=at, data=data)


def _on_return_closed(swap: Swap, *, at: datetime, data: dict) -> None:
    serial, unread = data.get("battery"), data.get("unread", False)
    expected = swap.battery_returned
    reason = _reopen_reason(swap, "return_door_reopened")
    if not unread and serial and expected is not None and serial == expected.serial:
        custody.battery_move(battery=expected, to_place=Place.SLOT, to_slot=swap.return_slot,
                             to_status=BatteryStatus.CHARGING,
                             action="energy.swap.battery_returned", swap=swap, at=at)
        swap.returned_at = at
        _transition(swap, "battery_returned", at=at, data=data,
                    deadline=_due(at, DOOR_OPEN_S))
        _open_door(swap, swap.release_slot, at=at)
        return
    if unread:
        if reason is None:
            _transition(swap, "return_door_reopened", at=at, data={**data, "reason": "unread"},
                        deadline=_due(at, DOOR_OPEN_S))
            _open_door(swap, swap.return_slot, at=at)
        else:
            _unread_fail(swap, at=at, data=data)
        return
    if serial:
        # Not the rider's battery: open the door again to hand it back, once.
        if reason is None:
            _transition(swap, "return_door_reopened", at=at,
                        data={**data, "reason": "wrong_battery"},
                        deadline=_due(at, DOOR_OPEN_S))
            _open_door(swap, swap.return_slot, at=at)
        else:
            _foreign_left_serial(swap, serial, at=at, data=data)
        return
    # Closed empty.
    if reason == "wrong_battery":
        # The rider took the wrong battery back: nothing changed hands.
        _fail(swap, "wrong_battery", at=at, data=data)
    elif reason is None:
        _transition(swap, "return_door_reopened", at=at, data={**data, "reason": "empty"},
                    deadline=_due(at, DOOR_OPEN_S))
        _open_door(swap, swap.return_slot, at=at)
    else:
        _fail(swap, "nothing_returned", at=at, data=data)


def _foreign_left_serial(swap: Swap, serial: str, *, at: datetime, data: dict) -> None:
    slot = Slot.objects.get(pk=swap.return_slot_id)
    found = Battery.objects.filter(serial=serial).first()
    if found is None:
        _alarm(swap, "foreign_battery", slot=slot, at=at)
    elif found.slot_id != slot.pk and not Battery.objects.filter(slot=slot).exists():
        custody.battery_move(battery=found, to_place=Place.SLOT, to_slot=slot,
                             to_status=custody._in_slot_status(found, swap.cabinet),
                             action=custody.ACTION_FOUND, swap=swap, at=at)
    _fail(swap, "wrong_battery", at=at, data={**data, "foreign_battery": serial})


def _on_release_closed(swap: Swap, *, at: datetime, data: dict) -> None:
    serial, unread = data.get("battery"), data.get("unread", False)
    released = swap.battery_released
    if unread or serial == released.serial:
        # The door closed with the new battery still inside: open it once more.
        if _reopen_reason(swap, "release_door_reopened") is None:
            _transition(swap, "release_door_reopened", at=at, data={**data, "reason": "not_taken"},
                        deadline=_due(at, DOOR_OPEN_S))
            _open_door(swap, swap.release_slot, at=at)
        else:
            _fail(swap, "not_taken", at=at, data=data)
        return
    custody.battery_move(battery=released, to_place=Place.RIDER, to_rider=swap.rider,
                         to_status=BatteryStatus.WITH_RIDER,
                         action="energy.swap.battery_released", swap=swap, at=at)
    _transition(swap, "complete", at=at, data=data)
    plans.swap_charge(swap=swap)
    if serial:
        # Something else was put in as the new battery came out: the ledger must say so.
        custody.slot_reconcile(cabinet=swap.cabinet, slot_number=swap.release_slot.number,
                               battery_serial=serial, unread=False, at=at,
                               source=f"swap {swap.pk}")


_HANDLERS = {
    # (state, which door, event): handler(swap, at=, data=)
    (S.OPENING_RETURN, "return", "opened"): lambda swap, at, data: _transition(
        swap, "return_door_opened", at=at, data=data,
        deadline=_due(at, RETURN_S)),
    (S.OPENING_RETURN, "return", "jammed"): lambda swap, at, data: _door_jammed(
        swap, at=at, data=data),
    (S.RETURNING, "return", "closed"): lambda swap, at, data: _on_return_closed(
        swap, at=at, data=data),
    (S.OPENING_RELEASE, "release", "opened"): lambda swap, at, data: _transition(
        swap, "release_door_opened", at=at, data=data,
        deadline=_due(at, TAKE_S)),
    (S.OPENING_RELEASE, "release", "jammed"): lambda swap, at, data: _door_jammed(
        swap, at=at, data=data),
    (S.TAKING, "release", "closed"): lambda swap, at, data: _on_release_closed(
        swap, at=at, data=data),
}


def _swap_for_slot(cabinet: Cabinet, slot_number: int) -> Swap | None:
    """The open swap (past its reservation) whose step uses this slot, if any."""
    return (Swap.objects.filter(cabinet=cabinet, state__in=OPEN_SWAP_STATES)
            .filter(Q(return_slot__number=slot_number) | Q(release_slot__number=slot_number))
            .exclude(state=S.RESERVED).first())


def _swap_answered(cabinet: Cabinet, slot_number: int,
                   cmd: str | None) -> tuple[Swap | None, str, bool]:
    """The swap whose door command `cmd` this report answers, the door's role in it, and
    whether the report may move it: only an open swap, only at the slot it now uses for
    that door, only for its latest command to that slot (a late report of an earlier
    command describes a door that has since been closed and commanded again)."""
    command = (CabinetCommand.objects.filter(cabinet=cabinet, msg_id=cmd, command="open_door")
               .first() if cmd else None)
    if command is None or command.swap_id is None:
        return None, "", False
    swap = (Swap.objects.select_related("cabinet", "return_slot", "release_slot",
                                        "battery_returned", "battery_released", "rider",
                                        "subscription__plan")
            .filter(pk=command.swap_id).first())
    if swap is None:
        return None, "", False
    if swap.return_slot and swap.return_slot.number == slot_number:
        role = "return"
    elif swap.release_slot and swap.release_slot.number == slot_number:
        role = "release"
    else:
        return swap, "", False
    latest = (CabinetCommand.objects.filter(swap=swap, command="open_door",
                                            payload__slot=slot_number)
              .order_by("-id").values_list("pk", flat=True).first())
    return swap, role, swap.is_open and swap.state != S.RESERVED and latest == command.pk


def swap_on_door_event(*, cabinet: Cabinet, slot_number: int, event: str,
                       battery_serial: str | None, unread: bool, at: datetime,
                       seq: int | None = None, cmd: str | None = None) -> bool:
    """A door opened/closed/jammed, answering the open_door command `cmd` (None: a door
    nobody commanded). Applied only to the swap that command belongs to. True if an open
    swap accounts for the slot's contents (the report is recorded on it, used or ignored);
    False if none does (the caller reconciles the slot with the ledger)."""
    with transaction.atomic():
        cabinet = locking.lock_cabinet(cabinet.pk)
        if event == "closed":
            commands.door_closed(cabinet_id=cabinet.pk, slot_number=slot_number, cmd=cmd)
        swap, role, applies = _swap_answered(cabinet, slot_number, cmd)
        data = {"slot": slot_number, "door": role, "event": event, "battery": battery_serial,
                "unread": bool(unread), "seq": seq, "cmd": cmd}
        if not applies:
            using = _swap_for_slot(cabinet, slot_number)
            for other in {s.pk: s for s in (swap, using) if s is not None}.values():
                _record(other, "energy.swap.report_ignored", at=at,
                        data={**data, "state": other.state,
                              "reason": "not_its_command" if other is using else "stale"})
            if using is not None and event == "jammed":
                _alarm(using, "door_jam", slot=Slot.objects.get(cabinet=cabinet,
                                                                number=slot_number), at=at)
            return using is not None
        if swap.state == S.SUSPENDED:
            # A door report is proof the cabinet is talking again (it may replay its queue
            # before we have seen its boot): carry on from where the swap was.
            _resume(swap, at=at, data={"by": "door_event"})
        if event == "closed" and role == "return" and swap.state == S.OPENING_RETURN:
            # The "opened" report was lost or comes late: the door plainly opened.
            _transition(swap, "return_door_opened", at=at, data={**data, "implied": True},
                        deadline=_due(at, RETURN_S))
        elif event == "closed" and role == "release" and swap.state == S.OPENING_RELEASE:
            _transition(swap, "release_door_opened", at=at, data={**data, "implied": True},
                        deadline=_due(at, TAKE_S))
        handler = _HANDLERS.get((swap.state, role, event))
        if handler is None:
            _record(swap, "energy.swap.report_ignored", at=at,
                    data={**data, "state": swap.state})
            if event == "jammed":
                _alarm(swap, "door_jam", slot=swap.return_slot if role == "return"
                       else swap.release_slot, at=at)
            return True
        handler(swap, at, data)
        return True


def swap_on_command_ack(*, command: CabinetCommand, ok: bool, error: str, at: datetime) -> None:
    """A cabinet acknowledged a command of a swap. ok: the door report will follow; an error
    on the door the swap is waiting for is handled as a jam (door_jam) or a refused slot."""
    if command.swap_id is None:
        return
    with transaction.atomic():
        locking.lock_cabinet(command.cabinet_id)
        swap = (Swap.objects.select_related("cabinet", "return_slot", "release_slot",
                                            "battery_returned", "battery_released",
                                            "subscription__plan")
                .filter(pk=command.swap_id).first())
        if swap is None:
            return
        slot_number = (command.payload or {}).get("slot")
        data = {"cmd": command.msg_id, "ok": ok, "error": error, "slot": slot_number}
        waiting = ((swap.state == S.OPENING_RETURN and swap.return_slot
                    and swap.return_slot.number == slot_number)
                   or (swap.state == S.OPENING_RELEASE and swap.release_slot
                       and swap.release_slot.number == slot_number))
        if ok or not waiting:
            _record(swap, "energy.swap.command_acked" if ok else "energy.swap.report_ignored",
                    at=at, data=data)
            return
        _door_jammed(swap, at=at, data=data)


# --- the cabinet's connection ------------------------------------------------------------

def _resend_unacked_door(swap: Swap, slot: Slot | None, *, at: datetime) -> None:
    """The door command of the current step, if the cabinet never acknowledged it, goes out
    again with the SAME message id: a cabinet that already obeyed it (and queued the ack while
    offline) answers again and does nothing twice; one that never got it (lost while the
    line was down) obeys it now. A new command could open a door twice."""
    if slot is None:
        return
    command = (CabinetCommand.objects.filter(swap=swap, command="open_door", acked_at__isnull=True,
                                             payload__slot=slot.number)
               .order_by("-id").first())
    if command is None:
        return
    commands.command_resend(command=command)
    _record(swap, "energy.swap.door_command_resent", at=at,
            data={"slot": slot.number, "cmd": command.msg_id})


def _resume(swap: Swap, *, at: datetime, data: dict | None = None,
            resend: bool = False) -> None:
    step = swap.suspended_from
    seconds = STEP_TIMEOUT_S.get(step, DOOR_OPEN_S)
    if step in (S.OPENING_RETURN, S.OPENING_RELEASE):
        seconds = RESUME_DOOR_OPEN_S
    _transition(swap, "resume", at=at, data=data, deadline=_due(at, seconds))
    if resend and step == S.OPENING_RETURN:
        _resend_unacked_door(swap, swap.return_slot, at=at)
    elif resend and step == S.OPENING_RELEASE:
        _resend_unacked_door(swap, swap.release_slot, at=at)


def swap_on_cabinet_offline(*, cabinet: Cabinet, at: datetime) -> int:
    """Open swaps at a cabinet that went silent wait (suspended) for it, remembering their step."""
    with transaction.atomic():
        locking.lock_cabinet(cabinet.pk)
        swaps = list(Swap.objects.filter(cabinet_id=cabinet.pk, state__in=ACTIVE_STEPS))
        for swap in swaps:
            _transition(swap, "suspend", at=at, deadline=_due(at, SUSPEND_S))
    return len(swaps)


def swap_on_cabinet_online(*, cabinet: Cabinet, at: datetime) -> int:
    """The cabinet is back: suspended swaps carry on at their step (the queued door reports
    that follow the boot move them on)."""
    with transaction.atomic():
        locking.lock_cabinet(cabinet.pk)
        swaps = list(Swap.objects.filter(cabinet_id=cabinet.pk, state=S.SUSPENDED)
                     .select_related("cabinet", "return_slot", "release_slot"))
        for swap in swaps:
            _resume(swap, at=at, data={"by": "boot"}, resend=True)
    return len(swaps)


# --- timeouts ------------------------------------------------------------------------------

def _on_timeout(swap: Swap, *, now: datetime) -> None:
    data = {"timeout": swap.state, "deadline": swap.deadline.isoformat()}
    state = swap.state
    if state == S.RESERVED:
        _transition(swap, "expire", at=now, data=data)
    elif state in (S.OPENING_RETURN, S.OPENING_RELEASE):
        _door_jammed(swap, at=now, data=data)
    elif state == S.RETURNING:
        reason = _reopen_reason(swap, "return_door_reopened")
        if reason == "wrong_battery":
            _foreign_left(swap, at=now, data=data)
        elif reason == "unread":
            _unread_fail(swap, at=now, data=data)
        else:
            _fail(swap, "not_returned", at=now, data=data)
    elif state == S.TAKING:
        _fail(swap, "not_taken", at=now, data=data)
    elif state == S.SUSPENDED:
        safety.alarm_raise(cabinet=swap.cabinet, kind="offline", at=now)
        _fail(swap, "cabinet_offline", at=now, data=data)


def _may_time_out(swap: Swap, now: datetime) -> bool:
    """A step waiting on the cabinet times out only once the cabinet has been heard from after
    the deadline (or has been silent well past it). Messages of one cabinet are applied in
    the order they were received, so a report received before the deadline but still queued
    behind a backlog is applied first and wins; the rider is never failed for our lateness.
    Reservations are the server's own clock; a suspended swap's cabinet is silent anyway."""
    if swap.state in (S.RESERVED, S.SUSPENDED):
        return True
    if now >= swap.deadline + timedelta(seconds=HEARD_GRACE_S):
        return True
    return DeviceMessage.objects.filter(cabinet_id=swap.cabinet_id,
                                        received_at__gt=swap.deadline).exists()


def swaps_expire_overdue(*, now: datetime | None = None) -> int:
    """Apply every passed step deadline (and reservation end); returns how many."""
    now = now or _now()
    due = list(Swap.objects.filter(state__in=OPEN_SWAP_STATES, deadline__lt=now)
               .values_list("pk", "cabinet_id"))
    done = 0
    for swap_id, cabinet_id in due:
        try:
            with transaction.atomic():
                locking.lock_cabinet(cabinet_id)
                swap = (Swap.objects.select_related("cabinet", "return_slot", "release_slot",
                                                    "battery_returned", "battery_released",
                                                    "subscription__plan")
                        .filter(pk=swap_id).first())
                if (swap is None or swap.state not in OPEN_SWAP_STATES or swap.deadline is None
                        or swap.deadline >= now or not _may_time_out(swap, now)):
                    continue
                _on_timeout(swap, now=now)
                done += 1
        except Exception:
            # One broken swap must not stop the others' clocks.
            log.exception("timeout of swap %s failed", swap_id)
    return done
