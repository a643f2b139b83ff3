"""Spreadsheets in and out: no formula runs in a file Huiji writes, and an upload cannot
make the worker unpack or expand more than the limits allow."""

import csv
import io
import zipfile
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.test import override_settings
from django.utils import translation

from apps.core.spreadsheets import (
    SpreadsheetInvalid,
    UploadTooLarge,
    csv_document,
    csv_line,
    safe_cell,
    spreadsheet_rows,
    upload_check,
)
from apps.points.settlement import StatementRow, settlement_csv
from apps.stores.models import Store

COLUMNS = {"phone": {"手机号", "phone"}, "name": {"姓名"}}


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil","点我")', '\'=HYPERLINK("http://evil","点我")'),
        ("+86 139 0000 0001", "'+86 139 0000 0001"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\n=1", "'\n=1"),
        ("  =1+1", "'  =1+1"),
        ("\u3000=1+1", "'\u3000=1+1"),
        ("＝HYPERLINK(1)", "'＝HYPERLINK(1)"),
        ("＋86", "'＋86"),
        ("－1", "'－1"),
        ("＠SUM(A1)", "'＠SUM(A1)"),
        ("林 =晓", "林 =晓"),
        ("林晓", "林晓"),
        ("a=b", "a=b"),
        ("", ""),
        ("'=already", "'=already"),
        (-5, -5),
        (Decimal("-12.50"), Decimal("-12.50")),
        (-1.5, -1.5),
        (date(2026, 1, 2), date(2026, 1, 2)),
        (None, None),
    ],
)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe_numbers_do_not(value, written):
    assert safe_cell(value) == written


def test_a_lazy_translation_or_a_model_is_written_as_its_safe_text():
    class Named:
        def __str__(self):
            return "=cmd|' /C calc'!A0"

    assert csv_line([Named(), Decimal("-3.00"), -7]) == "'=cmd|' /C calc'!A0,-3.00,-7\r\n"


def test_a_csv_document_opens_as_utf8_in_excel_with_every_cell_safe():
    text = csv_document(["姓名", "金额"], [["=1+1", Decimal("-1.00")], ["@x", 3]])

    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == [
        ["姓名", "金额"],
        ["'=1+1", "-1.00"],
        ["'@x", "3"],
    ]


# Uploads


def xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    content = io.BytesIO()
    book.save(content)
    return content.getvalue()


def with_part(content: bytes, name: str, data: bytes) -> bytes:
    """The workbook `content` with its part `name` replaced by `data` (compressed)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, data if item.filename == name else source.read(item))
    return out.getvalue()


def test_an_upload_over_the_size_limit_is_refused_with_both_sizes():
    with override_settings(UPLOAD_MAX_BYTES=1000):
        upload_check("a.csv", b"x" * 1000)  # at the limit: fine
        with pytest.raises(UploadTooLarge) as refused:
            upload_check("a.csv", b"x" * 1001)
        with translation.override("en"):
            english = refused.value.render()

    assert refused.value.code == "upload_too_large"
    assert "1001" in refused.value.render() and "最多只能上传" in refused.value.render()
    assert english.startswith("This file is 1001") and "Split it into smaller files" in english


def test_an_xlsx_zip_bomb_is_refused_from_its_directory_without_unpacking():
    sheet = b"<worksheet>" + b" " * (40 * 1024 * 1024) + b"</worksheet>"  # shrinks ~1000×
    bomb = with_part(xlsx([["手机号"], ["13900000001"]]), "xl/worksheets/sheet1.xml", sheet)
    assert len(bomb) < 200 * 1024

    with pytest.raises(SpreadsheetInvalid) as refused:
        upload_check("members.xlsx", bomb)

    assert "解压后将超过" in refused.value.render()


def test_an_xlsx_that_unpacks_past_the_limit_is_refused_even_at_a_plain_ratio():
    content = xlsx([["手机号"], *[[f"139{n:08d}"] for n in range(2000)]])

    upload_check("members.xlsx", content)
    with override_settings(UPLOAD_MAX_INFLATED_BYTES=20_000), pytest.raises(SpreadsheetInvalid):
        upload_check("members.xlsx", content)


def test_reading_checks_the_limits_too():
    sheet = b"<worksheet>" + b" " * (40 * 1024 * 1024) + b"</worksheet>"
    bomb = with_part(xlsx([["手机号"]]), "xl/worksheets/sheet1.xml", sheet)

    with pytest.raises(SpreadsheetInvalid):
        list(spreadsheet_rows("a.xlsx", bomb, COLUMNS, required="phone", max_rows=10))


BILLION_LAUGHS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>phone</t></is></c></row>
<row r="2"><c r="A2" t="inlineStr"><is><t>&lol9;</t></is></c></row>
</sheetData></worksheet>"""


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.xml", "xl/workbook.xml"])
def test_an_xlsx_with_xml_entities_is_refused_unexpanded(part):
    payload = (
        BILLION_LAUGHS
        if part.startswith("xl/worksheets")
        else BILLION_LAUGHS.replace(b"worksheet", b"workbook")
    )
    content = with_part(xlsx([["手机号"], ["13900000001"]]), part, payload)

    with pytest.raises(SpreadsheetInvalid) as refused:
        list(spreadsheet_rows("a.xlsx", content, COLUMNS, required="phone", max_rows=10))

    assert refused.value.params["reason"] == "其中的 XML 声明了实体，不予接受。"


def test_blank_rows_without_end_are_refused():
    content = "手机号\n" + "\n" * 50 + "13900000001\n"

    with pytest.raises(SpreadsheetInvalid):
        list(spreadsheet_rows("a.csv", content.encode(), COLUMNS, required="phone", max_rows=10))


def test_the_points_settlement_statement_neutralises_a_store_name():
    store = Store(code="S001", name='=HYPERLINK("http://evil.example","x")')

    text = settlement_csv([StatementRow(store=store, received=100, returned=300)])

    [row] = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]
    assert row[1] == '\'=HYPERLINK("http://evil.example","x")'
    assert row[5:] == ["-200", "-2.00"]  # negative numbers stay numbers
