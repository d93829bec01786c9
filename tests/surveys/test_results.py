"""Results on a crafted data set: counts, percentages, honest denominators, cross-tabs,
free texts, the .xlsx export read back, and survey answers becoming needs."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from nuanxin.common.errors import ServiceError
from nuanxin.needs.selectors import need_for
from nuanxin.surveys import selectors, services, xlsx
from nuanxin.surveys.models import SurveyNeed
from nuanxin.surveys.selectors.results import OTHER_KEY
from tests.factories.people import StaffFactory, WorkerFactory, login
from tests.surveys.helpers import answer, charging_survey, opt

pytestmark = pytest.mark.django_db

# worker: (pains, details, rating, cabinet, text, other)
CRAFTED = [
    ((1, 2), (1, 2), 5, 1, "多装换电柜", ""),
    ((1,), (3,), 3, 2, "", ""),
    ((2,), None, 1, 1, "", "下雨"),
    ((1, 3), (1,), 2, 3, "夜里也开门", ""),
    ((3,), None, 4, 1, "", "午饭"),
]


def crafted(staff, *, anonymous=False):
    survey, q = charging_survey(staff, anonymous=anonymous)
    workers = []
    for pains, details, rating, cabinet, text, other in CRAFTED:
        worker = WorkerFactory()
        services.response_submit(worker=worker, survey_id=survey.pk, answers=answer(
            q, pains=pains, details=details, rating=rating, cabinet=cabinet, text=text,
            other=other))
        workers.append(worker)
    return survey, q, workers


def _by_key(result):
    return {b.key: (b.count, b.percent) for b in result.buckets}


def test_counts_percentages_and_denominators(staff, django_assert_max_num_queries):
    survey, q, _workers = crafted(staff)
    with django_assert_max_num_queries(8):
        results = selectors.survey_results(survey)
    assert results.responses == 5 and not results.withheld
    pain, detail, rating, cabinet, text = results.questions

    # multiple choice: percentages of respondents (3 of 5 ticked 充电), not of ticks
    assert (pain.shown, pain.answered, pain.skipped) == (5, 5, 0)
    assert _by_key(pain) == {opt(q["pain"], 1): (3, 60.0), opt(q["pain"], 2): (2, 40.0),
                             opt(q["pain"], 3): (2, 40.0), OTHER_KEY: (2, 40.0)}
    assert sum(b.percent for b in pain.buckets) > 100
    assert pain.text_count == 2

    # conditional: shown only to the 3 who ticked 充电; its percentages are of those 3
    assert (detail.shown, detail.answered) == (3, 3)
    assert _by_key(detail) == {opt(q["detail"], 1): (2, 66.7), opt(q["detail"], 2): (1, 33.3),
                               opt(q["detail"], 3): (1, 33.3)}

    assert _by_key(rating) == {v: (1, 20.0) for v in range(1, 6)}
    assert rating.mean == 3.0

    assert _by_key(cabinet) == {opt(q["cabinet"], 1): (3, 60.0),
                                opt(q["cabinet"], 2): (1, 20.0),
                                opt(q["cabinet"], 3): (1, 20.0)}
    # optional free text: 2 answered of 5 shown
    assert (text.shown, text.answered, text.skipped, text.text_count) == (5, 2, 3, 2)


def test_texts_listed(staff):
    survey, q, _workers = crafted(staff)
    assert {t for t, _d in selectors.texts_of(survey, q["text"])} == {"夜里也开门", "多装换电柜"}
    assert {t for t, _d in selectors.texts_of(survey, q["pain"])} == {"午饭", "下雨"}


def test_crosstab(staff):
    survey, q, _workers = crafted(staff)
    tab = selectors.crosstab(survey, q["pain"].pk, q["cabinet"].pk)
    c1, c2, c3 = (opt(q["cabinet"], i) for i in (1, 2, 3))
    p1, p2, p3 = (opt(q["pain"], i) for i in (1, 2, 3))
    assert tab.both == 5
    assert tab.cells == {(p1, c1): 1, (p1, c2): 1, (p1, c3): 1, (p2, c1): 2, (p3, c1): 1,
                         (p3, c3): 1, (OTHER_KEY, c1): 2}
    assert tab.row_totals == {p1: 3, p2: 2, p3: 2, OTHER_KEY: 2}
    first = tab.table()[0]
    assert [c["percent"] for c in first["cells"]] == [33.3, 33.3, 33.3]

    # the other way round: a multiple-choice column, rows can pass 100 %
    tab = selectors.crosstab(survey, q["cabinet"].pk, q["pain"].pk)
    row = tab.table()[0]
    assert row["total"] == 3
    assert [c["count"] for c in row["cells"]] == [1, 2, 1, 2]
    assert sum(c["percent"] for c in row["cells"]) > 100

    # a rating against a single choice; a conditional question only counts its shown
    tab = selectors.crosstab(survey, q["detail"].pk, q["rating"].pk)
    assert tab.both == 3


@pytest.mark.parametrize("which", ["same", "text", "foreign"])
def test_crosstab_refusals(staff, which):
    survey, q, _workers = crafted(staff)
    other, other_q = charging_survey(staff)
    pair = {"same": (q["pain"].pk, q["pain"].pk), "text": (q["pain"].pk, q["text"].pk),
            "foreign": (q["pain"].pk, other_q["pain"].pk)}[which]
    with pytest.raises(ServiceError):
        selectors.crosstab(survey, *pair)


def test_xlsx_export_read_back(staff):
    survey, q, workers = crafted(staff)
    book = load_workbook(io.BytesIO(xlsx.survey_workbook(survey)), read_only=True)
    rows = list(book["答卷"].iter_rows(values_only=True))
    head, body = rows[0], rows[1:]
    assert head[:3] == ("序号", "答卷人编号", "提交时间")
    assert head[3:] == tuple(f"{x.position}. {x.text}" for x in q.values())
    assert len(body) == 5
    width = len(head)
    by_person = {row[1]: tuple(row) + (None,) * (width - len(row)) for row in body}
    assert set(by_person) == {w.pk for w in workers}
    first = by_person[workers[0].pk]
    assert first[3:] == ("充电；歇脚", "排队；太贵", 5, "愿意", "多装换电柜")
    assert by_person[workers[2].pk][3:] == ("歇脚；其他：下雨", None, 1, "愿意", None)
    summary = list(book["统计"].iter_rows(values_only=True))
    assert ("1. 跑单途中最大的困难是什么？", "充电", 3, 60.0, 5, 5) in summary
    assert ("2. 充电方面具体遇到哪些问题？", "排队", 2, 66.7, 3, 3) in summary


def test_export_keeps_formulas_as_text(staff):
    survey, q = charging_survey(staff)
    services.response_submit(worker=WorkerFactory(), survey_id=survey.pk,
                             answers=answer(q, text='=HYPERLINK("http://x","y")\x07'))
    book = load_workbook(io.BytesIO(xlsx.survey_workbook(survey)))
    cell = book["答卷"].cell(row=2, column=8)
    assert cell.value == '=HYPERLINK("http://x","y")'
    assert cell.data_type == "s" and cell.quotePrefix
    assert not [c for sheet in book for r in sheet.iter_rows() for c in r if c.data_type == "f"]


def test_option_labels_and_question_texts_are_text_in_the_export(staff, client):
    survey, q = charging_survey(staff)
    option = q["pain"].options.first()
    option.label = "@SUM(1)\x1b"
    option.save()
    services.response_submit(worker=WorkerFactory(), survey_id=survey.pk,
                             answers=answer(q, pains=(1,)))
    login(client, staff)
    response = client.get(f"/console/surveys/{survey.pk}/results.xlsx")
    assert response.status_code == 200
    assert "filename*=utf-8''" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    labels = [r[1] for r in book["统计"].iter_rows()]
    quoted = [c for c in labels if c.value == "@SUM(1)"]
    assert quoted and all(c.data_type == "s" and c.quotePrefix for c in quoted)


def test_anonymous_results_wait_for_five_answers(staff):
    survey, q = charging_survey(staff, anonymous=True)
    for _i in range(selectors.MIN_ANONYMOUS_RESPONSES - 1):
        services.response_submit(worker=WorkerFactory(), survey_id=survey.pk, answers=answer(q))
    results = selectors.survey_results(survey)
    assert results.withheld and results.questions == []
    assert selectors.texts_withheld(survey)
    for call in (lambda: selectors.crosstab(survey, q["pain"].pk, q["cabinet"].pk),
                 lambda: xlsx.survey_workbook(survey)):
        with pytest.raises(ServiceError) as error:
            call()
        assert error.value.code == "results_withheld"
    services.response_submit(worker=WorkerFactory(), survey_id=survey.pk, answers=answer(q))
    assert not selectors.survey_results(survey).withheld


# --- answers become needs -----------------------------------------------------------------

def test_an_option_becomes_a_need_with_its_identified_respondents(staff):
    survey, q, workers = crafted(staff)
    charging = opt(q["pain"], 1)
    need_id = services.survey_raise_need(actor=staff, survey_id=survey.pk, option_id=charging)
    need = need_for(staff, need_id)
    assert (need.source, need.category, need.title) == ("survey", "charging", "充电")
    assert need.region_id == survey.region_id
    assert "3 位答题人" in need.description and "60.0%" in need.description
    assert need.raised_count == 3
    assert set(need.raisers.values_list("worker_id", flat=True)) == {
        workers[0].pk, workers[1].pk, workers[3].pk}
    assert SurveyNeed.objects.get(option_id=charging).need_id == need_id
    result = selectors.survey_results(survey).questions[0]
    assert result.buckets[0].need_id == need_id
    with pytest.raises(ServiceError) as error:
        services.survey_raise_need(actor=staff, survey_id=survey.pk, option_id=charging)
    assert (error.value.code, error.value.details["need_id"]) == ("already_raised", need_id)


def test_anonymous_survey_needs_have_no_raisers(staff):
    survey, q, _workers = crafted(staff, anonymous=True)
    need_id = services.survey_raise_need(actor=staff, survey_id=survey.pk,
                                         option_id=opt(q["pain"], 2))
    need = need_for(staff, need_id)
    assert need.raised_count == 0 and not need.raisers.exists()
    assert need.category == "rest_space"


def test_raise_need_refusals(staff):
    survey, q, _workers = crafted(staff)
    for option_id, code in [(opt(q["detail"], 1), "option_not_mapped"),
                            (opt(q["cabinet"], 1), "option_not_mapped")]:
        with pytest.raises(ServiceError) as error:
            services.survey_raise_need(actor=staff, survey_id=survey.pk, option_id=option_id)
        assert error.value.code == code
    other, other_q = charging_survey(staff)
    with pytest.raises(ServiceError) as error:  # an option of another survey
        services.survey_raise_need(actor=staff, survey_id=survey.pk,
                                   option_id=opt(other_q["pain"], 1))
    assert error.value.code == "option_not_found"
    with pytest.raises(ServiceError) as error:  # nobody chose it yet
        services.survey_raise_need(actor=staff, survey_id=other.pk,
                                   option_id=opt(other_q["pain"], 1))
    assert error.value.code == "no_answers"


def test_results_follow_each_new_answer_through_the_cache():
    staff_user = StaffFactory()
    survey, q = charging_survey(staff_user)
    services.response_submit(worker=WorkerFactory(), survey_id=survey.pk,
                             answers=answer(q, cabinet=1))
    first = {b.option_id: b.count for b in selectors.survey_results(survey).questions[3].buckets}
    assert list(first.values()) == [1, 0, 0]
    # A second view is served from the cache; a new answer changes what it shows.
    assert selectors.survey_results(survey).questions[3].buckets[0].count == 1
    services.response_submit(worker=WorkerFactory(), survey_id=survey.pk,
                             answers=answer(q, cabinet=3))
    after = [b.count for b in selectors.survey_results(survey).questions[3].buckets]
    assert after == [1, 0, 1]
