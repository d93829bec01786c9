"""The navigation manifest: apps declare tabs, tiles and console entries; one registry
assembles the tab bar, the services page, back links and the console menu."""

import re

import pytest

from nuanxin.accounts.models import StaffRole
from nuanxin.common import manifest
from nuanxin.common.manifest import ConsoleLink, Manifest, Tab, Tile
from tests.accounts.factories import WorkerFactory
from tests.stations.factories import (
    QIANJIANGYUAN,
    YIJIASHAN,
    YIWU,
    StaffFactory,
    StationFactory,
    console_client,
)


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
    client.force_login(WorkerFactory())
    tiles = _tiles(client.get("/services/").content.decode())
    assert tiles[0] == "night_school"
    assert {"stations", "energy", "battery", "need_new", "needs", "surveys", "voice",
            "community"} <= set(tiles)
    keeper = StaffFactory(role=StaffRole.STATION_KEEPER)
    console_client(client, keeper)
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
    console_client(client, staff)
    menu = set(_console_menu(client.get("/console/").content.decode()))
    assert sees <= menu
    assert not (not_sees & menu)


@pytest.mark.django_db
def test_the_console_menu_marks_the_current_section(client):
    console_client(client, StaffFactory(role=StaffRole.COMMUNITY_STAFF))
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
    client.force_login(WorkerFactory())

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
    client.force_login(WorkerFactory())
    html = client.get("/services/").content.decode()
    assert 'href="/accounts/me/#home" data-tile="community"' in html
    client.force_login(WorkerFactory(home_region_code=QIANJIANGYUAN))
    html = client.get("/services/").content.decode()
    assert f'href="/communities/{QIANJIANGYUAN}/" data-tile="community"' in html


@pytest.mark.django_db
def test_staff_pages_carry_no_rider_tab_bar(client):
    console_client(client, StaffFactory(role=StaffRole.COMMUNITY_STAFF))
    html = client.get("/console/").content.decode()
    assert 'id="tabbar"' not in html and "data-scan" not in html
