"""A worker's own survey answers and home visits, for their personal-data export.

An anonymous survey's answers are not in it: nothing links them to the person, so the
export can only say that they took part."""

from __future__ import annotations

from nuanxin.surveys.models import Answer, HomeVisit, Participation, Response


def export_surveys(user) -> list[dict]:
    identified = {
        r.survey_id: r for r in Response.objects.filter(respondent=user).select_related("survey")
    }
    answers: dict = {}
    for response_id, q_text, label, number, text in (
        Answer.objects.filter(response__respondent=user)
        .order_by("question__position", "option__position")
        .values_list("response__survey_id", "question__text", "option__label", "number", "text")
    ):
        value = label if label is not None else number if number is not None else text
        answers.setdefault(response_id, []).append({"question": q_text, "answer": value})
    out = []
    for survey_id, title, anonymous in (
        Participation.objects.filter(worker=user).order_by("survey_id")
        .values_list("survey_id", "survey__title", "survey__anonymous")
    ):
        row = {"survey_id": survey_id, "title": title, "anonymous": anonymous}
        response = identified.get(survey_id)
        if response is not None:
            row["submitted_at"] = response.submitted_at.isoformat()
            row["answers"] = answers.get(survey_id, [])
        out.append(row)
    return out


def export_home_visits(user) -> list[dict]:
    return [
        {
            "visited_at": v.visited_at.isoformat(),
            "place": v.place,
            "answers": {a.question: {"text": a.text, "categories": a.categories}
                        for a in v.answers.all()},
        }
        for v in HomeVisit.objects.filter(worker=user).prefetch_related("answers")
        .order_by("visited_at")
    ]
