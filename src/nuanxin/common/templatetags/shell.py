"""The app shell's pieces, built from the apps' manifests (nuanxin.common.manifest)."""

from django import template
from django.urls import reverse

from nuanxin.common import manifest

register = template.Library()


def _match(context):
    request = context.get("request")
    return getattr(request, "resolver_match", None) if request is not None else None


@register.inclusion_tag("shell/_tabbar.html", takes_context=True)
def tab_bar(context):
    current = manifest.current_tab(_match(context))
    items = [{"tab": tab, "url": reverse(tab.url_name), "active": tab == current,
              "badge": context.get(tab.badge) if tab.badge else None}
             for tab in manifest.tabs()]
    return {"items": items}


@register.inclusion_tag("shell/_back.html", takes_context=True)
def back_link(context):
    return {"back": manifest.back_for(_match(context))}


@register.inclusion_tag("shell/_console_menu.html", takes_context=True)
def console_menu(context):
    request = context.get("request")
    links = manifest.console_links(getattr(request, "user", None))
    current = manifest.current_console_link(_match(context), links)
    return {"items": [{"link": link, "url": reverse(link.url_name), "active": link == current}
                      for link in links]}


@register.simple_tag(takes_context=True)
def reference(context, ref):
    """`{% reference need.project_ref as project %}`: the referenced record's title and url."""
    request = context.get("request")
    return manifest.resolve_reference(ref, getattr(request, "user", None))
