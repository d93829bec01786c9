"""Reads, already scoped to the viewer.

    surveys.py  lists, one survey, what a worker may answer, the signed link token
    results.py  aggregated results, cross-tabs, free-text answers
    visits.py   home visits, follow-ups, the weekly plan, coverage
"""

from nuanxin.surveys.selectors.results import (
    MIN_ANONYMOUS_RESPONSES,
    CrossTab,
    QuestionResult,
    SurveyResults,
    counted_responses,
    crosstab,
    survey_results,
    texts_of,
    texts_withheld,
)
from nuanxin.surveys.selectors.surveys import (
    questions_of,
    survey_for_answering,
    survey_for_staff,
    survey_id_from_token,
    survey_token,
    surveys_for_staff,
    surveys_open_for,
    target_group_size,
)
from nuanxin.surveys.selectors.visits import (
    Coverage,
    coverage,
    coverage_by_community,
    follow_ups_open,
    not_visited,
    plans_in_week,
    quarter_of,
    residents,
    visit_for,
    visits_visible_to,
)

__all__ = [
    "MIN_ANONYMOUS_RESPONSES", "Coverage", "CrossTab", "QuestionResult", "SurveyResults",
    "counted_responses", "coverage", "coverage_by_community", "crosstab", "follow_ups_open",

    "not_visited", "plans_in_week", "quarter_of", "questions_of", "residents",
    "survey_for_answering", "survey_for_staff", "survey_id_from_token", "survey_results",
    "survey_token", "surveys_for_staff", "surveys_open_for", "target_group_size",
    "texts_of", "texts_withheld", "visit_for", "visits_visible_to",
]
