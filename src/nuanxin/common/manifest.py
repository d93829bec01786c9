"""What each app contributes to the shared navigation, declared in its AppConfig.

After Decidim's component manifest: an app sets `manifest = Manifest(...)` on its AppConfig
and the riders' tab bar, the services page (服务), the back links and the console menu are
assembled from every installed app's manifest, in INSTALLED_APPS order and then by `order`.
A new capability adds its pages by declaring them here; it edits no shared template.

    class ChildcareConfig(AppConfig):
        name = "nuanxin.childcare"
        manifest = Manifest(
            tiles=(Tile("childcare", _("暑托班"), "childcare:list",
                        icon="childcare/icon.svg", order=60),),
            console=(ConsoleLink("childcare", _("暑托班"), "childcare_console:list",
                                 roles=MANAGERS, order=60),),
            back={"childcare": "childcare:list"},
        )

More kinds of contribution (API router, URLs, demo seeder, figures, personal-data
exporters) are meant to become further fields of `Manifest`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core import checks
from django.urls import NoReverseMatch, reverse

SERVICES = "shell:services"


@dataclass(frozen=True)
class Tab:
    """An entry of the riders' bottom tab bar (keep the bar to five)."""

    key: str
    label: Any  # a lazy translation
    url_name: str
    icon: str  # a static path of a square SVG
    order: int = 100
    # URL namespaces (or full view names) whose pages light this tab up.
    sections: tuple[str, ...] = ()
    # The name of a template context value shown as a count on the tab (e.g. unread messages).
    badge: str = ""
    element_id: str = ""


@dataclass(frozen=True)
class Tile:
    """A tile on the riders' services page."""

    key: str
    label: Any
    url_name: str
    icon: str
    order: int = 100
    hint: Any = ""
    # For a page that depends on the rider (their community): returns the address, or None
    # to leave the tile out. Without it the tile links to `url_name`.
    url: Callable[[Any], str | None] | None = None


@dataclass(frozen=True)
class ConsoleLink:
    """An entry of the staff console's menu."""

    key: str
    label: Any
    url_name: str
    order: int = 100
    # Staff roles (StaffRole values) that see it; None for every staff member.
    roles: frozenset[str] | None = None
    superuser_only: bool = False
    # URL namespaces (or full view names) whose pages mark this entry as current.
    sections: tuple[str, ...] = ()


@dataclass(frozen=True)
class Manifest:
    tabs: tuple[Tab, ...] = ()
    tiles: tuple[Tile, ...] = ()
    console: tuple[ConsoleLink, ...] = ()
    # Where a page's back link leads: a namespace or view name -> the view name of its parent.
    back: dict[str, str] = field(default_factory=dict)
    # How another app shows a reference to one of this app's records ("alliance.project:4"
    # on a need): kind -> function(id, user) returning (title, console address) or None.
    references: dict[str, Callable[[str, Any], tuple[str, str] | None]] = field(
        default_factory=dict)


@dataclass(frozen=True)
class Back:
    label: Any
    url: str


@dataclass(frozen=True)
class Reference:
    title: str
    url: str


def manifests() -> list[tuple[str, Manifest]]:
    """(app label, manifest) of every installed app that declares one."""
    return [(config.label, config.manifest) for config in apps.get_app_configs()
            if isinstance(getattr(config, "manifest", None), Manifest)]


def _sorted(items: Iterable) -> list:
    return sorted(items, key=lambda item: item.order)


def tabs() -> list[Tab]:
    return _sorted(tab for _, m in manifests() for tab in m.tabs)


def tiles() -> list[Tile]:
    return _sorted(tile for _, m in manifests() for tile in m.tiles)


def tile_links(request) -> list[tuple[Tile, str]]:
    """The services page's tiles with their addresses for this visitor."""
    links = []
    for tile in tiles():
        url = tile.url(request) if tile.url is not None else reverse(tile.url_name)
        if url:
            links.append((tile, url))
    return links


def resolve_reference(ref: str, user) -> Reference | None:
    """A reference "<kind>:<id>" as its record's title and address, via the app owning it."""
    kind, sep, object_id = (ref or "").rpartition(":")
    if not sep:
        return None
    for _, m in manifests():
        if kind in m.references:
            found = m.references[kind](object_id, user)
            return Reference(*found) if found else None
    return None


