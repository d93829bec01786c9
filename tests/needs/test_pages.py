"""Worker pages (phone) and console pages (desk) for the needs list, through the test client."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from nuanxin.accounts.models import AuditLog, Notification
from nuanxin.needs import services
from nuanxin.needs.models import Need, NeedEvent, NeedFeedback, NeedRaiser
from tests.factories.needs import NeedFactory, raise_need
from tests.factories.people import StaffFactory, WorkerFactory, login
from tests.factories.places import CHOUCHENG, CHUITAI, YIJIASHAN

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


# --- worker pages -------------------------------------------------------------------------

def test_raise_form_offers_big_category_buttons_and_the_home_community(client):
    login(client, WorkerFactory())
    page = text(client.get("/needs/new/"))
    assert page.count('type="radio" name="category"') == 10
    assert "义驾山社区（常驻社区）" in page
    assert re.search(r'<option value="330782001001" selected>', page)
    assert 'id="use-location"' in page


def test_worker_raises_a_need_from_the_phone(client):
    rider = WorkerFactory()
    login(client, rider)
    response = client.post("/needs/new/", {"category": "charging", "title": "小区门口没有充电桩",
                                            "description": "", "region": YIJIASHAN,
                                            "lat": "29.3155", "lng": "120.0782"})
    need = Need.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/needs/{need.pk}/"
    assert (need.source, need.lat, need.raised_count) == ("online", 29.3155, 1)
    page = text(client.get(response["Location"]))
    assert "小区门口没有充电桩" in page and "已提交" in page


def test_the_form_keeps_what_was_typed_and_says_what_is_wrong(client):
    login(client, WorkerFactory())
    response = client.post("/needs/new/", {"title": "", "region": YIJIASHAN,
                                            "description": "晚上没地方充电"})
    assert response.status_code == 400
    page = text(response)
    assert "请选择一个类别。" in page and "请用一句话说明需求。" in page
    assert "晚上没地方充电" in page
    assert not Need.objects.exists()


def test_searching_another_community_keeps_the_form(client):
    login(client, WorkerFactory())
    response = client.post("/needs/new/", {"find": "search", "q": "吹台", "title": "孩子没人接",
                                            "category": "childcare", "region": YIJIASHAN})
    page = text(response)
    assert response.status_code == 200
    assert CHUITAI in page and "孩子没人接" in page
    assert 'value="childcare" id="cat-childcare" checked' in page
    assert not Need.objects.exists()


def test_sharing_the_location_offers_the_nearest_community(client):
    login(client, WorkerFactory(home_region_code=None))
    response = client.post("/needs/new/", {"find": "location", "lat": "27.9597",
                                            "lng": "120.6195", "title": "x"})
    assert re.search(r'<option value="330304001001" selected>[^<]*吹台社区（离我最近）',
                     text(response))


def test_my_needs_lists_only_mine_and_followed(client):
    rider, other = WorkerFactory(), WorkerFactory()
    NeedFactory(title="我的需求一", raisers=[rider])
    NeedFactory(title="别人的需求", raisers=[other])
    login(client, rider)
    page = text(client.get("/needs/"))
    assert "我的需求一" in page and "别人的需求" not in page


def test_nearby_lists_open_needs_of_my_community_without_private_ones(client):
    rider, other = WorkerFactory(), WorkerFactory()
    NeedFactory(title="义驾山缺充电桩", raisers=[other])
    NeedFactory(title="老板欠薪三个月", category="legal", raisers=[other])
    NeedFactory(title="已经解决的", status="resolved", raisers=[other])
    NeedFactory(title="吹台的需求", region_code=CHUITAI, raisers=[other])
    login(client, rider)
    page = text(client.get("/needs/nearby/"))
    assert "义驾山缺充电桩" in page and "我也遇到了" in page
    for hidden in ("老板欠薪三个月", "已经解决的", "吹台的需求"):
        assert hidden not in page


def test_me_too_from_the_nearby_list(client):
    rider, other = WorkerFactory(), WorkerFactory()
    need = NeedFactory(raisers=[other])
    login(client, rider)
    response = client.post(f"/needs/{need.pk}/me-too/")
    assert response.status_code == 302 and response["Location"] == f"/needs/{need.pk}/"
    need.refresh_from_db()
    assert need.raised_count == 2
    assert "已反映" in text(client.get("/needs/nearby/"))


def test_need_page_shows_history_with_units_not_staff_names(client):
    rider = WorkerFactory()
    need = raise_need(rider)
    secretary = StaffFactory()
    secretary.display_name = "何书记"
    secretary.save()
    services.need_accept(actor=secretary, need_id=need.pk, note="已联系铁塔公司")
    login(client, rider)
    page = text(client.get(f"/needs/{need.pk}/"))
    assert "义驾山社区党群服务中心" in page and "已联系铁塔公司" in page
    assert "何书记" not in page and secretary.username not in page


def test_notification_links_open_the_need(client):
    rider = WorkerFactory()
    need = raise_need(rider)
    services.need_accept(actor=StaffFactory(), need_id=need.pk)
    note = Notification.objects.get(user=rider)
    login(client, rider)
    response = client.get(note.link)
    assert response.status_code == 200 and need.title in text(response)


def test_an_old_link_to_a_merged_need_lands_on_the_need_it_went_into(client):
    rider = WorkerFactory()
    target, source = NeedFactory(raisers=[WorkerFactory()]), NeedFactory(raisers=[rider])
    services.need_merge(actor=StaffFactory(), target_id=target.pk, source_ids=[source.pk])
    login(client, rider)
    response = client.get(f"/needs/{source.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/needs/{target.pk}/"


def test_staff_following_a_worker_link_land_on_the_console(client):
    need = NeedFactory()
    login(client, StaffFactory())
    response = client.get(f"/needs/{need.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/console/needs/{need.pk}/"


def test_someone_elses_need_is_not_found(client):
    need = NeedFactory(raisers=[WorkerFactory()])
    login(client, WorkerFactory())
    assert client.get(f"/needs/{need.pk}/").status_code == 404


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/needs/new/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_rating_on_the_need_page(client):
    rider = WorkerFactory()
    need = NeedFactory(status="resolved", outcome="已装换电柜", raisers=[rider])
    login(client, rider)
    page = text(client.get(f"/needs/{need.pk}/"))
    assert "这个问题解决得怎么样？" in page and "已装换电柜" in page
    response = client.post(f"/needs/{need.pk}/rate/", {"score": "4", "comment": "挺方便"})
    assert response.status_code == 302
    assert NeedFeedback.objects.get().score == 4
    page = text(client.get(f"/needs/{need.pk}/"))
    assert "这个问题解决得怎么样？" not in page and "您的评价：4 分" in page
    client.post(f"/needs/{need.pk}/rate/", {"score": "1"})
    assert NeedFeedback.objects.count() == 1


def test_no_rating_form_for_followers_or_open_needs(client):
    rider, follower = WorkerFactory(), WorkerFactory()
    resolved = NeedFactory(status="resolved", raisers=[rider])
    services.need_follow(user=follower, need_id=resolved.pk)
    login(client, follower)
    assert "这个问题解决得怎么样？" not in text(client.get(f"/needs/{resolved.pk}/"))
    open_need = NeedFactory(status="accepted", raisers=[rider])
    login(client, rider)
    assert "这个问题解决得怎么样？" not in text(client.get(f"/needs/{open_need.pk}/"))


def test_worker_pages_query_budget(client, django_assert_max_num_queries):
    rider = WorkerFactory()
    for _ in range(15):
        NeedFactory(raisers=[rider, WorkerFactory()])
    login(client, rider)
    with django_assert_max_num_queries(12):
        assert client.get("/needs/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/needs/nearby/").status_code == 200


# --- console pages ------------------------------------------------------------------------

def test_console_list_filters_sorts_and_highlights_overdue(client):
    late = timezone.now() - timedelta(days=90)
    overdue = NeedFactory(title="逾期的充电需求", status="accepted", created_at=late,
                          accepted_at=late)
    urgent = NeedFactory(title="紧急的需求", urgency=3)
    NeedFactory(title="孩子放学没人接", category="childcare")
    login(client, StaffFactory())
    page = text(client.get("/console/needs/"))
    rows = re.findall(r'<tr( class="overdue")? data-need="(\d+)"', page)
    # 紧急优先: the overdue need first, then the most urgent open one (issue 8 item 17).
    assert [pk for _cls, pk in rows[:2]] == [str(overdue.pk), str(urgent.pk)]
    assert ("", str(overdue.pk)) not in rows and (' class="overdue"', str(overdue.pk)) in rows
    only_overdue = text(client.get("/console/needs/", {"overdue": "on"}))
    assert "逾期的充电需求" in only_overdue and "紧急的需求" not in only_overdue
    by_category = text(client.get("/console/needs/", {"category": "childcare"}))
    assert "孩子放学没人接" in by_category and "紧急的需求" not in by_category
    assert "孩子放学" in text(client.get("/console/needs/", {"q": "放学"}))


def test_console_list_refuses_unknown_filters(client):
    login(client, StaffFactory())
    assert client.get("/console/needs/", {"category": "parking"}).status_code == 400
    assert client.get("/console/needs/", {"region": CHUITAI}).status_code == 400


def test_console_list_paginates_and_keeps_filters(client):
    for _ in range(55):
        NeedFactory()
    login(client, StaffFactory())
    page = text(client.get("/console/needs/", {"category": "charging"}))
    assert "共 55 条需求" in page
    assert "category=charging&amp;page=2" in page
    assert len(re.findall(r"data-need=", text(client.get("/console/needs/", {"page": 2})))) == 5


def test_console_detail_masks_phones_and_shows_similar_with_reasons(client):
    rider = WorkerFactory()
    need = NeedFactory(title="义驾山缺少充电桩", raisers=[rider], lat=29.3155, lng=120.0782)
    similar = NeedFactory(title="义驾山缺少充电的地方", raisers=[WorkerFactory()], lat=29.3160,
                          lng=120.0790)
    NeedFactory(title="孩子没人照看", category="childcare")
    login(client, StaffFactory())
    page = text(client.get(f"/console/needs/{need.pk}/"))
    assert rider.masked_phone in page and rider.phone not in page
    assert f'name="source" value="{similar.pk}"' in page
    assert "同一社区" in page and "相距" in page and "很相似" in page and "文字相似度" not in page
    assert "孩子没人照看" not in page
    # An open need leads to the alliance's resources for it.
    assert f'href="/console/alliance/needs/{need.pk}/match/"' in page
    assert client.get(f"/console/alliance/needs/{need.pk}/match/").status_code == 200


def test_console_actions_and_merge(client):
    rider = WorkerFactory()
    need = NeedFactory(raisers=[rider])
    dup = NeedFactory(raisers=[WorkerFactory()])
    login(client, StaffFactory())
    client.post("/console/needs/merge/", {"target": need.pk, "source": [dup.pk]})
    need.refresh_from_db()
    assert need.raised_count == 2
    response = client.post(f"/console/needs/{need.pk}/decline/", {"text": ""})
    assert response.status_code == 302
    need.refresh_from_db()
    assert need.status == "submitted"  # a reason is required
    client.post(f"/console/needs/{need.pk}/accept/", {"text": "已受理"})
    client.post(f"/console/needs/{need.pk}/resolve/", {"text": "换电柜已投用"})
    need.refresh_from_db()
    assert need.status == "resolved" and need.outcome == "换电柜已投用"
    assert client.post(f"/console/needs/{need.pk}/explode/").status_code == 404
    assert client.get(f"/console/needs/{need.pk}/accept/").status_code == 405


def test_console_edit(client):
    need = NeedFactory()
    login(client, StaffFactory())
    response = client.post(f"/console/needs/{need.pk}/edit/", {
        "title": need.title, "category": "housing", "urgency": "3", "description": "补充"})
    assert response.status_code == 302
    need.refresh_from_db()
    assert (need.category, need.urgency) == ("housing", 3)
    page = text(client.get(f"/console/needs/{need.pk}/"))
    assert "类别：充电 → 住房" in page


def test_recording_a_need_for_a_walk_in_worker(client):
    rider = WorkerFactory()
    secretary = StaffFactory()
    login(client, secretary)
    looked = client.post("/console/needs/new/", {"lookup": "1", "phone": rider.phone})
    found = re.search(r'id="found-worker">([^<]*)<', text(looked)).group(1)
    assert rider.masked_phone in found  # the number typed stays in its box, nothing more
    response = client.post("/console/needs/new/", {
        "phone": rider.phone, "source": "walk_in", "region": YIJIASHAN,
        "category": "legal", "urgency": "3", "title": "工资被拖欠两个月", "description": ""})
    need = Need.objects.get()
    assert response["Location"] == f"/console/needs/{need.pk}/"
    assert (need.source, need.urgency, need.created_by) == ("walk_in", 3, secretary)
    assert NeedRaiser.objects.filter(need=need, worker=rider).exists()
    assert AuditLog.objects.filter(action="needs.worker.looked_up", actor=secretary).count() == 2


def test_recording_with_an_unknown_phone_or_none(client):
    login(client, StaffFactory())
    response = client.post("/console/needs/new/", {
        "phone": "13912345678", "source": "walk_in", "region": YIJIASHAN,
        "category": "charging", "urgency": "1", "title": "缺充电桩"})
    assert response.status_code == 400 and "还没有在暖新登录过" in text(response)
    response = client.post("/console/needs/new/", {
        "phone": "", "source": "visit", "region": YIJIASHAN,
        "category": "charging", "urgency": "1", "title": "缺充电桩"})
    assert response.status_code == 302
    assert Need.objects.get().raised_count == 0


def test_recording_outside_the_scope_is_refused(client):
    login(client, StaffFactory())
    response = client.post("/console/needs/new/", {
        "source": "visit", "region": CHUITAI, "category": "charging", "urgency": "1",
        "title": "缺充电桩"})
    assert response.status_code == 400 and not Need.objects.exists()


def test_export_is_the_filtered_list_without_phones(client):
    rider = WorkerFactory()
    late = timezone.now() - timedelta(days=90)
    NeedFactory(title="逾期的充电需求", status="accepted", created_at=late, accepted_at=late,
                raisers=[rider])
    NeedFactory(title="孩子放学没人接", category="childcare", raisers=[rider])
    NeedFactory(title="吹台的需求", region_code=CHUITAI)
    login(client, StaffFactory(role="street_admin", region_code=CHOUCHENG))
    response = client.get("/console/needs/export.xlsx", {"category": "charging"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:3] == ("编号", "标题", "类别")
    assert [r[1] for r in body] == ["逾期的充电需求"]
    row = dict(zip(header, body[0], strict=True))
    assert (row["社区"], row["街道"], row["区县"]) == ("义驾山社区", "稠城街道", "义乌市")
    assert row["逾期"] == "是" and row["反映人数"] == 1
    flat = " ".join(str(v) for r in rows for v in r if v is not None)
    assert rider.phone not in flat and rider.masked_phone not in flat


def test_console_list_query_budget(client, django_assert_max_num_queries):
    for i in range(40):
        NeedFactory(raisers=[WorkerFactory()], urgency=1 + i % 3)
    login(client, StaffFactory(role="street_admin", region_code=CHOUCHENG))
    with django_assert_max_num_queries(12):
        assert client.get("/console/needs/").status_code == 200


def test_the_console_menu_links_to_the_needs_list(client):
    login(client, StaffFactory())
    assert 'href="/console/needs/"' in text(client.get("/console/needs/"))
    assert NeedEvent.objects.count() == 0


def test_a_workers_needs_are_in_their_personal_data_export(client):
    rider = WorkerFactory()
    need = NeedFactory(status="resolved", raisers=[rider])
    services.need_rate(worker=rider, need_id=need.pk, score=5, comment="好")
    login(client, rider)
    data = client.get("/accounts/me/data.json").json()
    assert [n["id"] for n in data["needs"]["needs"]] == [need.pk]
    assert data["needs"]["needs"][0]["raised_by_me"] is True
    assert data["needs"]["ratings"][0]["score"] == 5


def test_the_api_document_lists_the_needs_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/api/v1/needs" in paths and "/api/v1/needs/merge" in paths
    assert "/api/v1/needs/{need_id}/rating" in paths
