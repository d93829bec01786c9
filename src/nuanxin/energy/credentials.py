"""Cabinets' broker credentials: one user per cabinet (username = its serial).

A cabinet's password is derived, not stored: HMAC-SHA256(SECRET_KEY, "cabinet:" + serial).
The server can always recompute it (to print it for the technician commissioning the
cabinet, or to rebuild the broker's password file), and the database holds nothing a leak
would expose. Rotating SECRET_KEY rotates every cabinet's password; re-flash the cabinets
and rewrite the password file together.

    nuanxin energy credentials --passwd-file /etc/mosquitto/nuanxin.passwd

writes a Mosquitto password file (hashed with `mosquitto_passwd -U`) with every cabinet and
the server's own user (MQTT_USERNAME / MQTT_PASSWORD); then reload Mosquitto (SIGHUP).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

__all__ = ["cabinet_password", "server_credentials", "passwd_file_write", "main",
           "SERVER_USERNAME"]

# Lower case: a cabinet serial (upper case, digits, hyphens) can never collide with it.
SERVER_USERNAME = "nuanxin-server"


def _derive(label: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), label.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def cabinet_password(serial: str) -> str:
    return _derive(f"cabinet:{serial}")


def server_credentials() -> tuple[str, str]:
    """The server's broker user: from settings, else a derived default."""
    username = settings.MQTT_USERNAME or SERVER_USERNAME
    password = settings.MQTT_PASSWORD or _derive(f"server:{username}")
    return username, password


def _mosquitto_passwd() -> str:
    found = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not os.path.exists(found):
        raise FileNotFoundError("mosquitto_passwd not found (install the mosquitto package)")
    return found


def passwd_file_write(path: str | Path, extra: dict[str, str] | None = None) -> int:
    """Write the password file for every cabinet, the server user and `extra` users;
    returns the number of users. Atomic: the broker never reads a half-written file."""
    from nuanxin.energy.models import Cabinet

    path = Path(path)
    users = {serial: cabinet_password(serial)
             for serial in Cabinet.objects.order_by("serial").values_list("serial", flat=True)}
    username, password = server_credentials()
    users[username] = password
    users.update(extra or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".passwd-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            for name, secret in users.items():
                handle.write(f"{name}:{secret}\n")
        # -U hashes a plain "user:password" file in place.
        subprocess.run([_mosquitto_passwd(), "-U", tmp], check=True,  # noqa: S603
                       capture_output=True, timeout=120)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(users)


def main(*, stdout, passwd_file: str, **_) -> None:
    count = passwd_file_write(passwd_file)
    username, _password = server_credentials()
    stdout.write(f"wrote {count} users to {passwd_file} (server user: {username}); "
                 "reload Mosquitto (kill -HUP) to apply\n")
    if not settings.MQTT_PASSWORD:
        stdout.write("MQTT_PASSWORD is not set: the server user got a derived password; "
                     "set MQTT_USERNAME/MQTT_PASSWORD for the ingesters and web workers\n")
