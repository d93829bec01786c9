"""Reads of the alliance, already scoped to the viewer.

Scope: a staff member works in a region subtree (common.scoping.access_of). A partner
or a resource belongs to the alliance a staff member sees when its region *overlaps* theirs:
it lies inside the staff member's region (a merchant in the community), or the staff
member's region lies inside it (a district-wide operator such as 中国铁塔义乌分公司 serves
every community of 义乌). A partner that signed a co-building agreement with a service
centre in scope is seen too, wherever it is registered.

Partner users (accounts.PartnerMember) see their own partner's resources and the needs
routed to it, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.models import MANAGER_ROLES, OrgUnit, Partner, PartnerMember
from nuanxin.alliance.models import (
    OPEN_PROJECT_STATUSES,
    Agreement,
    NeedRouting,
    Project,
    ProjectNeed,
    ProjectResource,
    Resource,
    RoutingStatus,
    project_id_from_ref,
)
from nuanxin.common.errors import NotFound
from nuanxin.common.scoping import access_of, covers, in_scope, region_q
from nuanxin.common.seats import SeatStatus
from nuanxin.geo.spatial import distance_text, haversine_m
from nuanxin.needs.selectors import need_for, needs_visible_to


def overlaps(field_name: str, prefix: str) -> Q:
    """Rows whose region (`field_name`, a FK to geo.Region) lies inside the subtree named by
    `prefix`, or contains it."""
    return region_q(field_name, prefix, match="overlaps")


def is_manager(user) -> bool:
    """Managers change the alliance's data in their region; station keepers only look."""
    access = access_of(user)
    return access.superuser or access.role in MANAGER_ROLES


def member_partner(user) -> Partner | None:
    """The partner a partner user works for, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    member = PartnerMember.objects.filter(user=user).select_related("partner__region").first()
    return member.partner if member else None


# --- partners and agreements -------------------------------------------------------------

def partners_visible_to(user) -> QuerySet[Partner]:
    prefix = access_of(user).prefix
    if prefix is None:
        partner = member_partner(user)
        return Partner.objects.filter(pk=partner.pk) if partner else Partner.objects.none()
    if not prefix:
        return Partner.objects.all()
    agreed = Agreement.objects.in_region(prefix).filter(partner=OuterRef("pk"))
    return Partner.objects.filter(overlaps("region", prefix) | Q(Exists(agreed)))


def partner_for(user, partner_id: int) -> Partner:
    partner = partners_visible_to(user).select_related("region").filter(pk=partner_id).first()
    if partner is None:
        raise NotFound("partner_not_found", _("找不到这个联盟单位。"))
    return partner


def can_edit_partner(user, partner: Partner) -> bool:
    """Name, kind and region of work: staff whose region contains the partner's."""
    return is_manager(user) and in_scope(user, partner.region_id)


def can_manage_partner(user, partner: Partner) -> bool:
    """Resources and logins of a partner: the partner's own users, staff whose region
    contains the partner's, and staff of a centre the partner has an agreement with."""
    own = member_partner(user)
    if own is not None:
        return own.pk == partner.pk
    if not is_manager(user):
        return False
    prefix = access_of(user).prefix
    if prefix is None:
        return False
    return covers(prefix, partner.region_id) or Agreement.objects.in_region(prefix).filter(
        partner=partner).exists()


def agreements_visible_to(user) -> QuerySet[Agreement]:
    return Agreement.objects.visible_to(user)


def org_units_in_scope(user) -> QuerySet[OrgUnit]:
    prefix = access_of(user).prefix
    if prefix is None:
        return OrgUnit.objects.none()
    return OrgUnit.objects.filter(region_q("region", prefix))


def partner_rows(user, *, search: str = "", kind: str = "") -> QuerySet[Partner]:
    """The partners list of the console: with counts of active agreements and resources."""
    today = timezone.localdate()
    prefix = access_of(user).prefix or ""
    qs = partners_visible_to(user).select_related("region")
    if search:
        qs = qs.filter(name__icontains=search)
    if kind:
        qs = qs.filter(kind=kind)
    agreement_filter = Q(agreements__starts_on__lte=today, agreements__ends_on__gte=today)
    if prefix:
        agreement_filter &= region_q("agreements__org_unit__region", prefix)
    return qs.annotate(
        active_agreements=Count("agreements", filter=agreement_filter, distinct=True),
        resource_count=Count("resources", filter=Q(resources__is_active=True), distinct=True),
    ).order_by("name", "id")


