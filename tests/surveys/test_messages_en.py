"""Refusals that carry a value are still English in `message_en` (formatted lazily)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from nuanxin.common.errors import ServiceError
from nuanxin.surveys import services
from nuanxin.surveys.services import check_can_answer
from tests.factories.people import StaffFactory, WorkerFactory
from tests.factories.places import CHUITAI
from tests.surveys.helpers import charging_survey, simple_survey

pytestmark = pytest.mark.django_db


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_not_open_yet_and_wrong_community_are_english_in_message_en():
    survey, _q = simple_survey(StaffFactory())
    later = timezone.now() - timedelta(days=2)
    with pytest.raises(ServiceError) as not_open:
        check_can_answer(WorkerFactory(), survey, now=later)
    with pytest.raises(ServiceError) as elsewhere:
        check_can_answer(WorkerFactory(home_region_code=CHUITAI), survey)
    body = not_open.value.as_dict()
    assert _has_chinese(body["message"]) and not _has_chinese(body["message_en"]), body
    # the place's name is data and stays as it is; the sentence around it is English
    body = elsewhere.value.as_dict()
    assert body["message_en"].startswith("This survey is for"), body


def test_condition_order_refusal_is_english_in_message_en():
    staff = StaffFactory()
    survey, q = charging_survey(staff, publish=False)
    order = [q["detail"].pk, q["pain"].pk, q["rating"].pk, q["cabinet"].pk, q["text"].pk]
    with pytest.raises(ServiceError) as refused:
        services.questions_reorder(actor=staff, survey_id=survey.pk, order=order)
    body = refused.value.as_dict()
    assert body["code"] == "condition_order"
    assert "1" in body["message_en"] and not _has_chinese(body["message_en"]), body
