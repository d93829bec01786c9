"""The stations export writes what staff typed as text: a name typed as a formula stays a
name in Excel, and a control character (pasted from elsewhere) does not break the file."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from nuanxin.common.exports import XLSX_CONTENT_TYPE
from nuanxin.stations import imports
from nuanxin.stations.models import Station
from tests.factories.people import StaffFactory, login
from tests.factories.places import YIJIASHAN, StationFactory

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture
def staff():
    return StaffFactory(region_code=YIJIASHAN)


@pytest.fixture
def staff_client(client, staff):
    return login(client, staff)


def test_a_formula_in_a_station_is_exported_as_text(staff_client):
    StationFactory(region_code=YIJIASHAN, name=FORMULA + "\x07", address="-1 号楼\x1b",
                   contact_name="@admin")
    response = staff_client.get(reverse("console:export"))
    assert response.status_code == 200
    assert f"filename*=utf-8''{quote('服务阵地')}" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, sheet[2], strict=True))
    assert row["名称"].value == FORMULA and row["名称"].data_type == "s"
    assert row["名称"].quotePrefix
    assert row["地址"].value == "-1 号楼" and row["联系人"].value == "@admin"
    assert not [c for r in sheet.iter_rows() for c in r if c.data_type == "f"]
    assert sheet.freeze_panes == "C2"


def test_a_quoted_name_comes_back_unchanged_on_import(staff_client, staff):
    station = StationFactory(region_code=YIJIASHAN, name="+86 服务点")
    exported = staff_client.get(reverse("console:export")).content
    upload = SimpleUploadedFile("s.xlsx", exported, content_type=XLSX_CONTENT_TYPE)
    result = imports.stations_import(user=staff, upload=upload)
    assert (result.updated, result.unchanged) == (0, 1)
    assert Station.objects.get(pk=station.pk).name == "+86 服务点"
