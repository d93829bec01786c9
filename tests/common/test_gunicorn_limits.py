"""What a real gunicorn, started as `nuanxin run` starts it, answers to over-long addresses
(issue 8, item 5): up to its 8190-byte request line the application answers (JSON 414 on
the API); past that gunicorn itself refuses with its own small HTML 414, before any of our
code (behind nginx, nginx's 414 comes first: deploy/nginx.conf.example).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nuanxin.ops.management.commands.run import gunicorn_args

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    args = gunicorn_args(host="127.0.0.1", port=port, workers=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"),
           "DJANGO_SETTINGS_MODULE": "nuanxin.test_settings"}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", *args], env=env,  # noqa: S603
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.3)
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def _get(port: int, path: str):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.getheader("Content-Type", ""), response.read()


def test_an_api_address_longer_than_the_application_allows_is_a_json_414(server):
    status, content_type, body = _get(server, "/api/v1/ping?x=" + "a" * 6000)
    assert status == 414 and content_type.startswith("application/json")
    assert json.loads(body)["code"] == "url_too_long"


def test_past_gunicorns_line_limit_gunicorn_answers_its_own_414(server):
    status, _, body = _get(server, "/api/v1/ping?x=" + "a" * 9000)
    # gunicorn's own small HTML page; not JSON, but a 4xx that names the problem.
    assert status == 414 and b"Request Line is too large" in body
