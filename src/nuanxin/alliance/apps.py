from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from nuanxin.common.manifest import LAST, Api, ConsoleLink, Manifest, Seeder, Tile, Urls


def my_community_url(request) -> str | None:
    """The public page of the rider's home community; without one, where to choose it."""
    from django.urls import reverse

    from nuanxin.geo.models import Region, RegionLevel

    profile = getattr(request.user, "worker_profile", None)
    if profile is None:
        return None
    if profile.home_region_id is None:
        return reverse("accounts:profile") + "#home"
    level = Region.objects.filter(pk=profile.home_region_id).values_list("level", flat=True).first()
    if level == RegionLevel.COMMUNITY:
        return reverse("accountability:community", args=[profile.home_region_id])
    if level == RegionLevel.STREET:
        return reverse("accountability:street", args=[profile.home_region_id])
    return None


def seed_demo(ctx) -> None:
    from nuanxin.alliance.demo import seed_alliance

    seed_alliance(ctx.rng, now=ctx.now)


def project_reference(object_id: str, user) -> tuple[str, str] | None:
    from django.urls import reverse

    from nuanxin.alliance.models import Project

    if not object_id.isdigit():
        return None
    title = Project.objects.filter(pk=int(object_id)).values_list("title", flat=True).first()
    if title is None:
        return None
    return title, reverse("alliance_console:project_detail", args=[int(object_id)])


class AllianceConfig(AppConfig):
    name = "nuanxin.alliance"
    label = "alliance"
    verbose_name = _("暖新联盟")
    manifest = Manifest(
        tiles=(Tile("community", _("我的社区"), "accountability:community",
                    icon="nuanxin/icons/community.svg", order=60,
                    hint=_("社区收集的需求和办成的事"), url=my_community_url),),
        console=(ConsoleLink("alliance", _("暖新联盟"), "alliance_console:partners", order=40,
                             sections=("alliance_console",)),),
        references={"alliance.project": project_reference},
        reference_titles={"alliance.project": "nuanxin.alliance.selectors.project_ref_labels"},
        urls=(Urls("console/alliance/", "nuanxin.alliance.console_urls"),
              Urls("partner/", "nuanxin.alliance.partner_urls"),
              Urls("", "nuanxin.alliance.public_urls", order=LAST)),
        api=(Api("/v1/alliance", "nuanxin.alliance.api.router"),),
        # After surveys only to keep the demo's numbering: both raise needs.
        seeders=(Seeder("alliance", seed_demo, order=60, after=("needs", "surveys")),),
        figures="nuanxin.alliance.figures",
    )
