"""The navigation manifest: apps declare tabs, tiles and console entries; one registry
assembles the tab bar, the services page, back links and the console menu."""

import re
from types import ModuleType

import pytest
from django.contrib import admin
from django.urls import include, path, resolve

from nuanxin.accounts.models import StaffRole
from nuanxin.accounts.personal_data import personal_data_export
from nuanxin.api import NuanxinAPI, api
from nuanxin.common import manifest, stats
from nuanxin.common.manifest import ConsoleLink, Manifest, Seeder, Tab, Tile, Urls
from tests.factories.people import StaffFactory, WorkerFactory, login
from tests.factories.places import QIANJIANGYUAN, YIJIASHAN, YIWU, StationFactory


def _declaring(monkeypatch, *extra):
    real = manifest.manifests()
    monkeypatch.setattr(manifest, "manifests",
                        lambda: real + [(f"extra{i}", m) for i, m in enumerate(extra)])


def _tiles(html: str) -> list[str]:
    return re.findall(r'data-tile="([^"]+)"', html)


def _tabs(html: str) -> list[str]:
    return re.findall(r'data-tab="([^"]+)"', html)


def _console_menu(html: str) -> list[str]:
    return re.findall(r'data-console="([^"]+)"', html)


def test_the_installed_apps_declare_a_consistent_manifest():
    assert manifest.check_manifests() == []
    assert [tab.key for tab in manifest.tabs()] == ["home", "energy", "services", "inbox", "me"]
    declared_roles = {role for _, m in manifest.manifests() for link in m.console
                      for role in (link.roles or ())}
    assert declared_roles <= set(StaffRole.values)


def test_a_clash_or_a_missing_page_is_reported(monkeypatch):
    _declaring(monkeypatch, Manifest(
        tabs=(Tab("home", "again", "stations:home", icon="nuanxin/icons/home.svg"),),
        tiles=(Tile("ghost", "ghost", "nowhere:page", icon="nuanxin/icons/home.svg"),),
        back={"ghost": "nowhere:list"},
    ))
    messages = [error.msg for error in manifest.check_manifests()]
    assert any("tab 'home'" in m and "already declared" in m for m in messages)
    assert any("'nowhere:page'" in m for m in messages)
    assert any("'nowhere:list'" in m for m in messages)


@pytest.mark.django_db
def test_a_new_app_adds_a_tile_and_a_console_entry_by_declaring_them(client, monkeypatch):
    _declaring(monkeypatch, Manifest(
        tiles=(Tile("night_school", "夜校", "surveys:list", icon="nuanxin/icons/survey.svg",
                    order=1),),
        console=(ConsoleLink("night_school", "夜校", "surveys_console:list", order=1),),
    ))
    client.force_login(WorkerFactory(home_region_code=None))
    tiles = _tiles(client.get("/services/").content.decode())
    assert tiles[0] == "night_school"
    assert {"stations", "energy", "battery", "need_new", "needs", "surveys", "voice",
            "community"} <= set(tiles)
    keeper = StaffFactory(role=StaffRole.STATION_KEEPER)
    login(client, keeper)
    assert _console_menu(client.get("/console/").content.decode())[0] == "night_school"


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "region", "superuser", "sees", "not_sees"), [
    (StaffRole.STATION_KEEPER, YIJIASHAN, False,
     {"stations", "needs", "energy", "alliance", "campaigns", "import"},
     {"surveys", "visits", "voice", "admin"}),
    (StaffRole.COMMUNITY_STAFF, YIJIASHAN, False,
     {"stations", "needs", "surveys", "visits", "voice"}, {"admin"}),
    (StaffRole.DISTRICT_ADMIN, YIWU, True, {"stations", "surveys", "voice", "admin"}, set()),
])
def test_the_console_menu_shows_each_role_its_entries(client, role, region, superuser, sees,
                                                      not_sees):
    staff = StaffFactory(role=role, region_code=region)
    if superuser:
        staff.is_superuser = True
        staff.save(update_fields=["is_superuser"])
    login(client, staff)
    menu = set(_console_menu(client.get("/console/").content.decode()))
    assert sees <= menu
    assert not (not_sees & menu)


@pytest.mark.django_db
def test_the_console_menu_marks_the_current_section(client):
    login(client, StaffFactory())
    html = client.get("/console/surveys/visits/plan/").content.decode()
    assert re.search(r'class="active" aria-current="page" data-console="visits"', html)
    html = client.get("/console/needs/").content.decode()
    assert re.search(r'class="active" aria-current="page" data-console="needs"', html)


