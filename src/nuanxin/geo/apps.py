from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.common.manifest import Api, Manifest


class GeoConfig(AppConfig):
    name = "nuanxin.geo"
    label = "geo"
    verbose_name = _("行政区划")
    manifest = Manifest(api=(Api("/v1/regions", "nuanxin.geo.api.router"),))

    def ready(self):
        from nuanxin.geo.lookups import CodePrefix
        from nuanxin.geo.models import Region

        # Every scoped query filters on a region code prefix; see lookups.py.
        Region._meta.get_field("code").register_lookup(CodePrefix)
