"""The console kit's pager keeps a list's filters and carries the page as `page`."""

from django.core.paginator import Paginator
from django.template import Context, Template
from django.test import RequestFactory

PAGER = Template("{% load console_kit %}{% pager page %}")


def render(url, number):
    request = RequestFactory().get(url)
    page = Paginator(range(60), 20).get_page(number)
    return PAGER.render(Context({"request": request, "page": page}))


def test_the_pager_keeps_the_filters_and_replaces_the_page():
    html = render("/console/surveys/?status=published&q=%E5%85%85%E7%94%B5&page=2", 2)
    assert 'href="?status=published&amp;q=%E5%85%85%E7%94%B5&amp;page=1"' in html
    assert 'href="?status=published&amp;q=%E5%85%85%E7%94%B5&amp;page=3"' in html
    assert "第 2 / 3 页" in html


def test_the_pager_without_filters_and_on_a_single_page():
    assert 'href="?page=2"' in render("/console/voice/", 1)
    request = RequestFactory().get("/console/voice/")
    single = Paginator(range(5), 20).get_page(1)
    assert PAGER.render(Context({"request": request, "page": single})).strip() == ""
