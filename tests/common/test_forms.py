"""The console's form page and action (common.forms): what a staff member sees when a
service refuses what they typed, and when the thing is out of their reach."""

import pytest
from django import forms
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError
from nuanxin.common.forms import ServiceErrorsMixin, form_page, run_action


class NameForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(max_length=20)
    ERROR_FIELDS = {"name_taken": "name", "region_not_found": "name"}


def _request(method="post", data=None):
    request = getattr(RequestFactory(), method)("/console/x", data or {})
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def _shown(request):
    return [str(m) for m in request._messages]


def _page(request, save):
    form = NameForm(request.POST or None)
    return form, form_page(request, form, save=save,
                           done=lambda name: (f"saved {name}", "/console/done"),
                           template="console/form.html", title="T", back="/console/back")


def test_a_valid_form_is_saved_said_and_left():
    request = _request(data={"name": "义驾山"})
    _form, response = _page(request, save=lambda d: d["name"])
    assert response.status_code == 302 and response["Location"] == "/console/done"
    assert _shown(request) == ["saved 义驾山"]


def test_a_refusal_about_a_field_lands_on_that_field_and_nothing_is_said():
    def save(d):
        raise ServiceError("name_taken", "这个名称已经有了。")

    request = _request(data={"name": "义驾山"})
    form, response = _page(request, save=save)
    assert response.status_code == 200
    assert form.errors == {"name": ["这个名称已经有了。"]}
    assert "这个名称已经有了。" in response.content.decode()
    assert _shown(request) == []


def test_a_refusal_no_field_is_about_goes_on_the_form_as_a_whole():
    def save(d):
        raise ServiceError("too_many", "太多了。")

    form, _response = _page(_request(data={"name": "x"}), save=save)
    assert form.non_field_errors() == ["太多了。"]


def test_a_not_found_named_by_the_form_is_about_what_was_typed():
    def save(d):
        raise NotFound("region_not_found", "没有这个区划。")

    form, response = _page(_request(data={"name": "x"}), save=save)
    assert response.status_code == 200 and form.errors == {"name": ["没有这个区划。"]}


@pytest.mark.parametrize("error", [NotFound("project_not_found", "找不到这个项目。"),
                                   PermissionDenied("not_allowed", "没有权限。")])
def test_out_of_reach_ends_the_page(error):
    def save(d):
        raise error

    with pytest.raises(type(error)):
        _page(_request(data={"name": "x"}), save=save)


def test_an_invalid_form_is_not_saved():
    calls = []
    form, response = _page(_request(data={"name": "x" * 30}), save=calls.append)
    assert calls == [] and response.status_code == 200 and "name" in form.errors


def test_an_action_says_what_happened_or_why_not_and_goes_back():
    request = _request()
    response = run_action(request, lambda: None, success="已启动。", back="/console/p/1")
    assert response["Location"] == "/console/p/1" and _shown(request) == ["已启动。"]

    def refuse():
        raise ServiceError("invalid_transition", "项目已经完成，不能再启动。")

    request = _request()
    response = run_action(request, refuse, success="已启动。", back="/console/p/1")
    assert response["Location"] == "/console/p/1"
    assert _shown(request) == ["项目已经完成，不能再启动。"]

    def gone():
        raise NotFound("project_not_found", "找不到这个项目。")

    with pytest.raises(NotFound):
        run_action(_request(), gone, success="已启动。", back="/console/p/1")


@pytest.mark.parametrize("posted, expected", [
    ("/console/energy/alarms/?state=open&page=3", "/console/energy/alarms/?state=open&page=3"),
    ("", "/console/energy/alarms/"),
    ("https://evil.example/console/energy/", "/console/energy/alarms/"),
    ("//evil.example/console/energy/", "/console/energy/alarms/"),
    ("/console/energy//evil.example", "/console/energy/alarms/"),
    ("/console/needs/1/", "/console/energy/alarms/"),
])
def test_a_button_goes_back_only_to_a_page_of_its_own_console(posted, expected):
    from nuanxin.common.forms import posted_back

    request = _request(data={"next": posted})
    assert posted_back(request, "/console/energy/alarms/", within="/console/energy/") == expected
