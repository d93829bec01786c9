"""The answering form without a form library: read the posted fields into AnswerInput and
describe each question for the template (what is ticked, which error, when it is shown).

Field names: `q<id>` (option ids, "other", a rating or the text) and `q<id>_other`.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from nuanxin.surveys.models import CHOICE_KINDS, Question, QuestionKind
from nuanxin.surveys.services import AnswerInput

OTHER = "other"


def answers_from_post(questions: list[Question], post) -> dict[int, AnswerInput]:
    answers: dict[int, AnswerInput] = {}
    for q in questions:
        name = f"q{q.pk}"
        if q.kind in CHOICE_KINDS:
            values = post.getlist(name)
            options = [int(v) for v in values if v.isdigit()]
            other_chosen = OTHER in values and q.allow_other
            other = post.get(f"{name}_other", "") if other_chosen else ""
            if options or other_chosen:
                answers[q.pk] = AnswerInput(options=options, other=other,
                                            other_chosen=other_chosen)
        elif q.kind == QuestionKind.RATING:
            value = post.get(name, "")
            if value.isdigit():
                answers[q.pk] = AnswerInput(number=int(value))
        else:
            text = post.get(name, "")
            if text.strip():
                answers[q.pk] = AnswerInput(text=text)
    return answers


def condition_text(q: Question, positions: dict[int, int]) -> str:
    if not q.show_if_id:
        return ""
    labels = _("”或“").join(o.label for o in q.show_if_options.all())
    return _("第 %(n)d 题选了“%(labels)s”才需要回答") % {
        "n": positions.get(q.show_if_id, 0), "labels": labels}


def question_rows(questions: list[Question], answers: dict[int, AnswerInput] | None = None,
                  problems: list[dict] | None = None) -> list[dict]:
    answers = answers or {}
    errors = {p["question"]: p["message"] for p in (problems or [])}
    positions = {q.pk: q.position for q in questions}
    rows = []
    for q in questions:
        a = answers.get(q.pk) or AnswerInput()
        rows.append({
            "q": q,
            "name": f"q{q.pk}",
            "options": [{"option": o, "checked": o.pk in (a.options or [])}
                        for o in q.options.all()] if q.kind in CHOICE_KINDS else [],
            "other_checked": a.other_chosen,
            "other_text": a.other,
            "number": a.number,
            "scale": list(range(1, (q.scale_max or 0) + 1)),
            "text": a.text,
            "error": errors.get(q.pk, ""),
            "condition": condition_text(q, positions),
            "show_if_options": ",".join(str(o.pk) for o in q.show_if_options.all()),
        })
    return rows
