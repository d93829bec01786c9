"""Schemathesis over the whole OpenAPI: no input, anonymous or as a logged-in rider, makes
the server fail (issue 8, item 5). Every 4xx carries the JSON error shape.

Examples per operation are few and derandomised so the run is short and the same on every
CI run; the explicit bad inputs live in test_request_errors.py.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, Phase, settings

from tests.factories.people import WorkerFactory

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", WSGIHandler())

EXAMPLES_PER_OPERATION = 6
FUZZ = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _check(case, response):
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}\n"
        f"{case.as_curl_command()}\n{response.text[:500]}"
    )
    if 400 <= response.status_code < 500 and response.headers.get("Content-Type", "") \
            .startswith("application/json"):
        body = json.loads(response.text)
        assert body.get("code") and body.get("message"), (case.as_curl_command(), body)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI app ends each request by closing old database connections; inside a test
    that would close the test's transaction. Django's own test client unhooks it the same
    way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def rider_cookies(db):
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    client = Client()
    client.force_login(WorkerFactory(home_region_code=None))
    token = _get_new_csrf_string()
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": token}, token


@pytest.mark.django_db
@schema.parametrize()
@FUZZ
def test_anonymous_requests_never_fail_the_server(case):
    _check(case, case.call())


@schema.parametrize()
@FUZZ
def test_a_riders_requests_never_fail_the_server(case, rider_cookies):
    cookies, token = rider_cookies
    # The schema declares the session cookie, so schemathesis may fill in one of its own:
    # replace it with the rider's. (Its WSGI client keeps cookies for its own host name,
    # so the Host header is left alone.)
    case.cookies = {**(case.cookies or {}), **cookies}
    response = case.call(headers={"X-CSRFToken": token})
    _check(case, response)
