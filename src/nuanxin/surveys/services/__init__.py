"""Every write to surveys and home visits, one function per use case (keyword-only, atomic).

    surveys.py    building a questionnaire; publish / close / reopen
    responses.py  answering (once per worker, anonymous by construction); survey → need
    visits.py     home visits, follow-ups, visit → need, the visiting plan
"""

from nuanxin.surveys.services.responses import (
    AnswerInput,
    check_can_answer,
    has_answered,
    response_submit,
    survey_raise_need,
)
from nuanxin.surveys.services.surveys import (
    SURVEY_WORKFLOW,
    TRANSITIONS,
    OptionInput,
    QuestionInput,
    SurveyInput,
    question_add,
    question_delete,
    question_move,
    question_update,
    questions_reorder,
    survey_close,
    survey_copy,
    survey_create,
    survey_delete,
    survey_publish,
    survey_reopen,
    survey_update,
    surveys_close_expired,
)
from nuanxin.surveys.services.visits import (
    FollowUpInput,
    VisitInput,
    follow_up_add,
    follow_up_set_done,
    plan_add,
    plan_remove,
    visit_answer_to_need,
    visit_record,
    week_of,
    worker_in_scope,
)

__all__ = [
    "SURVEY_WORKFLOW", "TRANSITIONS", "AnswerInput", "FollowUpInput", "OptionInput",
    "QuestionInput",
    "SurveyInput", "VisitInput", "check_can_answer", "follow_up_add", "follow_up_set_done",
    "has_answered", "plan_add", "plan_remove", "question_add", "question_delete",
    "question_move", "question_update", "questions_reorder", "response_submit",
    "survey_close", "survey_copy", "survey_create", "survey_delete", "survey_publish",
    "survey_raise_need", "survey_reopen", "survey_update", "surveys_close_expired",
    "visit_answer_to_need", "visit_record", "week_of", "worker_in_scope",
]
