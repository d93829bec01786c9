"""A person's own data: one export, assembled from every app that holds some.

`accounts` sits below the domain apps and may not import them, so each app that keeps
data about a person registers an exporter here, usually from its AppConfig.ready()::

    from nuanxin.accounts.personal_data import register_exporter

    def export_checkins(user):
        return [{"station": c.station.name, "at": c.at.isoformat()}
                for c in user.checkins.select_related("station").order_by("at")]

    register_exporter("checkins", export_checkins)

An exporter takes the user and returns something JSON can hold (a list of dicts is
usual); it appears in the export under its name. Rows that point at the user through a
foreign key with CASCADE disappear with the account; data kept any other way (for example
by phone number) needs an eraser, registered the same way with `register_eraser`, which
`services.worker_account_delete` calls inside its transaction before the user row goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils import timezone

Exporter = Callable[[Any], Any]
Eraser = Callable[[Any], None]

# Sections accounts writes itself; no app may take these names.
BUILTIN_SECTIONS = ("exported_at", "notice_version", "account", "profile", "consents")

_exporters: dict[str, Exporter] = {}
_erasers: dict[str, Eraser] = {}


def register_exporter(name: str, fn: Exporter) -> None:
    """Add a section `name` to every personal-data export. Registering the same function
    again is harmless (ready() may run twice in tests); a different one is an error."""
    if name in BUILTIN_SECTIONS:
        raise ValueError(f"{name!r} is a built-in section of the export")
    if name in _exporters and _exporters[name] is not fn:
        raise ValueError(f"an exporter named {name!r} is already registered")
    _exporters[name] = fn


def register_eraser(name: str, fn: Eraser) -> None:
    """Run `fn(user)` when a worker deletes their account, before the user row is deleted."""
    if name in _erasers and _erasers[name] is not fn:
        raise ValueError(f"an eraser named {name!r} is already registered")
    _erasers[name] = fn


def unregister(name: str) -> None:
    """For tests: forget an exporter and eraser of that name."""
    _exporters.pop(name, None)
    _erasers.pop(name, None)


def registered_exporters() -> dict[str, Exporter]:
    return dict(_exporters)


def run_erasers(user) -> None:
    for fn in list(_erasers.values()):
        fn(user)


def _dt(value) -> str | None:
    return value.isoformat() if value else None


def personal_data_export(user) -> dict[str, Any]:
    """Everything the platform keeps about `user`, for the person themselves."""
    from django.conf import settings

    from nuanxin.accounts.models import WorkerProfile

    data: dict[str, Any] = {
        "exported_at": _dt(timezone.now()),
        "notice_version": settings.NUANXIN_PRIVACY_NOTICE_VERSION,
        "account": {
            "id": user.pk,
            "kind": user.kind,
            "phone": user.phone,
            "display_name": user.display_name,
            "date_joined": _dt(user.date_joined),
            "last_login": _dt(user.last_login),
        },
        "profile": None,
        "consents": [
            {"version": c.version, "accepted_at": _dt(c.accepted_at), "ip": c.ip}
            for c in user.consents.order_by("accepted_at", "pk")
        ],
    }
    profile = (
        WorkerProfile.objects.filter(user=user).select_related("home_region").first()
    )
    if profile is not None:
        data["profile"] = {
            "occupation": profile.occupation,
            "occupation_label": str(profile.get_occupation_display()),
            "platforms": list(profile.platforms or []),
            "home_region": (
                {"code": profile.home_region.code, "name": profile.home_region.name}
                if profile.home_region else None
            ),
            "consent_version": profile.consent_version,
            "consented_at": _dt(profile.consented_at),
        }
    for name, fn in registered_exporters().items():
        data[name] = fn(user)
    return data
