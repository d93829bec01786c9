"""A new rider finds every rider page from `/` by following what the pages show.

The crawl is what a rider without a shared location can do: follow same-origin links and
submit GET forms (a district picked from a list) — never POST, never the console."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from tests.factories.energy import cabinet
from tests.factories.people import WorkerFactory
from tests.factories.places import QIANJIANGYUAN, StationFactory

pytestmark = pytest.mark.django_db

SKIP = re.compile(r"^/(console|partner|admin|api|i18n|media|static)/|\.(json|xlsx|png|svg)$")


class _Page(HTMLParser):
    """The links and GET forms of a page (a form's fields and each select's first choice)."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict] = []
        self._form = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href") and "download" not in a:
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {"action": a.get("action") or "",
                          "method": (a.get("method") or "get").lower(), "fields": {}}
            self.forms.append(self._form)
        elif self._form is not None and tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            if kind in ("hidden", "text", "search") or (kind in ("checkbox", "radio")
                                                        and "checked" in a):
                self._form["fields"].setdefault(a["name"], a.get("value") or "")
        elif self._form is not None and tag == "select" and a.get("name"):
            self._select = a["name"]
        elif self._select and tag == "option" and a.get("value"):
            self._form["fields"].setdefault(self._select, a["value"])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def crawl(client, start="/", limit=300):
    """{url: (status, html or None)} of every page reached."""
    seen, statuses, queue = set(), {}, deque([start])
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        statuses[url] = (response.status_code, None)
        if response.status_code in (301, 302):
            queue.append(response["Location"])
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        statuses[url] = (response.status_code, html)
        page = _Page()
        page.feed(html)
        targets = list(page.links)
        for form in page.forms:
            if form["method"] == "get" and form["fields"]:
                action = form["action"] or urlsplit(url).path
                targets.append(f"{action}?{urlencode(form['fields'])}")
        for href in targets:
            parts = urlsplit(urljoin("http://testserver" + url, href))
            if parts.scheme not in ("http", "") or parts.netloc not in ("testserver", ""):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if not SKIP.search(parts.path) and target not in seen:
                queue.append(target)
    return statuses


def test_a_new_rider_reaches_every_rider_page_from_home(client):
    station = StationFactory(region_code=QIANJIANGYUAN)
    cab = cabinet(region_code=QIANJIANGYUAN, station=station)
    # just signed up: no home community, no location shared
    rider = WorkerFactory(home_region_code=None)
    client.force_login(rider)

    statuses = crawl(client)
    paths = {urlsplit(url).path for url in statuses}

    expected = {
        "/": "home, nearest stations",
        f"/stations/{station.pk}/": "a station",
        "/energy/": "cabinets nearby",
        f"/energy/cabinets/{cab.serial}/": "a cabinet",
        "/energy/me/": "my battery",
        "/needs/": "my needs",
        "/needs/new/": "raise a need",
        "/surveys/": "surveys",
        "/voice/new/": "say something",
        f"/communities/{QIANJIANGYUAN}/": "the station's community",
        "/accounts/inbox/": "messages",
        "/accounts/me/": "me",
        "/services/": "services",
    }
    missing = {path: what for path, what in expected.items() if path not in paths}
    assert missing == {}
    broken = {url: status for url, (status, _html) in statuses.items() if status >= 400}
    assert broken == {}
    # Every page but a tab's own has a way back.
    tab_pages = {"/", "/energy/", "/services/", "/accounts/inbox/", "/accounts/me/"}
    stranded = [url for url, (_status, html) in statuses.items()
                if html and urlsplit(url).path not in tab_pages and 'id="back-link"' not in html]
    assert stranded == []
