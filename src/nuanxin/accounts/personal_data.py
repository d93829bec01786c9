"""A person's own data: one export, assembled from every app that holds some.

`accounts` sits below the domain apps and may not import them, so each app that keeps
data about a person declares an exporter in its manifest (`nuanxin.common.manifest`)::

    def export_checkins(user):
        return [{"station": c.station.name, "at": c.at.isoformat()}
                for c in user.checkins.select_related("station").order_by("at")]

    manifest = Manifest(exporters={"checkins": export_checkins})  # or a dotted path

An exporter takes the user and returns something JSON can hold (a list of dicts is
usual); it appears in the export under its name. Rows that point at the user through a
foreign key with CASCADE disappear with the account; data kept any other way (for example
by phone number) needs an eraser, declared the same way in `erasers`, which
`services.worker_account_delete` calls inside its transaction before the user row goes.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.utils import timezone

from nuanxin.common import manifest

# Sections accounts writes itself; no app may take these names.
BUILTIN_SECTIONS = ("exported_at", "notice_version", "account", "profile", "consents")


def run_erasers(user) -> None:
    for fn in manifest.erasers().values():
        fn(user)


@checks.register()
def check_sections(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return [checks.Error(f"{name!r} is a built-in section of the personal-data export",
                         id="nuanxin.E007")
            for _, m in manifest.manifests() for name in m.exporters
            if name in BUILTIN_SECTIONS]


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
    for name, fn in manifest.exporters().items():
        data[name] = fn(user)
    return data
