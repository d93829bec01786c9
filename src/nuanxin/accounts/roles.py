"""Staff roles and the groups of them that pages, services and manifests check.

Defined once, here, in a module that imports no models: an app's AppConfig (its manifest's
console links) reads these before the models are loaded. accounts.models re-exports them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StaffRole(models.TextChoices):
    STATION_KEEPER = "station_keeper", _("站点管理员")
    COMMUNITY_STAFF = "community_staff", _("社区工作人员")
    STREET_ADMIN = "street_admin", _("街道管理员")
    DISTRICT_ADMIN = "district_admin", _("区县管理员")
    CITY_ADMIN = "city_admin", _("市级管理员")
    PROVINCE_ADMIN = "province_admin", _("省级管理员")


ADMIN_ROLES = frozenset({
    StaffRole.STREET_ADMIN,
    StaffRole.DISTRICT_ADMIN,
    StaffRole.CITY_ADMIN,
    StaffRole.PROVINCE_ADMIN,
})
# Roles that manage a region's work (needs list, surveys and visits, alliance, stories);
# station keepers only keep their station.
MANAGER_ROLES = frozenset({StaffRole.COMMUNITY_STAFF}) | ADMIN_ROLES
# Roles whose work needs a worker's full phone number (calling back); each view is audited.
FULL_PHONE_ROLES = MANAGER_ROLES
# Roles that may change stations, hours and exceptions in their region.
STATION_EDITOR_ROLES = frozenset({StaffRole.STATION_KEEPER}) | MANAGER_ROLES
