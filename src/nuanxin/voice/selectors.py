"""Reads of workers' stories: the published ones for anyone, the rest scoped."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from nuanxin.accounts.models import MANAGER_ROLES, Occupation
from nuanxin.common.scoping import access_of
from nuanxin.voice.models import Story, StoryStatus


def is_reviewer(user) -> bool:
    """The managers of a region review and publish its stories."""
    access = access_of(user)
    return access.superuser or access.role in MANAGER_ROLES


def stories_published(prefix: str = "") -> QuerySet[Story]:
    """Published stories of a region subtree, newest first (public)."""
    return (Story.objects.filter(status=StoryStatus.PUBLISHED).in_region(prefix)
            .select_related("region").order_by("-published_at", "-id"))


def stories_visible_to(user) -> QuerySet[Story]:
    """Staff who review: stories of their region. Everyone else: none."""
    if not is_reviewer(user):
        return Story.objects.none()
    return Story.objects.visible_to(user).select_related("region", "author")


def story_for(user, story_id: int) -> Story:
    return stories_visible_to(user).get_visible_or_404(user, pk=story_id)


def stories_of(user) -> QuerySet[Story]:
    if not getattr(user, "is_authenticated", False):
        return Story.objects.none()
    return Story.objects.filter(author=user).select_related("region")


def byline(story: Story) -> str:
    """'外卖骑手 李华贤' when the author chose to be named, else '一位外卖骑手'."""
    role = Occupation(story.occupation).label if story.occupation in Occupation.values \
        else gettext("新就业群体")
    if story.show_name and story.display_name:
        return gettext("%(role)s %(name)s") % {"role": role, "name": story.display_name}
    return gettext("一位%(role)s") % {"role": role}


def public_story(story: Story) -> dict:
    """What the public sees of a published story: no account, no phone, no exact time."""
    return {"id": story.pk, "text": story.text, "kind": story.kind, "byline": byline(story),
            "region": story.region.name, "region_code": story.region_id,
            "published_on": timezone.localdate(story.published_at) if story.published_at else None}
