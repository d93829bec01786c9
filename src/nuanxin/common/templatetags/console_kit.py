"""The console kit's template tags (templates under templates/console/)."""

from django import template

register = template.Library()


@register.inclusion_tag("console/_pager.html", takes_context=True)
def pager(context, page):
    """`{% pager page %}`: previous/next links that keep the list's other query parameters
    (filters, search, sort) and carry the page number as `page`, the one name every list
    reads."""
    request = context.get("request")
    query = ""
    if request is not None:
        params = request.GET.copy()
        params.pop("page", None)
        query = params.urlencode()
    return {"page": page, "query": query}
