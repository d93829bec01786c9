from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.accounts.roles import MANAGER_ROLES
from nuanxin.common.manifest import Api, ConsoleLink, Manifest, Seeder, Tile, Urls


def seed_demo(ctx) -> None:
    from nuanxin.voice.demo import seed_voice

    seed_voice(ctx.rng, now=ctx.now)


def export_stories(user) -> list[dict]:
    """A worker's own stories, for their personal-data export."""
    return [
        {"text": s.text, "kind": s.kind, "status": s.status, "region": s.region_id,
         "consent_publish": s.consent_publish, "show_name": s.show_name,
         "display_name": s.display_name, "created_at": s.created_at.isoformat(),
         "published_at": s.published_at.isoformat() if s.published_at else None}
        for s in user.stories.order_by("created_at", "id")
    ]


class VoiceConfig(AppConfig):
    name = "nuanxin.voice"
    label = "voice"
    verbose_name = _("说说心里话")
    manifest = Manifest(
        tiles=(Tile("voice", _("说说心里话"), "voice:new", icon="nuanxin/icons/voice.svg",
                    order=50, hint=_("说给社区听")),),
        console=(ConsoleLink("voice", _("说说心里话"), "voice_console:list", order=50,
                             roles=MANAGER_ROLES, sections=("voice_console",)),),
        urls=(Urls("console/voice/", "nuanxin.voice.console_urls"),
              Urls("voice/", "nuanxin.voice.urls")),
        api=(Api("/v1/voice", "nuanxin.voice.api.router"),),
        seeders=(Seeder("voice", seed_demo, order=70, after=("people",)),),
        figures="nuanxin.voice.figures",
        exporters={"stories": export_stories},
    )
