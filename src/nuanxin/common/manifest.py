"""What each app contributes to the platform, declared in its AppConfig.

After Decidim's component manifest: an app sets `manifest = Manifest(...)` on its AppConfig
and the platform assembles itself from every installed app's manifest, in INSTALLED_APPS
order and then by `order`: the riders' tab bar, the services page (服务), the back links and
the console menu; the URL map (`nuanxin/urls.py`); the JSON API's routers (`nuanxin/api.py`);
`nuanxin seed`; the dashboards' figures (`common/stats.py`); the personal-data export and
the erasers that run when a worker deletes their account (`accounts/personal_data.py`).
A new capability is one line in INSTALLED_APPS plus its own folder; it edits no shared file.

    class ChildcareConfig(AppConfig):
        name = "nuanxin.childcare"
        manifest = Manifest(
            tiles=(Tile("childcare", _("暑托班"), "childcare:list",
                        icon="childcare/icon.svg", order=60),),
            console=(ConsoleLink("childcare", _("暑托班"), "childcare_console:list",
                                 roles=MANAGER_ROLES, order=60),),
            back={"childcare": "childcare:list"},
            urls=(Urls("childcare/", "nuanxin.childcare.urls"),
                  Urls("console/childcare/", "nuanxin.childcare.console_urls")),
            api=(Api("/v1/childcare", "nuanxin.childcare.api.router"),),
            seeders=(Seeder("childcare", "nuanxin.childcare.demo.seed_childcare",
                            order=90, after=("people", "stations")),),
            figures="nuanxin.childcare.figures",
            exporters={"childcare": "nuanxin.childcare.personal_data.export_childcare"},
        )

Code is named by dotted path ("module.attribute", as Django's settings do) because an
AppConfig is read before models may be imported; `check_manifests` imports every path, so
a renamed function fails `nuanxin check` and the tests, not a page at run time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.core import checks
from django.urls import NoReverseMatch, Resolver404, include, path, resolve, reverse
from django.utils.module_loading import import_string

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


# A dotted path ("package.module.attribute") or the object itself.
Ref = str | Callable[..., Any]

# The `order` of an include or router at a prefix others extend ("console/", "/v1"): after
# those; and of a catch-all URL include (prefix ""): after every other include.
BROAD = 500
LAST = 1000


@dataclass(frozen=True)
class Urls:
    """A URL module mounted at `prefix` ("needs/", "console/needs/", "" for the site root).

    Includes are tried by `order`, then INSTALLED_APPS order. One whose prefix starts
    another's must come after it ("console/" after "console/needs/", "" last), which the
    system check enforces: Django would give it the other's pages."""

    prefix: str
    module: str  # dotted path of a URL module that sets app_name
    order: int = 100


@dataclass(frozen=True)
class Api:
    """A Ninja router mounted on the one API at `prefix` ("/v1/needs")."""

    prefix: str
    router: Ref
    order: int = 100


@dataclass(frozen=True)
class Seeder:
    """A step of `nuanxin seed`: `run(ctx)` writes this app's demo data (`ctx` is a
    SeedContext). Steps run by `order`; `after` names the steps whose data this one reads,
    which the system check holds to come first.

    The built-in steps draw from one shared random stream, so moving one changes the data
    of every later one; a new step should draw from `ctx.stream(key)`, its own stream."""

    key: str
    run: Ref
    order: int
    after: tuple[str, ...] = ()


@dataclass
class SeedContext:
    """What `nuanxin seed` hands each seeder."""

    seed_number: int
    rng: random.Random  # the built-in seeders' shared stream
    now: datetime
    progress: Callable[[str], None]
    stations: int  # how many stations and workers the scale asks for
    workers: int
    demo_rider_phone: str  # the rider the demo logs in as
    logins: list = field(default_factory=list)  # printed after seeding

    def stream(self, key: str) -> random.Random:
        """A random stream of one seeder's own, the same for every run with this seed
        number whatever other seeders draw (a string seed is hashed stably)."""
        return random.Random(f"{self.seed_number}:{key}")


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
    # The same for many references at once (an export of thousands of needs): kind -> dotted
    # path of function(list of refs) returning {ref: title} for those it knows.
    reference_titles: dict[str, Ref] = field(default_factory=dict)
    urls: tuple[Urls, ...] = ()
    api: tuple[Api, ...] = ()
    seeders: tuple[Seeder, ...] = ()
    # The module whose import registers this app's figures (common.stats.register_stat).
    figures: str = ""
    # Sections of a person's data export: name -> function(user) returning JSON-able data.
    exporters: dict[str, Ref] = field(default_factory=dict)
    # What to remove when a worker deletes their account, for data kept other than by a
    # foreign key to the user (which CASCADE removes): name -> function(user).
    erasers: dict[str, Ref] = field(default_factory=dict)
    # What the login page says when a logged-out person is sent there from one of this app's
    # pages (a QR code's address): view name -> function(**the view's URL arguments)
    # returning the sentence, or None when the arguments name nothing real.
    login_purposes: dict[str, Ref] = field(default_factory=dict)


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


