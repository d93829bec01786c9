from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.common.manifest import ConsoleLink, Manifest, Tile


class NeedsConfig(AppConfig):
    name = "nuanxin.needs"
    label = "needs"
    verbose_name = _("需求清单")
    manifest = Manifest(
        tiles=(
            Tile("need_new", _("我有困难"), "needs:new", icon="nuanxin/icons/help.svg", order=30,
                 hint=_("反映困难和需求")),
            Tile("needs", _("我的需求"), "needs:mine", icon="nuanxin/icons/needs.svg", order=35,
                 hint=_("看办理进度")),
        ),
        console=(ConsoleLink("needs", _("需求清单"), "needs_console:list", order=20,
                             sections=("needs_console",)),),
        back={"needs": "needs:mine"},
    )

    def ready(self):
        from nuanxin.accounts.personal_data import register_exporter
        from nuanxin.needs import figures, jobs  # noqa: F401  (register stats and jobs)
        from nuanxin.needs.personal_data import export_needs

        register_exporter("needs", export_needs)
