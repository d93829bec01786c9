"""The one spreadsheet writer and the one download response, read back as Excel would."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from django.utils import translation
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from nuanxin.common.exports import Column, ExportBook, download_response, xlsx_response


def _read(columns, *rows):
    book = ExportBook()
    sheet = book.sheet("表", columns)
    for row in rows:
        sheet.append(row)
    return load_workbook(io.BytesIO(book.to_bytes())).active


@pytest.mark.parametrize("typed", ["=1+1", "+1", "-1-1", "@SUM(A1)", "\t=1", "\r=1",
                                   '=HYPERLINK("http://x","y")'])
def test_text_that_starts_like_a_formula_is_quoted_text(typed):
    sheet = _read([Column("标题")], [typed])
    cell = sheet["A2"]
    # XML reads a bare CR back as a line feed; what matters is that it stays text.
    assert cell.value == typed.replace("\r", "\n") and cell.data_type == "s"
    assert cell.quotePrefix


def test_plain_text_and_numbers_are_left_alone():
    sheet = _read([Column("a"), Column("b"), Column("c")], ["义驾山", 12, -3.5])
    assert [c.value for c in sheet[2]] == ["义驾山", 12, -3.5]
    assert not sheet["A2"].quotePrefix and sheet["B2"].data_type == "n"


def test_control_characters_are_dropped_and_line_breaks_kept():
    sheet = _read([Column("a")], ["第一行\x00\x07\x1b\n第二行"])
    assert sheet["A2"].value == "第一行\n第二行"


def test_dates_are_dates_and_moments_are_shanghai_time():
    moment = datetime(2025, 1, 1, 16, 30, 15, 123456, tzinfo=UTC)
    sheet = _read([Column("a"), Column("b")], [moment, date(2025, 2, 3)])
    assert sheet["A2"].is_date and sheet["A2"].value == datetime(2025, 1, 2, 0, 30, 15)
    assert sheet["A2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["B2"].is_date and sheet["B2"].number_format == "yyyy-mm-dd"


def test_header_row_widths_frozen_pane_and_text_columns():
    with translation.override("zh-hans"):
        sheet = _read([Column(gettext_lazy("区划代码"), 16, text=True), Column("=题目", 30)],
                      [330782001001, "x"])
    assert [c.value for c in sheet[1]] == ["区划代码", "=题目"]
    assert sheet["A1"].font.bold and sheet["B1"].quotePrefix
    assert sheet.column_dimensions["A"].width == 16 and sheet.column_dimensions["B"].width == 30
    assert sheet.freeze_panes == "A2"
    assert sheet["A2"].value == "330782001001" and sheet["A2"].number_format == "@"


@given(st.text(max_size=60))
def test_any_text_is_read_back_as_text(typed):
    sheet = _read([Column("a")], [typed])
    value = sheet["A2"].value
    expected = "".join(ch for ch in typed if ch in "\t\n\r" or ord(ch) >= 32)
    expected = expected.replace("\r\n", "\n").replace("\r", "\n")
    assert (value or "") == expected
    assert sheet["A2"].data_type != "f"


def test_download_names_a_chinese_file_and_is_never_cached():
    response = xlsx_response(b"x", filename="需求清单 2025/01.xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''")
    assert "%E9%9C%80%E6%B1%82" in disposition and "/" not in disposition.split("''")[1]
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_an_ascii_name_and_a_public_file():
    response = download_response(b"x", filename='a"b.svg', content_type="image/svg+xml",
                                 personal=False)
    assert response["Content-Disposition"] == 'attachment; filename="a\\"b.svg"'
    assert not response.has_header("Cache-Control")
    inline = download_response(b"x", filename="a.png", content_type="image/png", inline=True)
    assert not inline.has_header("Content-Disposition")
