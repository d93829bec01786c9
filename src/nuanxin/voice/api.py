"""JSON API of workers' voice (/api/v1/voice): write a story; read the published ones."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema, Status
from ninja.security import django_auth
from pydantic import Field

from nuanxin.common.errors import ServiceError
from nuanxin.common.pagination import paginate
from nuanxin.geo.models import Region
from nuanxin.voice import selectors, services
from nuanxin.voice.models import StoryKind

router = Router(tags=["voice"])


class StoryIn(Schema):
    text: str = Field(..., max_length=4000)
    kind: StoryKind = StoryKind.STORY
    consent_publish: bool = Field(False, description="the author allows the community to "
                                                     "publish it on the public page")
    show_name: bool = Field(False, description="published under display_name, not anonymous")
    display_name: str = Field("", max_length=100)


def _own_out(story) -> dict:
    return {"id": story.pk, "text": story.text, "kind": story.kind, "status": story.status,
            "region": story.region_id, "consent_publish": story.consent_publish,
            "show_name": story.show_name, "display_name": story.display_name,
            "created_at": story.created_at.isoformat()}


@router.post("/stories", auth=django_auth, response={201: dict},
             summary="A worker shares a story or feedback with their home community")
def story_create(request, body: StoryIn):
    story = services.story_create(
        author=request.user, text=body.text, kind=body.kind,
        consent_publish=body.consent_publish, show_name=body.show_name,
        display_name=body.display_name)
    return Status(201, _own_out(story))


@router.get("/stories/mine", auth=django_auth, summary="My stories and what became of them")
def stories_mine(request):
    return {"results": [_own_out(s) for s in selectors.stories_of(request.user)[:100]]}


class PublishedQuery(Schema):
    region: str = Field("", max_length=12, pattern=r"^[0-9]*$",
                        description="a region code: its stories and those below it")
    page: int = Field(1, ge=1, le=100_000)
    page_size: int = Field(20, ge=1, le=100)


@router.get("/stories", summary="Published stories (public), newest first")
def stories_published(request, q: Query[PublishedQuery]):
    prefix = ""
    if q.region:
        region = Region.objects.filter(code=q.region).only("code", "prefix").first()
        if region is None:
            raise ServiceError("invalid_region", _("没有这个行政区划代码。"))
        prefix = region.prefix
    page = paginate(selectors.stories_published(prefix), page=q.page, page_size=q.page_size)
    page["results"] = [{**selectors.public_story(s),
                        "published_on": timezone.localdate(s.published_at).isoformat()}
                       for s in page["results"]]
    return page
