"""`{% published_stories prefix %}`: the published stories of a region subtree, for pages of
other apps (the community accountability page) without those apps importing voice."""

from django import template

from nuanxin.voice.selectors import public_story, stories_published

register = template.Library()

SHOWN = 10


@register.inclusion_tag("voice/_stories.html")
def published_stories(prefix: str, limit: int = SHOWN):
    stories = [public_story(s) for s in stories_published(prefix)[:limit]]
    return {"stories": stories}
