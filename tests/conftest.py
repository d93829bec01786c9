import os
import shutil

import pytest
from django.test import Client


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Every test database starts with Zhejiang's real region tree (loaded once)."""
    from nuanxin.geo.selectors import reset_locate_index
    from nuanxin.geo.services import regions_load_zhejiang

    with django_db_blocker.unblock():
        regions_load_zhejiang()
        # the platform kit's test models (tests/common): their rows point at users, so every
        # session has their tables, whichever folder's tests run first
        from tests.common.kit_models import create_tables

        create_tables()
    reset_locate_index()


@pytest.fixture(autouse=True)
def chinese():
    """Every test starts in the default language (a page requested in English leaves the
    thread's language switched for whatever runs next in that thread)."""
    from django.utils import translation

    translation.activate("zh-hans")
    yield
    translation.activate("zh-hans")


@pytest.fixture
def api():
    return Client(HTTP_HOST="127.0.0.1")


# --- Browser tests: Playwright driving Debian's chromium against the live test server.
# One session-wide browser for every test folder that has browser tests.


# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
# between page steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed: run `make test`, which installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def regions(transactional_db):
    """Transactional tests empty the tables afterwards; put the region tree back first."""
    from nuanxin.geo.selectors import reset_locate_index
    from tests.factories.places import regions_back

    regions_back()
    reset_locate_index()


@pytest.fixture
def sms_outbox(settings):
    from tests.browser import outbox

    settings.NUANXIN_SMS_SENDER = "tests.browser.outbox.capture"
    outbox.MESSAGES.clear()
    return outbox


@pytest.fixture
def new_page(browser, live_server, settings):
    """A phone-sized page (360 px) in Chinese; the test fails on any console error."""
    settings.NUANXIN_TILE_URL = ""  # no network at test time: markers on a plain background
    contexts, errors, allowed = [], [], []

    def make(**options):
        context = browser.new_context(
            viewport={"width": 360, "height": 740}, locale="zh-CN", base_url=live_server.url,
            **options,
        )
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: errors.append((m.text, m.location.get("url", "")))
                if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append((str(exc), "")))
        return page

    def allow_error_status(url_fragment: str) -> None:
        """An error page the test opens on purpose (its 4xx status is logged as an error)."""
        allowed.append(url_fragment)

    make.allow_error_status = allow_error_status
    yield make
    for context in contexts:
        context.close()
    unexpected = [
        text for text, url in errors
        if not (text.startswith("Failed to load resource") and any(f in url for f in allowed))
    ]
    assert unexpected == [], f"browser console errors: {unexpected}"
