"""Worker pages: the surveys open to me, and answering one from its link or QR code.

The answering page works without JavaScript: every question is on the page, conditional
ones say when they apply, and the server keeps only what was shown (services decide)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from nuanxin.common.errors import ServiceError
from nuanxin.surveys import selectors, services
from nuanxin.surveys.answering import answers_from_post, question_rows


def _login(request):
    return redirect_to_login(request.get_full_path(), "accounts:login")


@require_GET
def survey_list(request):
    if not request.user.is_authenticated:
        return _login(request)
    return render(request, "surveys/list.html",
                  {"rows": selectors.surveys_open_for(request.user)})


def _refusal(request, error: ServiceError, survey=None):
    return render(request, "surveys/refused.html",
                  {"message": error.message, "code": error.code, "survey": survey},
                  status=error.status)


@require_http_methods(["GET", "POST"])
def answer(request, token: str):
    if not request.user.is_authenticated:
        return _login(request)
    survey = None
    try:
        survey = selectors.survey_for_answering(selectors.survey_id_from_token(token))
        services.check_can_answer(request.user, survey)
    except ServiceError as error:
        return _refusal(request, error, survey)
    if services.has_answered(request.user, survey):
        return render(request, "surveys/done.html", {"survey": survey, "again": True})
    questions = selectors.questions_of(survey)
    answers, problems, message, status = None, None, "", 200
    if request.method == "POST":
        answers = answers_from_post(questions, request.POST)
        try:
            services.response_submit(worker=request.user, survey_id=survey.pk, answers=answers)
        except ServiceError as error:
            if error.code not in ("answers_invalid", "empty_response"):
                return _refusal(request, error, survey)
            problems = error.details.get("errors", [])
            message, status = error.message, 400
        else:
            return redirect("surveys:done", token)
    return render(request, "surveys/answer.html", {
        "survey": survey, "rows": question_rows(questions, answers, problems),
        "message": message, "preview": False,
    }, status=status)


@require_GET
def done(request, token: str):
    if not request.user.is_authenticated:
        return _login(request)
    try:
        survey = selectors.survey_for_answering(selectors.survey_id_from_token(token))
    except ServiceError as error:
        return _refusal(request, error)
    return render(request, "surveys/done.html", {"survey": survey, "again": False})