# --- resources ---------------------------------------------------------------------------

def with_remaining(qs: QuerySet[Resource]) -> QuerySet[Resource]:
    """Annotate `allocated` (taken by open projects) and `remaining`."""
    taken = (ProjectResource.objects.filter(resource=OuterRef("pk"), status=SeatStatus.HELD,
                                            project__status__in=OPEN_PROJECT_STATUSES)
             .order_by().values("resource").annotate(total=Sum("quantity")).values("total"))
    return qs.annotate(
        allocated=Coalesce(Subquery(taken, output_field=IntegerField()), Value(0)),
    ).annotate(remaining=F("capacity") - F("allocated"))


def allocated_quantity(resource_id: int, *, exclude_project_id: int | None = None) -> int:
    qs = ProjectResource.objects.filter(resource_id=resource_id, status=SeatStatus.HELD,
                                        project__status__in=OPEN_PROJECT_STATUSES)
    if exclude_project_id is not None:
        qs = qs.exclude(project_id=exclude_project_id)
    return qs.aggregate(total=Sum("quantity"))["total"] or 0


def resources_visible_to(user) -> QuerySet[Resource]:
    return Resource.objects.visible_to(user)


def resource_for(user, resource_id: int) -> Resource:
    return (with_remaining(Resource.objects.select_related("partner", "region"))
            .get_visible_or_404(user, pk=resource_id))


def available_on(qs: QuerySet[Resource], day) -> QuerySet[Resource]:
    return qs.filter(is_active=True, available_from__lte=day).filter(
        Q(available_until__isnull=True) | Q(available_until__gte=day))


def resource_rows(user, *, category: str = "", search: str = "", partner_id: int | None = None,
                  active_only: bool = False) -> QuerySet[Resource]:
    qs = with_remaining(resources_visible_to(user)).select_related("partner", "region")
    if category:
        qs = qs.filter(category=category)
    if search:
        qs = qs.filter(Q(title__icontains=search) | Q(partner__name__icontains=search))
    if partner_id:
        qs = qs.filter(partner_id=partner_id)
    if active_only:
        qs = available_on(qs, timezone.localdate())
    return qs.order_by("partner__name", "title", "id")


# --- matching ------------------------------------------------------------------------------

# (code length both share, rank, reason)
CLOSENESS = (
    (12, 0, _("同社区")),
    (9, 1, _("同街道")),
    (6, 2, _("同区县")),
    (4, 3, _("同城市")),
)
ELSEWHERE = (4, _("辖区内其他地方"))
MATCH_CANDIDATES = 500
MATCH_LIMIT = 20


@dataclass
class Suggestion:
    resource: Resource
    rank: int
    distance_m: int | None
    remaining: int
    reasons: list[str] = field(default_factory=list)
    approximate_distance: bool = False


def closeness(need_code: str, resource_code: str) -> tuple[int, str]:
    """How near a resource's region is to a need's, as (rank, reason); 0 is nearest.

    Codes are compared level by level: a resource registered for a whole street (district,
    city) shares that many digits with the communities it covers."""
    for length, rank, reason in CLOSENESS:
        if min(len(need_code), len(resource_code)) >= length \
                and need_code[:length] == resource_code[:length]:
            return rank, str(reason)
    return ELSEWHERE[0], str(ELSEWHERE[1])


def resources_for_need(need_id: int, viewer, *, limit: int = MATCH_LIMIT) -> list[Suggestion]:
    """Resources that could answer a need, best first, each with the reasons shown to staff:
    same category (always), how near its region is (same community > street > district >
    elsewhere in scope), the distance when both have a place on the map, and what is left.
    Only resources available today with capacity left are suggested."""
    need = need_for(viewer, need_id)
    today = timezone.localdate()
    qs = (available_on(with_remaining(resources_visible_to(viewer)), today)
          .filter(category=need.category, remaining__gt=0)
          .select_related("partner", "region")[:MATCH_CANDIDATES])
    need_point, approximate = None, False
    if need.lat is not None and need.lng is not None:
        need_point = (need.lat, need.lng)
    elif need.region.center_lat is not None and need.region.center_lng is not None:
        need_point, approximate = (need.region.center_lat, need.region.center_lng), True
    routed = dict(NeedRouting.objects.filter(need_id=need.pk)
                  .values_list("partner_id", "status"))
    suggestions = []
    for resource in qs:
        rank, place_reason = closeness(need.region_id, resource.region_id)
        distance = None
        if need_point and resource.lat is not None and resource.lng is not None:
            distance = round(haversine_m(need_point[0], need_point[1], resource.lat,
                                         resource.lng))
        reasons = [gettext("同类别"), place_reason]
        if distance is not None:
            text = distance_text(distance)
            reasons.append(gettext("约 %(d)s") % {"d": text} if approximate else text)
        reasons.append(gettext("剩余 %(n)d %(unit)s") % {"n": resource.remaining,
                                                          "unit": resource.capacity_unit})
        if resource.partner_id in routed:
            reasons.append(gettext("已派单：%(status)s") % {
                "status": RoutingStatus(routed[resource.partner_id]).label})
        suggestions.append(Suggestion(resource, rank, distance, resource.remaining, reasons,
                                      approximate and distance is not None))
    suggestions.sort(key=lambda s: (s.rank, s.distance_m is None, s.distance_m or 0,
                                    -s.remaining, s.resource.pk))
    return suggestions[:limit]


