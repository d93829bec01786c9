"""Region scoping, decided once: who sees which rows, and the console's front door.

A staff member works in a region subtree, named by a code prefix ("" = everywhere, for
superusers); a partner's user sees what concerns their partner; everyone else sees nothing.
The accounts app says who is who (it registers `access_of` and the staff gate at start-up:
this module sits below it and does not import it).

A model opts in by declaring its path to a region and using the queryset:

    class Project(models.Model):
        region_path = "owner__region"          # a ForeignKey chain ending at geo.Region
        partner_path = "allocations__resource__partner"   # optional: partners see these
        not_found = ("project_not_found", _("找不到这个项目。"))
        objects = RegionScopedQuerySet.as_manager()

    Project.objects.visible_to(user)                 # a queryset, already filtered
    Project.objects.get_visible_or_404(user, pk=3)   # the row, or NotFound (404) if not visible

`region_match = "overlaps"` also shows rows whose region contains the viewer's (an offer of
the whole city is visible to a community's staff); `region_path = ""` is a region itself
(geo.Region: the regions a staff member may pick). A queryset may narrow what some roles see
by overriding `staff_scope(access)` (energy: only administrators see cabinets that stand at
no station). Pages take `console_view(roles=...)`: the staff gate (login, and TOTP for the
roles that need it), the roles, and refusals as pages.

See docs/decisions/0014-region-scoping.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from nuanxin.common.errors import NotFound, PermissionDenied

# GB/T 2260 + township + village: the lengths of a code's levels (province ... community).
LEVEL_LENGTHS = (2, 4, 6, 9, 12)


@dataclass(frozen=True)
class Access:
    """What one person may see: a region prefix (staff; "" = all), or a partner, or nothing."""

    prefix: str | None = None
    role: str | None = None
    partner_id: int | None = None
    superuser: bool = False

    @property
    def is_staff(self) -> bool:
        return self.prefix is not None


NOBODY = Access()
_access: Callable[[Any], Access] = lambda user: NOBODY  # noqa: E731 (replaced at start-up)
_gate: Callable[[Any], Any] = lambda request: None  # noqa: E731


def register(*, access: Callable[[Any], Access], gate: Callable[[Any], Any]) -> None:
    """Called once by the accounts app: how to tell who a user is, and the staff gate (a
    function of the request returning a redirect to log in / pass TOTP, or None)."""
    global _access, _gate
    _access, _gate = access, gate


def access_of(user) -> Access:
    if user is None or not getattr(user, "is_authenticated", False):
        return NOBODY
    return _access(user)


def ancestor_prefixes(prefix: str) -> list[str]:
    """'330782001001' → ['33', '3307', '330782', '330782001', '330782001001']."""
    return [prefix[:n] for n in LEVEL_LENGTHS if n <= len(prefix)]


def covers(prefix: str | None, code: str | None) -> bool:
    """Whether the region `code` lies in the subtree named by `prefix` (None: no subtree)."""
    return prefix is not None and code is not None and str(code).startswith(prefix)


def in_scope(user, code: str | None) -> bool:
    return covers(access_of(user).prefix, code)


def region_q(path: str, prefix: str, *, match: str = "inside") -> Q:
    """Rows whose region (`path`, a ForeignKey chain to geo.Region; "" for regions
    themselves) is inside the subtree of `prefix` — or, with match="overlaps", inside it or
    above it."""
    if not prefix:
        return Q()
    to = f"{path}__" if path else ""
    q = Q(**{f"{to}code__startswith": prefix})
    if match == "overlaps":
        q |= Q(**{f"{to}prefix__in": ancestor_prefixes(prefix)})
    return q


def _fans_out(model, path: str) -> bool:
    """Whether following `path` can reach one row several times (a reverse ForeignKey or a
    many-to-many on the way), so the rows found through it need distinct()."""
    for name in path.split("__"):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return False
        if field.one_to_many or field.many_to_many:
            return True
        model = field.related_model
        if model is None:
            return False
    return False


class RegionScopedQuerySet(models.QuerySet):
    def in_region(self, prefix: str) -> RegionScopedQuerySet:
        model = self.model
        return self.filter(region_q(model.region_path, prefix,
                                    match=getattr(model, "region_match", "inside")))

    def staff_scope(self, access: Access) -> RegionScopedQuerySet:
        """What staff (and superusers, prefix "") see: their region subtree. Override to
        narrow it for some roles; never to widen it past the region."""
        return self.in_region(access.prefix)

    def visible_to(self, user) -> RegionScopedQuerySet:
        access = access_of(user)
        if access.prefix is not None:
            return self.staff_scope(access)
        partner_path = getattr(self.model, "partner_path", "")
        if access.partner_id is not None and partner_path:
            qs = self.filter(**{partner_path: access.partner_id})
            return qs.distinct() if _fans_out(self.model, partner_path) else qs
        return self.none()

    def get_visible_or_404(self, user, **lookup) -> models.Model:
        row = self.visible_to(user).filter(**lookup).first()
        if row is None:
            code, message = getattr(self.model, "not_found", ("not_found", _("找不到。")))
            raise NotFound(code, message)
        return row


def console_view(view=None, *, roles: Iterable[str] | None = None, partners: bool = False,
                 denied: Any = None):
    """The one front door of console pages.

    Staff pass the staff gate (logged in; TOTP done for the roles that need it); with
    `roles`, only those roles (and superusers) get in, others see a 403 page saying `denied`.
    With `partners=True`, a partner's users get in too. A NotFound / PermissionDenied raised
    by the page (or its services and selectors) becomes the friendly error page."""
    allowed = frozenset(roles) if roles is not None else None

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            access = access_of(request.user)
            if not (partners and access.partner_id is not None):
                stop = _gate(request)
                if stop is not None:
                    return stop
                access = access_of(request.user)
                if allowed is not None and not access.superuser and access.role not in allowed:
                    return _error_page(request, PermissionDenied(
                        "not_allowed", denied or _("没有权限访问这个页面。")))
            try:
                return view(request, *args, **kwargs)
            except (NotFound, PermissionDenied) as error:
                return _error_page(request, error)

        return wrapper

    return decorate(view) if view is not None else decorate


def _error_page(request, error):
    return render(request, "error.html", {"status": error.status, "message": error.message},
                  status=error.status)