def _back(html: str):
    found = re.search(r'<a class="back" href="([^"]+)" id="back-link">.*?</span> ([^<]+)</a>', html)
    return (found.group(1), found.group(2).strip()) if found else None


def _active_tab(html: str):
    found = re.search(r'class="tab active"[^>]*data-tab="([^"]+)"', html)
    return found.group(1) if found else None


@pytest.mark.django_db
def test_rider_pages_light_their_tab_and_lead_back(client):
    station = StationFactory(region_code=QIANJIANGYUAN)
    client.force_login(WorkerFactory(home_region_code=None))

    home = client.get("/").content.decode()
    assert _tabs(home) == ["home", "energy", "services", "inbox", "me"]
    assert _active_tab(home) == "home" and _back(home) is None

    page = client.get(f"/stations/{station.pk}/").content.decode()
    assert _active_tab(page) == "home" and _back(page) == ("/", "首页")

    page = client.get("/needs/new/").content.decode()
    assert _active_tab(page) == "services" and _back(page) == ("/services/", "服务")

    page = client.get(f"/communities/{QIANJIANGYUAN}/").content.decode()
    assert _active_tab(page) == "services" and _back(page) == ("/services/", "服务")

    page = client.get("/accounts/privacy/").content.decode()
    assert _active_tab(page) == "me" and _back(page) == ("/accounts/me/", "我的")

    page = client.get("/services/").content.decode()
    assert _active_tab(page) == "services" and _back(page) is None


@pytest.mark.django_db
def test_my_community_tile_leads_to_my_community_or_to_choosing_one(client):
    client.force_login(WorkerFactory(home_region_code=None))
    html = client.get("/services/").content.decode()
    assert 'href="/accounts/me/#home" data-tile="community"' in html
    client.force_login(WorkerFactory(home_region_code=QIANJIANGYUAN))
    html = client.get("/services/").content.decode()
    assert f'href="/communities/{QIANJIANGYUAN}/" data-tile="community"' in html


@pytest.mark.django_db
def test_staff_pages_carry_no_rider_tab_bar(client):
    login(client, StaffFactory())
    html = client.get("/console/").content.decode()
    assert 'id="tabbar"' not in html and "data-scan" not in html


# The API's paths when the routers were still listed by hand in api.py: assembling them from
# the manifests changed none. Add a path here when you add an endpoint on purpose.
API_PATHS = [
    "/api/v1/alliance/needs/{need_id}/matches",
    "/api/v1/alliance/projects",
    "/api/v1/alliance/projects/{project_id}",
    "/api/v1/alliance/resources",
    "/api/v1/alliance/routings",
    "/api/v1/alliance/routings/{routing_id}/answer",
    "/api/v1/auth/csrf",
    "/api/v1/auth/logout",
    "/api/v1/auth/sms-codes",
    "/api/v1/auth/sms-login",
    "/api/v1/cabinets/nearby",
    "/api/v1/cabinets/{serial}",
    "/api/v1/energy/me",
    "/api/v1/me",
    "/api/v1/needs",
    "/api/v1/needs/merge",
    "/api/v1/needs/{need_id}",
    "/api/v1/needs/{need_id}/accept",
    "/api/v1/needs/{need_id}/decline",
    "/api/v1/needs/{need_id}/me-too",
    "/api/v1/needs/{need_id}/not-feasible",
    "/api/v1/needs/{need_id}/rating",
    "/api/v1/needs/{need_id}/reopen",
    "/api/v1/needs/{need_id}/resolve",
    "/api/v1/needs/{need_id}/similar",
    "/api/v1/people/{user_id}/phone",
    "/api/v1/ping",
    "/api/v1/regions/locate",
    "/api/v1/regions/outlines",
    "/api/v1/regions/{code}",
    "/api/v1/reservations",
    "/api/v1/stations.geojson",
    "/api/v1/stations/checkins",
    "/api/v1/stations/nearby",
    "/api/v1/stations/{station_id}",
    "/api/v1/surveys",
    "/api/v1/surveys/mine",
    "/api/v1/surveys/{survey_id}",
    "/api/v1/surveys/{survey_id}/questions/{question_id}/texts",
    "/api/v1/surveys/{survey_id}/responses",
    "/api/v1/surveys/{survey_id}/results",
    "/api/v1/surveys/{survey_id}/results/crosstab",
    "/api/v1/swaps",
    "/api/v1/swaps/{swap_id}",
    "/api/v1/swaps/{swap_id}/cancel",
    "/api/v1/voice/stories",
    "/api/v1/voice/stories/mine",
]


