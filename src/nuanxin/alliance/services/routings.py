"""Needs routed to partners (派单) and the partners' answers.

Staff send an open need they can see to a partner of their alliance. The partner sees only
what was sent — title, category, the description as staff worded it, the place — never who
raised the need. The partner answers once: accept, propose (with a proposal) or decline
(with a reason). The allowed moves are ROUTING_WORKFLOW; each writes a RoutingEvent.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import PartnerMember, User
from nuanxin.accounts.services import notify_many
from nuanxin.alliance.models import NeedRouting, RoutingEvent, RoutingStatus
from nuanxin.alliance.selectors import member_partner, partner_for
from nuanxin.alliance.services.common import clean_text, now, require_manager
from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.common.workflow import Change, Workflow, move
from nuanxin.needs.choices import OPEN_STATUSES
from nuanxin.needs.selectors import need_for

R = RoutingStatus

TRANSITIONS = {
    "accept": move({R.ROUTED}, R.ACCEPTED, "alliance.routing.accepted"),
    "propose": move({R.ROUTED}, R.PROPOSED, "alliance.routing.proposed"),
    "decline": move({R.ROUTED}, R.DECLINED, "alliance.routing.declined"),
}
ANSWERS = tuple(TRANSITIONS)


def _on_change(routing: NeedRouting, change: Change) -> None:
    routing.answered_by = change.actor
    routing.answered_at = change.at


ROUTING_WORKFLOW = Workflow(
    "alliance.routing", states=RoutingStatus, transitions=TRANSITIONS, history=RoutingEvent,
    refusal=_("这条派单现在是“%(state)s”，不能这样答复。"), on_change=_on_change,
    labels={
        "alliance.routing.routed": _("派单"),
        "alliance.routing.accepted": _("对方接单"),
        "alliance.routing.proposed": _("对方提出方案"),
        "alliance.routing.declined": _("对方婉拒"),
    },
)


def partner_link(routing_id: int) -> str:
    return f"/partner/routings/{routing_id}/"


def console_link(routing_id: int) -> str:
    return f"/console/alliance/routings/{routing_id}/"


@transaction.atomic
def routing_create(*, actor: User, need_id: int, partner_id: int,
                   resource_id: int | None = None, description: str | None = None,
                   message: str = "") -> NeedRouting:
    """Send a need to a partner. `description` is what the partner will read (the need's
    own description by default): staff should leave out anything that identifies a person.
    """
    require_manager(actor)
    need = need_for(actor, need_id)
    if need.status not in OPEN_STATUSES:
        raise ServiceError("need_closed", _("这条需求已经办结，不能再派单。"), status=409)
    partner = partner_for(actor, partner_id)
    resource = None
    if resource_id is not None:
        resource = partner.resources.filter(pk=resource_id).first()
        if resource is None:
            raise NotFound("resource_not_found", _("这个单位没有这项资源。"))
    text = need.description if description is None else description
    text = clean_text(text, limit=2000, code="description_too_long", label=_("情况说明"))
    message = clean_text(message, limit=1000, code="message_too_long",
                         label=_("给联盟单位的话"))
    if NeedRouting.objects.filter(need_id=need.pk, partner=partner).exists():
        raise ServiceError("already_routed", _("这条需求已经派给这个单位了。"), status=409)
    at = now()
    try:
        with transaction.atomic():
            routing = NeedRouting.objects.create(
                need_id=need.pk, partner=partner, resource=resource, title=need.title,
                category=need.category, description=text, region=need.region,
                message=message, routed_by=actor, routed_at=at,
            )
    except IntegrityError:  # the same routing made a moment ago by someone else
        raise ServiceError("already_routed", _("这条需求已经派给这个单位了。"),
                           status=409) from None
    event = ROUTING_WORKFLOW.record(routing, "alliance.routing.routed", actor=actor,
                                    to_state=routing.status, reason=message, at=at)
    member_ids = list(PartnerMember.objects.filter(partner=partner)
                      .values_list("user_id", flat=True))
    title = gettext("新的需求派单：%(title)s") % {"title": routing.title}
    transaction.on_commit(lambda: notify_many(
        user_ids=member_ids, title=title[:120], link=partner_link(routing.pk),
        dedupe_key=f"alliance-routing-event-{event.pk}"))
    return routing


@transaction.atomic
def routing_answer(*, actor: User, routing_id: int, action: str, text: str = "") -> NeedRouting:
    """The partner's answer: accept, propose (text = the proposal) or decline (text = why)."""
    if action not in TRANSITIONS:
        raise ServiceError("invalid_action", _("答复只能是接单、提出方案或婉拒。"))
    partner = member_partner(actor)
    if partner is None:
        raise PermissionDenied("partners_only", _("只有联盟单位的账号可以答复派单。"))
    routing = (NeedRouting.objects.select_for_update(of=("self",))
               .filter(pk=routing_id, partner=partner).first())
    if routing is None:
        raise NotFound("routing_not_found", _("找不到这条派单。"))
    ROUTING_WORKFLOW.check(routing, action)
    text = clean_text(text, limit=2000, code="text_too_long", label=_("答复"))
    if action == "propose":
        if not text:
            raise ServiceError("proposal_required", _("请写明您的方案。"))
        routing.proposal = text
    elif action == "decline":
        if not text:
            raise ServiceError("reason_required", _("请写明婉拒的原因。"))
        routing.decline_reason = text
    event = ROUTING_WORKFLOW.apply(routing, action, actor=actor, reason=text, at=now())
    if routing.routed_by_id:
        title = gettext("%(partner)s 答复了派单“%(title)s”：%(answer)s") % {
            "partner": partner.name, "title": routing.title,
            "answer": RoutingStatus(routing.status).label}
        staff_ids = [routing.routed_by_id]
        transaction.on_commit(lambda: notify_many(
            user_ids=staff_ids, title=title[:120], body=text, link=console_link(routing.pk),
            dedupe_key=f"alliance-routing-event-{event.pk}"))
    return routing
