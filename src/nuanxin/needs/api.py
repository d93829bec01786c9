"""The needs list's JSON API (mounted at /api/v1/needs). Thin: parse, check the session and
second factor, call a selector or service, shape the answer. Errors are JSON with a code."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Path, Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import Field

from nuanxin.accounts.decorators import second_factor_pending
from nuanxin.accounts.models import UserKind
from nuanxin.accounts.selectors import staff_profile_of
from nuanxin.common.errors import PermissionDenied, ServiceError
from nuanxin.common.pagination import paginate
from nuanxin.needs import selectors, services
from nuanxin.needs.models import OPEN_STATUSES, Need, NeedSource, NeedStatus, Urgency
from nuanxin.needs.presenters import event_rows

router = Router(tags=["needs"], auth=django_auth)

NeedId = Path(..., ge=1, le=2**63 - 1, description="the need's id")


def _guard(request) -> None:
    """Administrators who have not passed the second factor in this session are refused,
    here as on the console pages."""
    if second_factor_pending(request):
        raise PermissionDenied("totp_required", _("请先完成动态口令验证。"))


def _is_staff(user) -> bool:
    return user.is_superuser or staff_profile_of(user) is not None


# --- shapes -------------------------------------------------------------------------------

class RegionOut(Schema):
    code: str
    name: str


class NeedOut(Schema):
    id: int
    title: str
    category: str
    category_label: str
    status: str
    status_label: str
    urgency: int
    source: str
    region: RegionOut
    owner: str
    raised_count: int
    created_at: datetime
    accepted_at: datetime | None
    target_date: date | None
    resolved_at: datetime | None
    overdue: bool
    escalation_level: int
    merged_into: int | None


class NeedPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[NeedOut]


class EventOut(Schema):
    at: datetime
    who: str
    action: str
    text: str
    details: str
    note: str
    to_status: str


class RaiserOut(Schema):
    name: str
    phone_masked: str
    source: str
    raised_at: datetime


class FeedbackOut(Schema):
    score: int
    comment: str
    at: datetime


class MineOut(Schema):
    raised: bool
    following: bool
    can_rate: bool
    rating: FeedbackOut | None


class NeedDetailOut(NeedOut):
    description: str
    outcome: str
    lat: float | None
    lng: float | None
    project_ref: str
    history: list[EventOut]
    raisers: list[RaiserOut] | None = Field(None, description="staff only; masked phones")
    feedback: list[FeedbackOut] | None = Field(None, description="staff only")
    mine: MineOut | None = Field(None, description="workers only")


def _need_out(need: Need) -> dict:
    overdue = getattr(need, "is_overdue", None)
    if overdue is None:
        overdue = bool(need.status in OPEN_STATUSES and need.target_date
                       and need.target_date < timezone.localdate())
    return {
        "id": need.pk, "title": need.title, "category": need.category,
        "category_label": str(need.get_category_display()), "status": need.status,
        "status_label": str(need.get_status_display()), "urgency": need.urgency,
        "source": need.source, "region": {"code": need.region.code, "name": need.region.name},
        "owner": need.owner.name, "raised_count": need.raised_count,
        "created_at": need.created_at, "accepted_at": need.accepted_at,
        "target_date": need.target_date, "resolved_at": need.resolved_at,
        "overdue": overdue, "escalation_level": need.escalation_level,
        "merged_into": need.merged_into_id,
    }


def _detail_out(request, need: Need) -> dict:
    user = request.user
    staff = _is_staff(user)
    body = _need_out(need)
    body.update(description=need.description, outcome=need.outcome, lat=need.lat,
                lng=need.lng, project_ref=need.project_ref if staff else "")
    body["history"] = event_rows(selectors.need_events(need), viewer=user, for_staff=staff)
    if staff:
        body["raisers"] = [{"name": r["name"], "phone_masked": r["phone"],
                            "source": r["source"], "raised_at": r["at"]}
                           for r in selectors.need_raisers(need)]
        body["feedback"] = [{"score": f.score, "comment": f.comment, "at": f.at}
                            for f in selectors.need_feedback(need)]
    elif user.kind == UserKind.WORKER:
        raised = selectors.is_raiser(user, need)
        rating = selectors.feedback_of(user, need) if raised else None
        body["mine"] = {
            "raised": raised, "following": selectors.is_follower(user, need),
            "can_rate": raised and rating is None and need.status == NeedStatus.RESOLVED,
            "rating": {"score": rating.score, "comment": rating.comment, "at": rating.at}
            if rating else None,
        }
    return body


def _detail(request, need_id: int) -> dict:
    need = selectors.need_for(request.user, need_id)
    return _detail_out(request, need)


# --- reading ------------------------------------------------------------------------------

class ListQuery(Schema):
    page: int = Field(1, description="from 1")
    page_size: int = Field(20, description="1 to 100")
    status: str = Field("", max_length=20)
    category: str = Field("", max_length=20)
    source: str = Field("", max_length=20)
    region: str = Field("", max_length=12, description="a region code; its whole subtree")
    overdue: bool = False
    q: str = Field("", max_length=200, description="words in the title or description, or #id")
    sort: str = Field("urgency", max_length=10, description="urgency | created | oldest")


@router.get("", response=NeedPage, summary="The needs list: staff see their region, "
            "workers the needs they raised or follow")
def need_list(request, q: Query[ListQuery]):
    _guard(request)
    filters = selectors.check_filters(request.user, selectors.NeedFilters(
        status=q.status, category=q.category, source=q.source, region=q.region,
        overdue=q.overdue, q=q.q, sort=q.sort))
    page = paginate(selectors.needs_for_staff(request.user, filters), page=q.page,
                    page_size=q.page_size)
    page["results"] = [_need_out(n) for n in page["results"]]
    return page


class MergeIn(Schema):
    target_id: int = Field(..., ge=1, le=2**63 - 1)
    source_ids: list[int] = Field(..., min_length=1, max_length=services.MERGE_MAX)


@router.post("/merge", response=NeedDetailOut,
             summary="Merge duplicates into one need: raisers and followers carry over")
def need_merge(request, body: MergeIn):
    _guard(request)
    if any(not 1 <= i <= 2**63 - 1 for i in body.source_ids):
        raise ServiceError("invalid_input", _("请求参数不正确。"))
    target = services.need_merge(actor=request.user, target_id=body.target_id,
                                 source_ids=body.source_ids)
    return _detail(request, target.pk)


@router.get("/{int:need_id}", response=NeedDetailOut, summary="One need with its history")
def need_detail(request, need_id: int = NeedId):
    _guard(request)
    return _detail(request, need_id)


class SimilarOut(Schema):
    need: NeedOut
    text_similarity: float = Field(description="0–1, Dice over character bigrams")
    similarity: str = Field(description="very_similar | similar | different (in words)")
    distance_m: int | None
    same_region: bool


@router.get("/{int:need_id}/similar", response=list[SimilarOut],
            summary="Open needs like this one, with the reasons (staff)")
def need_similar(request, need_id: int = NeedId):
    _guard(request)
    if not _is_staff(request.user):
        raise PermissionDenied("not_allowed", _("您没有管理需求清单的权限。"))
    need = selectors.need_for(request.user, need_id)
    rows = selectors.needs_similar(need, viewer=request.user)
    return [{"need": _need_out(r["need"]), "text_similarity": r["text_similarity"],
             "similarity": r["similarity_level"], "distance_m": r["distance_m"],
             "same_region": r["same_region"]} for r in rows]


# --- writing ------------------------------------------------------------------------------

class RaiseIn(Schema):
    title: str = Field(..., max_length=500)
    category: str = Field(..., max_length=40)
    description: str = Field("", max_length=5000)
    region: str | None = Field(None, max_length=12,
                               description="community code; a worker's home community if left out")
    lat: float | None = Field(None, ge=-90, le=90)
    lng: float | None = Field(None, ge=-180, le=180)
    source: str = Field(NeedSource.ONLINE, max_length=20, description="staff only")
    urgency: int = Field(Urgency.LOW, description="staff only: 1 一般, 2 较急, 3 紧急")


@router.post("", response={201: NeedDetailOut}, summary="Raise a need")
def need_raise(request, body: RaiseIn):
    _guard(request)
    user = request.user
    worker = user.kind == UserKind.WORKER
    region = body.region
    if not region and worker:
        home = selectors.worker_home_region(user)
        region = home.code if home else ""
    if not region:
        raise ServiceError("region_required", _("请选择所在社区。"))
    need = services.need_raise(actor=user, data=services.NeedInput(
        title=body.title, category=body.category, region_code=region,
        description=body.description, lat=body.lat, lng=body.lng,
        source=NeedSource.ONLINE if worker else body.source,
        urgency=Urgency.LOW if worker else body.urgency))
    return Status(201, _detail(request, need.pk))


@router.post("/{int:need_id}/me-too", response=NeedDetailOut,
             summary="I have this problem too (workers): counted, and following it")
def need_me_too(request, need_id: int = NeedId):
    need = services.need_raise_again(worker=request.user, need_id=need_id)
    return _detail(request, need.pk)


class TextIn(Schema):
    text: str = Field("", max_length=2000, description="note, reason or outcome")


def _act(request, service, argument: str, need_id: int, text: str) -> dict:
    _guard(request)
    service(actor=request.user, need_id=need_id, **{argument: text})
    return _detail(request, need_id)


@router.post("/{int:need_id}/accept", response=NeedDetailOut, summary="Accept (staff)")
def need_accept(request, body: TextIn, need_id: int = NeedId):
    return _act(request, services.need_accept, "note", need_id, body.text)


@router.post("/{int:need_id}/decline", response=NeedDetailOut, summary="Decline with a reason")
def need_decline(request, body: TextIn, need_id: int = NeedId):
    return _act(request, services.need_decline, "reason", need_id, body.text)


@router.post("/{int:need_id}/resolve", response=NeedDetailOut, summary="Resolve with the outcome")
def need_resolve(request, body: TextIn, need_id: int = NeedId):
    return _act(request, services.need_resolve, "outcome", need_id, body.text)


@router.post("/{int:need_id}/not-feasible", response=NeedDetailOut,
             summary="Not feasible, with the reason")
def need_not_feasible(request, body: TextIn, need_id: int = NeedId):
    return _act(request, services.need_mark_not_feasible, "reason", need_id, body.text)


@router.post("/{int:need_id}/reopen", response=NeedDetailOut,
             summary="Take a declined or not-feasible need back (staff)")
def need_reopen(request, body: TextIn, need_id: int = NeedId):
    return _act(request, services.need_reopen, "reason", need_id, body.text)


class UpdateIn(Schema):
    title: str | None = Field(None, max_length=500)
    category: str | None = Field(None, max_length=40)
    urgency: int | None = None
    description: str | None = Field(None, max_length=5000)


@router.patch("/{int:need_id}", response=NeedDetailOut,
              summary="Correct title, category, urgency or description (staff)")
def need_update(request, body: UpdateIn, need_id: int = NeedId):
    _guard(request)
    services.need_update(actor=request.user, need_id=need_id, title=body.title,
                         category=body.category, urgency=body.urgency,
                         description=body.description)
    return _detail(request, need_id)


class RatingIn(Schema):
    score: int
    comment: str = Field("", max_length=2000)


@router.post("/{int:need_id}/rating", response={201: FeedbackOut},
             summary="Rate a resolved need you raised: 1 to 5, once")
def need_rating(request, body: RatingIn, need_id: int = NeedId):
    feedback = services.need_rate(worker=request.user, need_id=need_id, score=body.score,
                                  comment=body.comment)
    return Status(201, {"score": feedback.score, "comment": feedback.comment,
                        "at": feedback.at})