def _staff_role(user) -> str | None:
    # Any object with a `role`: this module sits below accounts and must not import it.
    profile = getattr(user, "staff_profile", None)
    return getattr(profile, "role", None)


def console_links(user) -> list[ConsoleLink]:
    """The console menu entries this person may see."""
    if not getattr(user, "is_authenticated", False):
        return []
    superuser = user.is_superuser
    role = _staff_role(user)
    shown = []
    for link in _sorted(link for _, m in manifests() for link in m.console):
        if link.superuser_only:
            visible = superuser
        else:
            visible = superuser or (role is not None
                                    and (link.roles is None or role in link.roles))
        if visible:
            shown.append(link)
    return shown


def _namespace(view_name: str) -> str:
    return view_name.rpartition(":")[0]


def _pick(entries: list, match) -> Any:
    """The entry a page belongs to: its own page first, then a section naming the page,
    then a section naming the page's namespace."""
    if match is None or not match.view_name:
        return None
    for test in (lambda e: e.url_name == match.view_name,
                 lambda e: match.view_name in e.sections,
                 lambda e: match.namespace in e.sections):
        for entry in entries:
            if test(entry):
                return entry
    return None


def _tile_namespaces() -> set[str]:
    return {_namespace(tile.url_name) for tile in tiles()}


def current_tab(match) -> Tab | None:
    """The tab lit for a page; pages reached from the services page light 服务."""
    all_tabs = tabs()
    tab = _pick(all_tabs, match)
    if tab is None and match is not None and match.namespace in _tile_namespaces():
        tab = next((t for t in all_tabs if t.url_name == SERVICES), None)
    return tab


def current_console_link(match, links: list[ConsoleLink]) -> ConsoleLink | None:
    return _pick(links, match)


def _label_for(url_name: str) -> Any:
    for entry in [*tabs(), *tiles()]:
        if entry.url_name == url_name:
            return entry.label
    return None


def back_for(match) -> Back | None:
    """A page's way back: none on a tab's own page; the services page from a tile's page;
    else the parent its app declares (by view name, then namespace); else the services page
    for the rest of a tile's app; else the first tab (home)."""
    if match is None or not match.view_name:
        return None
    view_name = match.view_name
    all_tabs = tabs()
    if any(tab.url_name == view_name for tab in all_tabs):
        return None
    declared: dict[str, str] = {}
    for _, m in manifests():
        declared.update(m.back)
    if any(tile.url_name == view_name for tile in tiles()):
        parent = SERVICES
    else:
        parent = declared.get(view_name) or declared.get(match.namespace)
        if parent is None and match.namespace in _tile_namespaces():
            parent = SERVICES
    if parent is None and all_tabs:
        parent = all_tabs[0].url_name
    if parent is None or parent == view_name:
        return None
    try:
        return Back(_label_for(parent), reverse(parent))
    except NoReverseMatch:
        return None


@checks.register()
def check_manifests(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every key is unique within its kind and every declared page exists."""
    errors: list[checks.CheckMessage] = []
    seen: dict[tuple[str, str], str] = {}
    for app_label, m in manifests():
        entries = [("tab", t) for t in m.tabs] + [("tile", t) for t in m.tiles] + [
            ("console", c) for c in m.console]
        for kind, entry in entries:
            owner = seen.setdefault((kind, entry.key), app_label)
            if owner != app_label:
                errors.append(checks.Error(
                    f"{kind} {entry.key!r} of {app_label} is already declared by {owner}",
                    id="nuanxin.E001"))
        # A tile with its own `url` may name a page that takes arguments.
        pages = [(kind, e.key, e.url_name) for kind, e in entries
                 if getattr(e, "url", None) is None]
        pages += [("back", key, parent) for key, parent in m.back.items()]
        for kind, key, url_name in pages:
            try:
                reverse(url_name)
            except NoReverseMatch:
                errors.append(checks.Error(
                    f"{kind} {key!r} of {app_label} names no page: {url_name!r}",
                    id="nuanxin.E002"))
    return errors
