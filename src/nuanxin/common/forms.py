"""The two page shapes every console repeats, written once.

A **form page** shows a form; a valid POST calls one service; a refusal about what was
typed lands on the field it is about (the form's `ERROR_FIELDS`, code → field) and the page
is shown again with nothing saved; success says so and moves on:

    @console_view(roles=TEACHING_ROLES)
    def course_edit(request, course_id):
        course = selectors.course_for(request.user, course_id)
        form = CourseForm(request.POST or None, initial=CourseForm.initial_for(course))
        here = reverse("childcare_console:course", args=[course.pk])
        return form_page(
            request, form,
            save=lambda d: services.course_update(actor=request.user, course_id=course.pk, **d),
            done=lambda _: (gettext("已保存。"), here),
            title=course.name, back=here)

An **action** is a button that posts to a view running one service call and going back:

    return run_action(request, lambda: services.course_close(actor=request.user, ...),
                      success=gettext("已停止报名。"), back=reverse(...))

In both, a NotFound or PermissionDenied that no field of the form is about means the thing
is out of the viewer's reach: it ends the page (`console_view` shows the error page).
See docs/decisions/0009-console-kit.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from nuanxin.common.errors import NotFound, PermissionDenied, ServiceError

OUT_OF_REACH = (NotFound, PermissionDenied)


class ServiceErrorsMixin:
    """For forms: which field a service's refusal (by code) is about; unnamed codes go on
    the form as a whole."""

    ERROR_FIELDS: dict[str, str] = {}

    def add_service_error(self, error: ServiceError) -> None:
        field = self.ERROR_FIELDS.get(error.code)
        self.add_error(field if field in self.fields else None, str(error.message))


def refusal_on_form(form, error: ServiceError) -> None:
    """A refusal about what was typed goes on the form; being out of reach ends the page."""
    fields = getattr(form, "ERROR_FIELDS", {})
    if isinstance(error, OUT_OF_REACH) and error.code not in fields:
        raise error
    if hasattr(form, "add_service_error"):
        form.add_service_error(error)
    else:
        form.add_error(fields.get(error.code), str(error.message))


def form_page(
    request: HttpRequest,
    form,
    *,
    save: Callable[[dict], Any],
    done: Callable[[Any], tuple[str, str]],
    template: str = "console/form.html",
    **context: Any,
) -> HttpResponse:
    """GET: the form. A valid POST: `save(form.cleaned_data)`, then `done(its result)` gives
    the message to show and where to go. Otherwise the page again, with the errors.

    The default template takes `title`, `back` (the URL of 返回 and 取消), and optionally
    `submit` (the button's words), `danger` (a red button) and `notice` (a line above)."""
    if request.method == "POST" and form.is_valid():
        try:
            result = save(form.cleaned_data)
        except ServiceError as error:
            refusal_on_form(form, error)
        else:
            message, target = done(result)
            messages.success(request, message)
            return redirect(target)
    return render(request, template, {"form": form, **context})


def run_action(request: HttpRequest, call: Callable[[], Any], *,
               success: str | Callable[[Any], str], back: str) -> HttpResponse:
    """Run one service call for a button; say `success` (or `success(its result)`) or the
    refusal; go `back`."""
    try:
        result = call()
    except OUT_OF_REACH:
        raise
    except ServiceError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, success(result) if callable(success) else success)
    return redirect(back)


def posted_back(request: HttpRequest, fallback: str, *, within: str,
                field: str = "next") -> str:
    """Where a button on a list asks to come back to (the list's own address, with its
    filters and page, posted as `field`) if it is a path inside `within`; else `fallback`.
    Anything else (another site, `//host`, a path elsewhere) is ignored, not followed."""
    target = request.POST.get(field, "")
    if target.startswith(within) and "//" not in target and "\\" not in target:
        return target
    return fallback
