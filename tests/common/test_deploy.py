"""Production settings come from the environment; the shipped production environment passes
`check --deploy`; uploads are served so they can never run as pages (issue 8, item 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "production.env.example"


def _env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def _check_deploy(extra: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NUANXIN_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))}
    env.update({"PYTHONPATH": str(ROOT / "src"), "DJANGO_SETTINGS_MODULE": "nuanxin.settings",
                **extra, "NUANXIN_VAR_DIR": str(tmp_path)})
    return subprocess.run(  # noqa: S603 - our own interpreter and command
        [sys.executable, "-m", "nuanxin", "check", "--deploy", "--fail-level", "WARNING"],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )


def test_the_shipped_production_environment_passes_check_deploy(tmp_path):
    result = _check_deploy(_env_file(EXAMPLE), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_demo_defaults_are_plain_http_and_check_deploy_says_so(tmp_path):
    result = _check_deploy({}, tmp_path)
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stdout + result.stderr


@pytest.mark.django_db
def test_the_demo_answers_on_plain_http(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 200


@pytest.mark.django_db
def test_with_https_on_pages_redirect_but_the_health_probe_does_not(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/accounts/login/").status_code == 301
    assert client.get("/healthz").status_code == 200
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200


@pytest.fixture
def uploads(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    (tmp_path / "evil.html").write_text("<script>alert(1)</script>")
    (tmp_path / "evil.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg">'
                                       "<script>alert(1)</script></svg>")
    return tmp_path


@pytest.mark.django_db
def test_an_uploaded_image_is_shown_with_no_sniffing(client, uploads):
    response = client.get("/media/photo.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "attachment" not in response.get("Content-Disposition", "")


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["evil.html", "evil.svg"])
def test_an_uploaded_page_or_svg_is_a_download_that_cannot_run(client, uploads, name):
    response = client.get(f"/media/{name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == "attachment"
    assert "sandbox" in response["Content-Security-Policy"]


def test_the_nginx_example_serves_media_with_the_same_headers():
    conf = (ROOT / "deploy" / "nginx.conf.example").read_text()
    media = conf[conf.index("location /media/"):]
    assert "nosniff" in media and "Content-Disposition" in media and "sandbox" in media
    assert "X-Forwarded-Proto $scheme" in conf
