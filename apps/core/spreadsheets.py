"""Reading the CSV and XLSX files HQ uploads (exports of Youzan, Meituan, Tmall, JD, Excel):
UTF-8 or GBK CSV, the first sheet of an .xlsx, columns found by their usual names."""

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime

import openpyxl
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.errors import Invalid

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")


class SpreadsheetInvalid(Invalid):
    default_message = gettext_lazy("This file cannot be imported: %(reason)s")


def spreadsheet_rows(
    file_name: str, content: bytes, columns: dict[str, set[str]], *, required: str, max_rows: int
) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as the spreadsheet counts it, {column key: text}) for each non-empty row.
    `columns` maps each key to the header names it may have; the `required` one must be there."""
    records = (
        _xlsx_records(content) if file_name.lower().endswith(".xlsx") else _csv_records(content)
    )
    header = next(records, None)
    if not header:
        raise SpreadsheetInvalid(reason=_("it is empty."))
    indexes = _column_indexes(header, columns, required)
    count = 0
    for number, record in enumerate(records, start=2):
        values = {
            key: cell_text(record[index]) if index < len(record) else ""
            for key, index in indexes.items()
        }
        if not any(values.values()):
            continue
        count += 1
        if count > max_rows:
            raise SpreadsheetInvalid(reason=_("it has more than %(max)d rows.") % {"max": max_rows})
        yield number, values


def _csv_records(content: bytes) -> Iterator[list]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SpreadsheetInvalid(reason=_("it is not a CSV file in UTF-8 or GBK."))
    return iter(csv.reader(io.StringIO(text)))


def _xlsx_records(content: bytes) -> Iterator[list]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise SpreadsheetInvalid(reason=_("it is not an Excel .xlsx file.")) from exc
    return (list(values) for values in book.worksheets[0].iter_rows(values_only=True))


def _column_indexes(header: list, columns: dict[str, set[str]], required: str) -> dict[str, int]:
    names = [cell_text(cell).lower().replace(" ", "") for cell in header]
    indexes = {}
    for key, aliases in columns.items():
        for index, name in enumerate(names):
            if name in aliases:
                indexes[key] = index
                break
    if required not in indexes:
        raise SpreadsheetInvalid(
            reason=_("no column is called %(names)s.")
            % {"names": " / ".join(sorted(columns[required]))}
        )
    return indexes


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores 13800138000 as a number
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return str(value).strip()


def parse_date(text: str) -> date | None:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def parse_datetime(text: str) -> datetime | None:
    for fmt in _DATETIME_FORMATS + _DATE_FORMATS:
        try:
            return timezone.make_aware(datetime.strptime(text, fmt))
        except ValueError:
            continue
    return None
