"""The battery-swap JSON API (mounted at /api/v1). Thin: parse, check the session, call a
selector or service, shape the answer. Errors are JSON `{code, message}` with a 4xx status.

    GET  /cabinets/nearby        cabinets near a point, with the batteries one could take now
    GET  /cabinets/{serial}      one cabinet's public facts
    POST /swaps                  start a swap (a scanned cabinet code, or a cabinet id)
    GET  /swaps/{id}             the rider's own swap, as the live progress page shows it
    POST /swaps/{id}/cancel      give up before the old battery is in
    POST /reservations           hold a full battery for 10 minutes
    GET  /energy/me              the rider's plan, battery in hand and open swap
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from ninja import Path, Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import BaseModel, Field, model_validator

from nuanxin.common.errors import NotFound, ServiceError
from nuanxin.energy.models import Cabinet, Swap
from nuanxin.energy.selectors import riders
from nuanxin.energy.services import swaps
from nuanxin.geo.datum import CRS, from_wgs84, to_wgs84
from nuanxin.geo.schemas import CrsParam, Latitude, Longitude

router = Router(tags=["energy"])

SwapId = Path(..., ge=1, le=2**63 - 1, description="the swap's id")


class NearbyQuery(BaseModel):
    lat: float = Latitude
    lng: float = Longitude
    limit: int = Field(10, ge=1, le=50)
    radius_m: int = Field(5000, ge=1, le=50_000, description="search radius in metres")
    model: str = Field("", max_length=32, description="battery model code: count only these")
    crs: CRS = CrsParam


class CabinetOut(Schema):
    id: int
    serial: str
    name: str
    address: str
    lat: float
    lng: float
    distance_m: int | None = None
    online: bool
    safety_locked: bool
    available: int = Field(..., description="batteries a rider could take now")
    empty_slots: int
    station_id: int | None


class NearbyOut(Schema):
    results: list[CabinetOut]


def _placed(row: dict, crs: CRS) -> dict:
    lat, lng = from_wgs84(row["lat"], row["lng"], crs)
    return {**row, "lat": lat, "lng": lng}


@router.get("/cabinets/nearby", response=NearbyOut,
            summary="Cabinets near a point, nearest first, with batteries available now")
def cabinets_nearby(request, q: Query[NearbyQuery]):
    lat, lng = to_wgs84(q.lat, q.lng, q.crs)
    model_id = None
    if q.model:
        from nuanxin.energy.models import BatteryModel

        model_id = BatteryModel.objects.filter(code=q.model).values_list("pk", flat=True).first()
        if model_id is None:
            raise ServiceError("unknown_model", _("未知的电池型号。"))
    rows = riders.cabinets_nearby(lat=lat, lng=lng, limit=q.limit, radius_m=q.radius_m,
                                  model_id=model_id)
    return {"results": [_placed(row, q.crs) for row in rows]}


class CrsQuery(BaseModel):
    crs: CRS = CrsParam


class CabinetDetailOut(Schema):
    id: int
    serial: str
    name: str
    address: str
    lat: float
    lng: float
    online: bool
    enabled: bool
    safety_locked: bool
    slot_count: int
    station_id: int | None
    operator: str
    hotline: str
    available: int
    empty_slots: int


@router.get("/cabinets/{serial}", response=CabinetDetailOut,
            summary="One cabinet's public facts and what it offers now")
def cabinet_detail(request, serial: str, q: Query[CrsQuery]):
    # A longer string is no serial: it must not match a cabinet by its first 32 characters.
    cabinet = (Cabinet.objects.select_related("operator__partner")
               .filter(serial=serial, enabled=True).first() if len(serial) <= 32 else None)
    if cabinet is None:
        raise NotFound("cabinet_not_found", _("找不到这个换电柜。"))
    return _placed(riders.cabinet_public(cabinet), q.crs)


class StepOut(Schema):
    code: str
    label: str
    status: str


class SwapOut(Schema):
    id: int
    state: str
    label: str
    open: bool
    cabinet: dict
    return_slot: int | None
    release_slot: int | None
    first_pickup: bool
    steps: list[StepOut]
    message: str
    deadline: str | None
    battery_released: dict | None
    charged_fen: int
    failure_code: str | None
    failure: str | None
    created_at: str
    finished_at: str | None


class SwapIn(BaseModel):
    cabinet_token: str = Field("", max_length=500)
    # Strict: JSON `true` is not cabinet 1.
    cabinet_id: int | None = Field(None, ge=1, le=2**63 - 1, strict=True)
    request_key: str = Field("", max_length=64,
                             description="client-chosen; a retried POST returns the same swap")

    @model_validator(mode="after")
    def _one_cabinet(self):
        if not self.cabinet_token and self.cabinet_id is None:
            raise ValueError("cabinet_token or cabinet_id is required")
        return self


def _swap_out(swap: Swap) -> dict:
    return riders.swap_view(swap)


def _existing(request, key: str) -> Swap | None:
    if not key:
        return None
    return Swap.objects.filter(rider=request.user, request_key=key).first()


@router.post("/swaps", response={200: SwapOut, 201: SwapOut}, auth=django_auth,
             summary="Start a swap at a cabinet (its scanned code, or its id)")
def swap_start(request, body: SwapIn):
    if _existing(request, body.request_key) is not None:
        swap = swaps.swap_start(rider=request.user, request_key=body.request_key)
        return Status(200, _swap_out(swap))
    swap = swaps.swap_start(rider=request.user, cabinet_token=body.cabinet_token or None,
                            cabinet_id=body.cabinet_id, request_key=body.request_key)
    return Status(201, _swap_out(swap))


def _own_swap(request, swap_id: int) -> Swap:
    # Someone else's swap is "not found", not "forbidden": ids are not to be probed.
    swap = Swap.objects.filter(pk=swap_id, rider=request.user).first()
    if swap is None:
        raise NotFound("swap_not_found", _("找不到这次换电。"))
    return swap


@router.get("/swaps/{int:swap_id}", response=SwapOut, auth=django_auth,
            summary="One of the rider's swaps, with its steps (poll it for live progress)")
def swap_detail(request, swap_id: int = SwapId):
    return _swap_out(_own_swap(request, swap_id))


@router.post("/swaps/{int:swap_id}/cancel", response=SwapOut, auth=django_auth,
             summary="Cancel a reservation, or a swap before the old battery is in")
def swap_cancel(request, swap_id: int = SwapId):
    _own_swap(request, swap_id)
    return _swap_out(swaps.swap_cancel(rider=request.user, swap_id=swap_id))


class ReservationIn(BaseModel):
    cabinet_id: int = Field(..., ge=1, le=2**63 - 1, strict=True)
    request_key: str = Field("", max_length=64)


@router.post("/reservations", response={200: SwapOut, 201: SwapOut}, auth=django_auth,
             summary="Hold one full battery at a cabinet for 10 minutes")
def reservation_create(request, body: ReservationIn):
    existed = _existing(request, body.request_key) is not None
    swap = swaps.swap_reserve(rider=request.user, cabinet_id=body.cabinet_id,
                              request_key=body.request_key)
    return Status(200 if existed else 201, _swap_out(swap))


@router.get("/energy/me", auth=django_auth,
            summary="The rider's plan, the battery in hand (charge, health) and open swap")
def energy_me(request):
    return riders.rider_energy(request.user)