# --- projects ------------------------------------------------------------------------------

def projects_visible_to(user) -> QuerySet[Project]:
    return Project.objects.visible_to(user)


def project_for(user, project_id: int) -> Project:
    return Project.objects.select_related("owner__region").get_visible_or_404(user, pk=project_id)


def project_rows(user, *, status: str = "", search: str = "") -> QuerySet[Project]:
    qs = projects_visible_to(user).select_related("owner__region")
    if status:
        qs = qs.filter(status=status)
    if search:
        qs = qs.filter(title__icontains=search)
    return qs.annotate(need_count=Count("needs", distinct=True)).order_by("-created_at", "-id")


def project_partner_names(project_ids: list[int]) -> dict[int, list[str]]:
    """The partners whose resources each project uses, by project id."""
    names: dict[int, list[str]] = {pid: [] for pid in project_ids}
    rows = (ProjectResource.objects.filter(project_id__in=project_ids)
            .values_list("project_id", "resource__partner__name")
            .order_by("project_id", "resource__partner__name").distinct())
    for pid, name in rows:
        if name not in names[pid]:
            names[pid].append(name)
    return names


def project_needs(project: Project, viewer) -> list[dict]:
    """The project's needs as the viewer may see them (title, category, status, place)."""
    ids = list(project.needs.values_list("need_id", flat=True))
    rows = {n.pk: n for n in needs_visible_to(viewer).filter(pk__in=ids).select_related("region")}
    out = []
    for need_id in ids:
        need = rows.get(need_id)
        out.append({"id": need_id, "need": need, "visible": need is not None,
                    "in_this_project": need is not None and need.project_ref == project.ref})
    return out


def project_allocations(project: Project):
    return project.allocations.select_related("resource__partner").order_by("id")


# --- routings ------------------------------------------------------------------------------

def routings_visible_to(user) -> QuerySet[NeedRouting]:
    return NeedRouting.objects.visible_to(user)


def routing_for(user, routing_id: int) -> NeedRouting:
    return (NeedRouting.objects.select_related("partner", "region", "resource")
            .get_visible_or_404(user, pk=routing_id))


def routings_for_need(need_id: int, viewer) -> QuerySet[NeedRouting]:
    need_for(viewer, need_id)  # the need itself must be in the viewer's scope
    return (routings_visible_to(viewer).filter(need_id=need_id)
            .select_related("partner", "resource"))


def projects_for_need(need_id: int) -> QuerySet[Project]:
    return Project.objects.filter(needs__need_id=need_id)


def needs_in_projects(need_ids: list[int]) -> dict[int, ProjectNeed]:
    return {pn.need_id: pn for pn in ProjectNeed.objects.filter(need_id__in=need_ids)
            .select_related("project")}


def project_ref_labels(refs: list[str]) -> dict[str, str]:
    """`project_ref` → the project's title, for needs exports (declared in alliance's
    manifest as `reference_titles`)."""
    ids = {ref: project_id_from_ref(ref) for ref in refs}
    titles = dict(Project.objects.filter(pk__in={i for i in ids.values() if i})
                  .values_list("pk", "title"))
    return {ref: titles[pid] for ref, pid in ids.items() if pid in titles}


def resources_to_take(user, *, limit: int = 300) -> list[Resource]:
    """Resources a new project may take today: visible, available, with room left."""
    rows = with_remaining(available_on(resources_visible_to(user), timezone.localdate()))
    return list(rows.filter(remaining__gt=0).select_related("partner")
                .order_by("partner__name", "title")[:limit])
