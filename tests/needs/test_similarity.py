"""Similar-need suggestions read Chinese: the same complaint in another order is 很相似,
unrelated needs are not similar, and staff see words, not a ratio."""

from __future__ import annotations

import pytest

from nuanxin.needs import selectors
from nuanxin.needs.similarity import dice, similarity_label, text_similarity
from tests.factories.needs import NeedFactory
from tests.factories.people import StaffFactory, WorkerFactory, login

VERY = "很相似"


@pytest.mark.parametrize(("a", "b"), [
    ("充电难、充电慢、不安全", "充电慢、充电难，还不安全"),
    ("小区门口没有充电桩", "小区门口没有充电桩！"),
    ("晚上没地方歇脚，想要一个驿站", "想要一个驿站，晚上没地方歇脚"),
])
def test_the_same_complaint_in_other_words_order_is_very_similar(a, b):
    assert str(similarity_label(text_similarity(a, "", b, ""))) == VERY


@pytest.mark.parametrize(("a", "b"), [
    ("小区门口没有充电桩", "小区门口缺少充电设施"),
    ("电动车充电排队太久", "充电要排队，太久了"),
])
def test_related_complaints_are_similar(a, b):
    assert str(similarity_label(text_similarity(a, "", b, ""))) == "相似"


@pytest.mark.parametrize(("a", "b"), [
    ("小区门口没有充电桩", "孩子放学没人接"),
    ("充电难", "晚上没地方歇脚"),
    ("电动车充电排队太久", "换电柜经常没有满电电池"),
    ("", "充电难"),
])
def test_unrelated_needs_are_not_similar(a, b):
    assert similarity_label(text_similarity(a, "", b, "")) == ""


def test_dice_is_symmetric_and_bounded():
    assert dice("充电难", "充电难") == 1.0
    assert dice("充电难", "难电充") == dice("难电充", "充电难") < 1.0
    assert dice("、，。", "") == 0.0


@pytest.mark.django_db
def test_the_console_says_very_similar_in_words(client):
    need = NeedFactory(title="充电难、充电慢、不安全", description="", raisers=[WorkerFactory()],
                       lat=29.3155, lng=120.0782)
    other = NeedFactory(title="充电慢、充电难，还不安全", description="", raisers=[WorkerFactory()],
                        lat=29.3160, lng=120.0790)
    admin = StaffFactory()
    rows = selectors.needs_similar(need, viewer=admin)
    assert [r["need"].pk for r in rows] == [other.pk]
    login(client, admin)
    page = client.get(f"/console/needs/{need.pk}/").content.decode()
    assert VERY in page and "文字相似度" not in page and "0.19" not in page
    api = client.get(f"/api/v1/needs/{need.pk}/similar").json()
    assert api[0]["similarity"] == "very_similar"
