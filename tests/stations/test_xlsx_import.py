""".xlsx template, export and all-or-nothing import of stations."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from nuanxin.accounts.models import StaffRole
from nuanxin.common.errors import PermissionDenied, ServiceError
from nuanxin.stations import imports, xlsx
from nuanxin.stations.amenities import AMENITIES
from nuanxin.stations.models import OpeningSpan, Station
from nuanxin.stations.nearby.version import current_index_version
from tests.factories.people import StaffFactory, login
from tests.factories.places import (
    CHUITAI,
    ROUND_THE_CLOCK,
    YIJIASHAN,
    YIJIASHAN_POINT,
    YIWU,
    StationFactory,
)

pytestmark = pytest.mark.django_db

H = 60
HEADERS = ["编号", "名称", "类型", "区划代码", "地址", "纬度 (WGS-84)", "经度 (WGS-84)", "联系人",
           "联系电话", "设施", "夜间亮灯", "启用", "周一", "周二", "周三", "周四", "周五", "周六",
           "周日"]


@pytest.fixture
def staff():
    return StaffFactory(region_code=YIJIASHAN)


@pytest.fixture
def staff_client(client, staff):
    return login(client, staff)


def workbook_bytes(rows, headers=HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(content: bytes, name="stations.xlsx"):
    return SimpleUploadedFile(name, content, content_type=xlsx.XLSX_CONTENT_TYPE)


def new_row(name="义驾山新驿站", **changes):
    row = {
        "编号": None, "名称": name, "类型": "驿站", "区划代码": YIJIASHAN,
        "地址": "义驾山路 9 号", "纬度 (WGS-84)": YIJIASHAN_POINT[0],
        "经度 (WGS-84)": YIJIASHAN_POINT[1], "联系人": "李师傅", "联系电话": "13900002222",
        "设施": "饮用水/热水、手机充电、toilet", "夜间亮灯": "是", "启用": "是",
        "周一": "08:30-20:30", "周二": "08:30-12:00, 14:00-20:00", "周三": "",
        "周四": "16:00-02:00", "周五": "", "周六": "00:00-24:00", "周日": "",
    }
    row.update(changes)
    return [row[h] for h in HEADERS]


def spans_of(station):
    return list(OpeningSpan.objects.filter(station=station)
                .order_by("weekday", "opens").values_list("weekday", "opens", "closes"))


def snapshot():
    return sorted(
        (s.pk, s.name, s.type, s.region_id, s.lat, s.lng, s.amenity_bits, s.night_light,
         s.is_active, tuple(spans_of(s)))
        for s in Station.objects.all()
    )


# --- template and export ---------------------------------------------------------------------

def test_template_download(staff_client):
    response = staff_client.get(reverse("console:import_template"))
    assert response.status_code == 200
    assert response["Content-Type"] == xlsx.XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    stations, notes, regions = book.worksheets
    assert [c.value for c in stations[1]] == HEADERS
    assert stations.max_row == 1
    note_text = {str(c.value) for row in notes.iter_rows() for c in row if c.value}
    for code, (_bit, label) in AMENITIES.items():
        assert code in note_text and str(label) in note_text
    assert any("00:00-24:00" in text for text in note_text)
    assert [r[0].value for r in regions.iter_rows(min_row=2)] == [YIJIASHAN]


def test_export_contains_only_stations_in_scope(staff_client):
    mine = StationFactory(region_code=YIJIASHAN, name="义驾山驿站", hours=[(0, 16 * H, 2 * H)],
                          amenities=["hot_water", "toilet"], night_light=True)
    StationFactory(region_code=CHUITAI, name="吹台驿站")
    response = staff_client.get(reverse("console:export"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert len(rows) == 1
    row = dict(zip(HEADERS, rows[0], strict=True))
    assert row["编号"] == mine.pk and row["名称"] == "义驾山驿站"
    assert row["区划代码"] == YIJIASHAN and row["类型"] == "党群服务中心"
    assert row["设施"] == "饮用水/热水、卫生间"
    assert row["夜间亮灯"] == "是" and row["周一"] == "16:00-02:00" and row["周二"] in ("", None)


# --- import: good files ----------------------------------------------------------------------

def test_import_creates_and_updates(staff_client, staff):
    existing = StationFactory(region_code=YIJIASHAN, name="旧名字", hours=ROUND_THE_CLOCK)
    before = current_index_version()
    content = workbook_bytes([
        new_row(),
        new_row(name="新名字", **{"编号": existing.pk, "类型": "党群服务中心", "设施": "",
                                 "夜间亮灯": "否", "周一": "09:00-17:00", "周二": "", "周四": "",
                                 "周六": ""}),
    ])
    response = staff_client.post(reverse("console:import"), {"file": upload(content)})
    assert response.status_code == 302
    message = str(list(response.wsgi_request._messages)[0])
    assert "新建 1 个" in message and "更新 1 个" in message

    created = Station.objects.get(name="义驾山新驿站")
    assert created.type == "post" and created.region_id == YIJIASHAN
    assert sorted(created.amenities) == ["hot_water", "phone_charging", "toilet"]
    assert created.night_light is True and created.h3_cell
    assert spans_of(created) == [(0, 8 * H + 30, 20 * H + 30), (1, 8 * H + 30, 12 * H),
                                 (1, 14 * H, 20 * H), (3, 16 * H, 2 * H), (5, 0, 24 * H)]
    existing.refresh_from_db()
    assert existing.name == "新名字" and existing.amenities == []
    assert existing.night_light is False
    assert spans_of(existing) == [(0, 9 * H, 17 * H)]
    assert current_index_version() != before


def test_update_keeps_columns_the_file_leaves_out(staff):
    station = StationFactory(region_code=YIJIASHAN, name="义驾山驿站", night_light=True,
                             hours=ROUND_THE_CLOCK)
    content = workbook_bytes(
        [[station.pk, "改过的名字", "驿站", YIJIASHAN, station.lat, station.lng]],
        headers=["编号", "名称", "类型", "区划代码", "纬度", "经度"],
    )
    result = imports.stations_import(user=staff, upload=upload(content))
    assert (result.created, result.updated) == (0, 1)
    station.refresh_from_db()
    assert station.name == "改过的名字" and station.night_light is True
    assert spans_of(station) == ROUND_THE_CLOCK


def test_export_then_import_round_trips(staff_client, staff):
    StationFactory(region_code=YIJIASHAN, hours=[(0, 16 * H, 2 * H), (2, 0, 24 * H)],
                   amenities=list(AMENITIES)[:7], night_light=True)
    StationFactory(region_code=YIJIASHAN, hours=[], is_active=False, amenities=[])
    StationFactory(region_code=YIJIASHAN,
                   hours=[(1, 8 * H, 12 * H), (1, 13 * H + 30, 18 * H), (6, 22 * H, 24 * H)],
                   address="", contact_name="", contact_phone="")
    StationFactory(region_code=CHUITAI)  # out of scope: neither exported nor touched
    exported = staff_client.get(reverse("console:export")).content
    before = snapshot()

    result = imports.stations_import(user=staff, upload=upload(exported))
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    assert snapshot() == before

    book = load_workbook(io.BytesIO(exported))
    sheet = book.worksheets[0]
    sheet.cell(row=2, column=2, value="改名后的驿站")
    sheet.cell(row=3, column=14, value="07:00-09:00")  # 周二
    sheet.append([None, "又一个新驿站", "合作服务点", YIJIASHAN, "", 29.3150, 120.0790])
    buffer = io.BytesIO()
    book.save(buffer)
    result = imports.stations_import(user=staff, upload=upload(buffer.getvalue()))
    assert (result.created, result.updated, result.unchanged) == (1, 2, 1)
    assert Station.objects.filter(name="改名后的驿站").exists()
    new = Station.objects.get(name="又一个新驿站")
    assert new.type == "partner_point" and new.is_active and spans_of(new) == []


def test_english_headers_and_codes_are_accepted(staff):
    content = workbook_bytes(
        [[None, "Rider post", "post", YIJIASHAN, *YIJIASHAN_POINT, "hot_water, wifi", "yes",
          "08:00-18:00"]],
        headers=["id", "name", "type", "region", "lat", "lng", "amenities", "night_light",
                 "mon"],
    )
    result = imports.stations_import(user=staff, upload=upload(content))
    assert result.created == 1
    station = Station.objects.get(name="Rider post")
    assert sorted(station.amenities) == ["hot_water", "wifi"] and station.night_light
    assert spans_of(station) == [(0, 8 * H, 18 * H)]


# --- import: bad rows ------------------------------------------------------------------------

def test_every_bad_row_is_reported_and_nothing_changes(staff_client):
    existing = StationFactory(region_code=YIJIASHAN, name="不要改我")
    foreign = StationFactory(region_code=CHUITAI, name="吹台驿站")
    rows = [
        new_row(name="好的一行"),                                            # row 2: fine
        new_row(name=""),                                                    # 3
        new_row(**{"类型": "咖啡馆"}),                                        # 4
        new_row(**{"纬度 (WGS-84)": "北纬29度"}),                              # 5
        new_row(**{"区划代码": CHUITAI, "纬度 (WGS-84)": 27.9593,
                   "经度 (WGS-84)": 120.6199}),                              # 6: out of scope
        new_row(**{"周三": "25:00-26:00", "设施": "热水、按摩椅"}),               # 7: two problems
        new_row(**{"编号": foreign.pk}),                                      # 8: foreign id
        new_row(**{"编号": 999999}),                                          # 9: unknown id
        new_row(**{"纬度 (WGS-84)": 27.9593, "经度 (WGS-84)": 120.6199}),      # 10: wrong place
        new_row(**{"编号": existing.pk, "周日": "20:00-03:00", "周一": "02:00-08:00"}),  # 11
        new_row(**{"编号": existing.pk}),                                     # 12: id twice
        new_row(**{"夜间亮灯": "也许"}),                                       # 13
        new_row(**{"区划代码": "999999999999"}),                               # 14
    ]
    count, before, version = Station.objects.count(), snapshot(), current_index_version()
    response = staff_client.post(reverse("console:import"),
                                 {"file": upload(workbook_bytes(rows))})
    assert response.status_code == 422
    problems = response.context["problems"]
    by_row: dict[int, list[str]] = {}
    for p in problems:
        by_row.setdefault(p.row, []).append(p.column)
    assert sorted(by_row) == list(range(3, 15))
    assert by_row[3] == ["名称"]
    assert by_row[4] == ["类型"]
    assert by_row[5] == ["纬度 (WGS-84)"]
    assert by_row[6] == ["区划代码"]
    assert by_row[7] == ["设施", "周三"]
    assert by_row[8] == by_row[9] == by_row[12] == ["编号"]
    assert by_row[10] == ["区划代码"]
    assert by_row[11] == ["周一"]
    assert by_row[13] == ["夜间亮灯"]
    assert by_row[14] == ["区划代码"]
    body = response.content.decode()
    assert "整个文件都没有导入" in body and "按摩椅" in body and "不在您的管辖范围内" in body
    assert Station.objects.count() == count
    assert snapshot() == before
    assert current_index_version() == version


def test_import_rows_outside_scope_for_a_district_admin(client):
    admin = StaffFactory(role=StaffRole.DISTRICT_ADMIN, region_code=YIWU)
    login(client, admin)
    rows = [new_row(name="义乌的"), new_row(name="温州的", **{
        "区划代码": CHUITAI, "纬度 (WGS-84)": 27.9593, "经度 (WGS-84)": 120.6199})]
    response = client.post(reverse("console:import"), {"file": upload(workbook_bytes(rows))})
    assert response.status_code == 422
    assert [(p.row, p.column) for p in response.context["problems"]] == [(3, "区划代码")]
    assert not Station.objects.exists()


# --- import: files refused as a whole --------------------------------------------------------

@pytest.mark.parametrize("name,content,message", [
    ("stations.csv", "名称,类型\n驿站,post\n".encode(), "不是 Excel .xlsx 文件"),
    ("stations.xlsx", b"PK\x03\x04 not really a zip", "不是 Excel .xlsx 文件"),
    ("stations.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "另存为"),
    ("stations.xlsx", b"", "空"),
])
def test_non_xlsx_uploads_are_refused(staff_client, name, content, message):
    response = staff_client.post(reverse("console:import"),
                                 {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors.get("file", []))
    assert not Station.objects.exists()


def test_a_zip_that_is_not_a_workbook_is_refused(staff):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(xlsx.WorkbookRejected) as caught:
        imports.stations_import(user=staff, upload=upload(buffer.getvalue()))
    assert caught.value.code == "not_xlsx"


def test_size_and_row_caps(staff, monkeypatch):
    big = upload(b"PK" + b"\0" * xlsx.MAX_UPLOAD_BYTES)
    with pytest.raises(xlsx.WorkbookRejected) as caught:
        imports.stations_import(user=staff, upload=big)
    assert caught.value.code == "file_too_large"

    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)
    content = workbook_bytes([new_row(name=f"驿站{i}") for i in range(4)])
    with pytest.raises(xlsx.WorkbookRejected) as caught:
        imports.stations_import(user=staff, upload=upload(content))
    assert caught.value.code == "too_many_rows"
    assert not Station.objects.exists()


def test_missing_required_columns_and_empty_sheet(staff):
    content = workbook_bytes([["义驾山驿站"]], headers=["名称"])
    with pytest.raises(xlsx.WorkbookRejected) as caught:
        imports.stations_import(user=staff, upload=upload(content))
    assert caught.value.code == "missing_columns"
    assert "区划代码" in str(caught.value.message)
    with pytest.raises(ServiceError) as caught:
        imports.stations_import(user=staff, upload=upload(workbook_bytes([])))
    assert caught.value.code == "import_empty"


def test_non_staff_cannot_import(client):
    from tests.factories.people import WorkerFactory

    worker = WorkerFactory(profile=None)
    with pytest.raises(PermissionDenied):
        imports.stations_import(user=worker, upload=upload(workbook_bytes([new_row()])))
    client.force_login(worker)
    assert client.get(reverse("console:import")).status_code == 302
    assert client.get(reverse("console:export")).status_code == 302
