"""The needs export as the secretary opens it in Excel: what a worker typed is text, never a
formula; a control character does not break the file; merged and project needs say where
they went."""

from __future__ import annotations

import io
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from nuanxin.alliance.services.projects import ProjectInput, project_create
from nuanxin.needs import services
from tests.factories.needs import NeedFactory
from tests.factories.people import StaffFactory, WorkerFactory, login
from tests.factories.places import CHOUCHENG

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://x","y")'


def _export(client, **params):
    response = client.get("/console/needs/export.xlsx", params)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.active
    header = [c.value for c in sheet[1]]
    return response, sheet, header


def test_a_formula_typed_by_a_worker_arrives_as_text(client):
    NeedFactory(title=FORMULA + "\x07", description="+1 打电话\x1b给我", outcome="@SUM(A1)",
                raisers=[WorkerFactory()])
    login(client, StaffFactory(role="street_admin", region_code=CHOUCHENG))
    _response, sheet, header = _export(client)
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    title = row["标题"]
    assert title.value == FORMULA and title.data_type == "s" and title.quotePrefix
    assert row["描述"].value == "+1 打电话给我" and row["描述"].data_type == "s"
    assert row["结果说明"].value == "@SUM(A1)" and row["结果说明"].quotePrefix
    # Nothing anywhere in the sheet is a formula.
    assert not [c for r in sheet.iter_rows() for c in r if c.data_type == "f"]


def test_dates_are_dates_in_shanghai_time_and_the_header_is_frozen(client):
    need = NeedFactory(raisers=[WorkerFactory()])
    login(client, StaffFactory(role="street_admin", region_code=CHOUCHENG))
    _response, sheet, header = _export(client)
    submitted = sheet.cell(row=2, column=header.index("提交时间") + 1)
    local = need.created_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert submitted.is_date and submitted.value == local.replace(tzinfo=None, microsecond=0)
    assert sheet.freeze_panes == "B2"
    assert sheet.column_dimensions["B"].width == 36


def test_the_download_has_a_chinese_file_name_and_is_not_cached(client):
    login(client, StaffFactory(role="street_admin", region_code=CHOUCHENG))
    response, _sheet, _header = _export(client)
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=utf-8''{quote('需求清单')}" in disposition
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_merged_and_project_needs_say_where_they_went(client):
    admin = StaffFactory(role="street_admin", region_code=CHOUCHENG)
    target = NeedFactory(title="充电桩不够", raisers=[WorkerFactory()])
    duplicate = NeedFactory(title="没地方充电", raisers=[WorkerFactory()])
    services.need_merge(actor=admin, target_id=target.pk, source_ids=[duplicate.pk])
    project_create(actor=admin, data=ProjectInput(title="义驾山充电棚"), need_ids=(target.pk,))
    login(client, admin)
    _response, sheet, header = _export(client, sort="oldest")
    rows = {r[1]: dict(zip(header, r, strict=True))
            for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["没地方充电"]["并入需求"] == target.pk
    assert rows["充电桩不够"]["所属项目"] == "义驾山充电棚"
    assert rows["充电桩不够"]["并入需求"] is None and rows["没地方充电"]["所属项目"] is None