def test_the_api_is_assembled_from_the_manifests_with_the_same_paths():
    assert sorted(api.get_openapi_schema()["paths"]) == API_PATHS


@pytest.mark.parametrize(("url", "view_name"), [
    ("/console/needs/", "needs_console:list"),
    ("/console/energy/", "energy_console:overview"),
    ("/console/", "console:stations"),
    ("/console/import/", "console:import"),
    ("/services/", "shell:services"),
    ("/communities/330782001001/", "accountability:community"),
    ("/", "stations:home"),
    ("/energy/me/", "energy:me"),
])
def test_each_address_reaches_its_page_with_the_broad_includes_last(url, view_name):
    assert resolve(url).view_name == view_name
    prefixes = [u.prefix for u in manifest.url_includes()]
    assert prefixes[-3:] == ["console/", "", ""]


def test_the_demo_seeders_run_in_the_order_the_demo_data_was_made_in():
    # The built-in seeders share one random stream: this order is the demo data.
    assert [s.key for s in manifest.seeders()] == [
        "regions", "stations", "people", "needs", "surveys", "alliance", "voice", "energy"]


def _nowhere(ctx):
    pass


def test_a_hidden_include_a_seeder_out_of_order_or_a_wrong_path_is_reported(monkeypatch):
    _declaring(monkeypatch, Manifest(
        urls=(Urls("console/", "nuanxin.common.urls", order=1),),
        seeders=(Seeder("early", _nowhere, order=1, after=("needs",)),
                 Seeder("lost", _nowhere, order=200, after=("nowhere",)),
                 Seeder("renamed", "nuanxin.needs.demo.seed_gone", order=300)),
        exporters={"gone": "nuanxin.needs.personal_data.export_gone"},
        figures="nuanxin.needs.no_figures",
    ))
    messages = [error.msg for error in manifest.check_manifests()]
    assert any("'console/needs/'" in m and "comes after 'console/'" in m for m in messages)
    assert "seeder 'early' must run after 'needs': give it a higher order" in messages
    assert "seeder 'lost' runs after 'nowhere', which no app declares" in messages
    for name in ("seeder 'renamed'", "exporter 'gone'", "figures 'nuanxin.needs.no_figures'"):
        assert any(m.startswith(name) and "cannot be imported" in m for m in messages), name


@pytest.fixture
def nightschool(settings):
    """Install the made-up app tests/common/nightschool (one line in INSTALLED_APPS) and
    assemble the URL map and the API as nuanxin/urls.py and nuanxin/api.py do."""
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "tests.common.nightschool"]
    fresh_api = NuanxinAPI(urls_namespace="api")
    manifest.mount_routers(fresh_api)
    urlconf = ModuleType("nightschool_urlconf")
    urlconf.urlpatterns = [path("api/", fresh_api.urls), path("admin/", admin.site.urls),
                           path("i18n/", include("django.conf.urls.i18n")),
                           *manifest.url_patterns()]
    settings.ROOT_URLCONF = urlconf
    yield fresh_api
    stats._registry.pop("nightschool.lessons", None)


@pytest.mark.django_db
def test_a_new_app_is_one_line_in_installed_apps(client, nightschool):
    assert manifest.check_manifests() == []
    assert client.get("/nightschool/").content.decode() == "夜校课程表"
    assert client.get("/api/v1/nightschool/lessons").json() == [{"title": "电动车安全"}]
    assert "/api/v1/nightschool/lessons" in nightschool.get_openapi_schema()["paths"]
    # Every app's routers too (ping is api.py's own).
    assert set(API_PATHS) - {"/api/v1/ping"} < set(nightschool.get_openapi_schema()["paths"])

    worker = WorkerFactory(home_region_code=None)
    client.force_login(worker)
    assert _tiles(client.get("/services/").content.decode())[0] == "nightschool"
    assert personal_data_export(worker)["nightschool"] == [
        {"lesson": "电动车安全", "who": worker.pk}]

    login(client, StaffFactory(role=StaffRole.STATION_KEEPER))
    assert _console_menu(client.get("/console/").content.decode())[0] == "nightschool"
    assert client.get("/console/nightschool/").content.decode() == "夜校管理"
    assert client.get("/console/needs/").status_code == 200

    assert [s.key for s in manifest.seeders()][-2:] == ["energy", "nightschool"]
    assert stats.stat("nightschool.lessons").compute("", None, None) == 2
