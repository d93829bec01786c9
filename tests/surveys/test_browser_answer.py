"""In chromium at 360 px: a question marked wrong stops being red once it is answered."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from nuanxin.surveys.selectors import survey_token
from tests.factories.people import StaffFactory, WorkerFactory, browser_login
from tests.surveys.helpers import charging_survey

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_error_highlight_clears_when_the_answer_is_fixed(new_page, live_server, regions):
    survey, q = charging_survey(StaffFactory())
    page = browser_login(new_page(), WorkerFactory(), live_server.url)
    new_page.allow_error_status("/surveys/a/")  # the refused submit answers 400
    page.goto(f"/surveys/a/{survey_token(survey.pk)}/")
    page.get_by_role("button", name="提交").click()
    rating = page.locator(f"#question-{q['rating'].pk}")
    expect(rating).to_have_class("question has-error")
    expect(rating.locator(".q-error")).to_be_visible()
    rating.locator("label").first.click()
    expect(rating).not_to_have_class("question has-error")
    expect(rating.locator(".q-error")).to_be_hidden()
    # Another question still unanswered keeps its mark.
    expect(page.locator(f"#question-{q['cabinet'].pk}")).to_have_class("question has-error")