def reference_titles(refs) -> dict[str, str]:
    """Reference -> its record's title, for many references in one query per kind."""
    by_kind: dict[str, list[str]] = {}
    for ref in refs:
        kind, sep, _id = (ref or "").rpartition(":")
        if sep:
            by_kind.setdefault(kind, []).append(ref)
    titles: dict[str, str] = {}
    for _, m in manifests():
        for kind, dotted in m.reference_titles.items():
            if by_kind.get(kind):
                titles.update(import_string(dotted)(by_kind[kind]))
    return titles


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


def load(ref: Ref) -> Any:
    return import_string(ref) if isinstance(ref, str) else ref


def _ranked(kind: str) -> list:
    """Entries of one kind by (order, INSTALLED_APPS order, declaration order)."""
    ranked = [(entry.order, app_index, i, entry)
              for app_index, (_, m) in enumerate(manifests())
              for i, entry in enumerate(getattr(m, kind))]
    return [entry for *_, entry in sorted(ranked, key=lambda row: row[:3])]


def url_includes() -> list[Urls]:
    return _ranked("urls")


def url_patterns() -> list:
    """Every app's URL modules, in the order Django must try them."""
    return [path(u.prefix, include(u.module)) for u in url_includes()]


def api_routers() -> list[Api]:
    return _ranked("api")


def mount_routers(api) -> None:
    """Add every app's routers to `api` (a NinjaAPI)."""
    for entry in api_routers():
        api.add_router(entry.prefix, load(entry.router))


def seeders() -> list[Seeder]:
    """The steps of `nuanxin seed`, in the order they run."""
    return _ranked("seeders")


def figure_modules() -> list[str]:
    return [m.figures for _, m in manifests() if m.figures]


def exporters() -> dict[str, Callable[[Any], Any]]:
    return {name: load(ref) for _, m in manifests() for name, ref in m.exporters.items()}


def erasers() -> dict[str, Callable[[Any], None]]:
    return {name: load(ref) for _, m in manifests() for name, ref in m.erasers.items()}


def login_purpose(next_path: str) -> str | None:
    """Why a person is logging in, from where they will be sent after (a path on this
    site): only the shapes an app declares, told from the records they name."""
    try:
        match = resolve(urlsplit(next_path).path)
    except Resolver404:
        return None
    for _, m in manifests():
        if match.view_name in m.login_purposes:
            return load(m.login_purposes[match.view_name])(**match.kwargs)
    return None


def _check_refs(app_label: str, m: Manifest) -> list[checks.CheckMessage]:
    refs = [("api router", a.prefix, a.router) for a in m.api]
    refs += [("seeder", s.key, s.run) for s in m.seeders]
    refs += [("exporter", n, r) for n, r in m.exporters.items()]
    refs += [("login purpose", n, r) for n, r in m.login_purposes.items()]
    refs += [("eraser", n, r) for n, r in m.erasers.items()]
    refs += [("url module", u.prefix, u.module + ".urlpatterns") for u in m.urls]
    refs += [("figures", m.figures, m.figures)] if m.figures else []
    errors = []
    for kind, key, ref in refs:
        if not isinstance(ref, str):
            continue
        try:
            import_module(ref) if kind == "figures" else import_string(ref)
        except ImportError as exc:
            errors.append(checks.Error(f"{kind} {key!r} of {app_label} cannot be imported: "
                                       f"{exc}", id="nuanxin.E003"))
    return errors


def _check_order() -> list[checks.CheckMessage]:
    """No URL include hidden by an earlier one; every seeder after what it reads; one
    owner for each seeder key, export section and eraser."""
    errors = []
    includes = url_includes()
    for i, early in enumerate(includes):
        for late in includes[i + 1:]:
            if late.prefix != early.prefix and late.prefix.startswith(early.prefix):
                errors.append(checks.Error(
                    f"URL include {late.prefix!r} ({late.module}) comes after "
                    f"{early.prefix!r} ({early.module}), which may hide its pages: give it "
                    f"a lower order", id="nuanxin.E004"))
    position = {}
    for i, seeder in enumerate(seeders()):
        if seeder.key in position:
            errors.append(checks.Error(f"seeder {seeder.key!r} is declared twice",
                                       id="nuanxin.E005"))
        position[seeder.key] = i
    for i, seeder in enumerate(seeders()):
        for needed in seeder.after:
            if needed not in position:
                errors.append(checks.Error(f"seeder {seeder.key!r} runs after {needed!r}, "
                                           f"which no app declares", id="nuanxin.E005"))
            elif position[needed] > i:
                errors.append(checks.Error(f"seeder {seeder.key!r} must run after "
                                           f"{needed!r}: give it a higher order",
                                           id="nuanxin.E005"))
    owners: dict[tuple[str, str], str] = {}
    for app_label, m in manifests():
        for kind, names in (("export section", m.exporters), ("eraser", m.erasers)):
            for name in names:
                owner = owners.setdefault((kind, name), app_label)
                if owner != app_label:
                    errors.append(checks.Error(f"{kind} {name!r} of {app_label} is already "
                                               f"declared by {owner}", id="nuanxin.E006"))
    return errors


@checks.register()
def check_manifests(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every key is unique within its kind, every declared page exists, every dotted path
    imports, and the URL includes and seeders are in an order that works."""
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
        errors += _check_refs(app_label, m)
    return errors + _check_order()
