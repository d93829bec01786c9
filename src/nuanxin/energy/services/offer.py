"""What a cabinet may offer now: full batteries and empty slots nobody else holds.

The one definition shared by starting a swap, reserving, replacing a jammed door's slot and
the riders' "batteries you can take" counts. A slot is not offered while an open swap or
reservation uses it, while its door is open, or while its door was commanded open and not
yet reported closed (`Slot.door_command`).
"""

from __future__ import annotations

from django.db.models import F
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import NotFound, ServiceError
from nuanxin.energy import qr
from nuanxin.energy.models import (
    OPEN_SWAP_STATES,
    Battery,
    BatteryStatus,
    Cabinet,
    Slot,
    Swap,
)

__all__ = ["offerable_batteries", "offerable_empty_slots", "pick_battery", "pick_empty_slot",
           "usable_empty_slot", "check_cabinet_usable", "busy_slot_ids", "cabinet_for"]


def busy_slot_ids(cabinet_id: int) -> set[int]:
    ids: set[int] = set()
    for ret, rel in Swap.objects.filter(cabinet_id=cabinet_id, state__in=OPEN_SWAP_STATES) \
            .values_list("return_slot_id", "release_slot_id"):
        ids.update(x for x in (ret, rel) if x is not None)
    return ids


def offerable_batteries(*, model_id: int | None = None):
    """Batteries a rider could take now, at any cabinet: the one definition used both to pick
    a battery for a swap and to count `available` on the map."""
    promised = Swap.objects.filter(state__in=OPEN_SWAP_STATES, battery_released__isnull=False)
    busy_slots = Swap.objects.filter(state__in=OPEN_SWAP_STATES)
    qs = (Battery.objects
          .filter(status__in=(BatteryStatus.FULL, BatteryStatus.CHARGING),
                  slot__isnull=False, slot__enabled=True, slot__locked=False,
                  slot__door_open=False, slot__door_command__isnull=True,
                  slot__cabinet__enabled=True, slot__cabinet__safety_locked=False,
                  slot__cabinet__online=True)
          .filter(soc_pct__gte=F("slot__cabinet__full_threshold_pct"))
          .exclude(pk__in=promised.values("battery_released_id"))
          .exclude(slot_id__in=busy_slots.filter(return_slot__isnull=False)
                   .values("return_slot_id"))
          .exclude(slot_id__in=busy_slots.filter(release_slot__isnull=False)
                   .values("release_slot_id")))
    if model_id is not None:
        qs = qs.filter(model_id=model_id)
    return qs


def offerable_empty_slots():
    """Empty slots a rider's flat battery could go into now, at any cabinet (the nearby
    list's "空仓" count): not used or reserved by an open swap, door shut and not commanded."""
    busy = Swap.objects.filter(state__in=OPEN_SWAP_STATES)
    return (Slot.objects.filter(enabled=True, locked=False, door_open=False,
                                door_command__isnull=True, battery__isnull=True)
            .exclude(pk__in=busy.filter(return_slot__isnull=False).values("return_slot_id"))
            .exclude(pk__in=busy.filter(release_slot__isnull=False)
                     .values("release_slot_id")))


def pick_battery(cabinet: Cabinet, model_id: int, *, exclude_slot_ids=()) -> Battery | None:
    return (offerable_batteries(model_id=model_id).filter(slot__cabinet=cabinet)
            .exclude(slot_id__in=list(exclude_slot_ids))
            .select_related("slot").order_by("-soc_pct", "slot__number").first())


def pick_empty_slot(cabinet: Cabinet, *, exclude_slot_ids=()) -> Slot | None:
    busy = busy_slot_ids(cabinet.pk) | set(exclude_slot_ids)
    return (Slot.objects.filter(cabinet=cabinet, enabled=True, locked=False, door_open=False,
                                door_command__isnull=True, battery__isnull=True)
            .exclude(pk__in=busy).order_by("number").first())


def usable_empty_slot(slot_id: int, *, exclude: int | None) -> Slot | None:
    if slot_id == exclude:
        return None
    return Slot.objects.filter(pk=slot_id, enabled=True, locked=False, door_open=False,
                               door_command__isnull=True, battery__isnull=True).first()


def check_cabinet_usable(cabinet: Cabinet) -> None:
    if cabinet.safety_locked:
        raise ServiceError("cabinet_safety_locked",
                           _("这个换电柜因安全原因暂停使用，请换一个柜子。"), status=409)
    if not cabinet.enabled:
        raise ServiceError("cabinet_disabled", _("这个换电柜暂停服务，请换一个柜子。"), status=409)
    if not cabinet.online:
        raise ServiceError("cabinet_offline", _("这个换电柜暂时离线，请稍后再试或换一个柜子。"),
                           status=409)


def cabinet_for(cabinet_token: str | None, cabinet_id: int | None) -> Cabinet:
    """The cabinet a rider named by its scanned code (preferred) or its id."""
    if cabinet_token:
        cabinet_id = qr.cabinet_id_from_token(cabinet_token)
    if cabinet_id is None:
        raise ServiceError("cabinet_required", _("请扫描换电柜上的二维码。"))
    cabinet = Cabinet.objects.filter(pk=cabinet_id).first()
    if cabinet is None:
        raise NotFound("cabinet_not_found", _("找不到这个换电柜。"))
    return cabinet
