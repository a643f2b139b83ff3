"""Reading the CSV and XLSX files HQ uploads (exports of Youzan, Meituan, Tmall, JD, Excel):
UTF-8 or GBK CSV, the first sheet of an .xlsx, columns found by their usual names; and
writing the CSV files Huiji hands out, with no cell a spreadsheet would run as a formula.

An upload is refused before anything is stored when it is larger than `UPLOAD_MAX_BYTES`
or is an .xlsx that would inflate past `UPLOAD_MAX_INFLATED_BYTES` (a zip bomb); the XML
inside is parsed by openpyxl through defusedxml (entity expansion refused).
"""

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal

import openpyxl
from defusedxml import DefusedXmlException
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.errors import Invalid

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
# A sheet's XML shrinks 5-30 times in a real .xlsx; a part that shrank over 200 times is a bomb.
_MAX_RATIO = 200
_RATIO_FROM = 1024 * 1024  # parts smaller than this inflate to nothing worth checking


class SpreadsheetInvalid(Invalid):
    default_message = gettext_lazy("This file cannot be imported: %(reason)s")


class UploadTooLarge(Invalid):
    code = "upload_too_large"
    default_message = gettext_lazy(
        "This file is %(size)s; files of at most %(limit)s can be uploaded. "
        "Split it into smaller files."
    )


# Uploads


def upload_size_check(size: int) -> None:
    if size > settings.UPLOAD_MAX_BYTES:
        raise UploadTooLarge(
            size=filesizeformat(size), limit=filesizeformat(settings.UPLOAD_MAX_BYTES)
        )


def xlsx_inflation_check(content: bytes) -> None:
    """Refuse an .xlsx whose parts would inflate past the limit, from the zip's directory
    alone (nothing is decompressed). zipfile never yields more than a part's declared size,
    so a directory that lies about sizes gives a broken file, not a big one."""
    try:
        parts = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise SpreadsheetInvalid(reason=_("it is not an Excel .xlsx file.")) from exc
    inflated = sum(part.file_size for part in parts)
    bomb = any(
        part.file_size > _RATIO_FROM and part.file_size > _MAX_RATIO * max(part.compress_size, 1)
        for part in parts
    )
    if bomb or inflated > settings.UPLOAD_MAX_INFLATED_BYTES:
        raise SpreadsheetInvalid(
            reason=_("it would unpack to more than %(limit)s.")
            % {"limit": filesizeformat(settings.UPLOAD_MAX_INFLATED_BYTES)}
        )


def upload_check(file_name: str, content: bytes) -> None:
    """What can be known of an upload without reading its rows: its size, and for an .xlsx
    how far it would inflate. Cheap enough for the web request; the rows are read by a job."""
    upload_size_check(len(content))
    if _is_xlsx(file_name):
        xlsx_inflation_check(content)


class SpreadsheetUploadField(forms.FileField):
    """A CSV or .xlsx upload, refused at once when too large (before it is read into memory)
    or an .xlsx that would inflate too far."""

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload:
            try:
                upload_size_check(upload.size)
                upload_check(upload.name, upload.read())
            except Invalid as error:
                raise ValidationError(error.render(), code=error.code) from error
            upload.seek(0)
        return upload


# Reading


def _is_xlsx(file_name: str) -> bool:
    return file_name.lower().endswith(".xlsx")


def spreadsheet_rows(
    file_name: str, content: bytes, columns: dict[str, set[str]], *, required: str, max_rows: int
) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number as the spreadsheet counts it, {column key: text}) for each non-empty row.
    `columns` maps each key to the header names it may have; the `required` one must be there."""
    upload_check(file_name, content)
    records = _xlsx_records(content) if _is_xlsx(file_name) else _csv_records(content)
    header = next(records, None)
    if not header:
        raise SpreadsheetInvalid(reason=_("it is empty."))
    indexes = _column_indexes(header, columns, required)
    count = 0
    for number, record in enumerate(records, start=2):
        if number > 2 * max_rows:  # blank rows cost little, but not without end
            raise SpreadsheetInvalid(reason=_("it has more than %(max)d rows.") % {"max": max_rows})
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
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # the rows as written, not a size the file claims
        yield from (list(values) for values in sheet.iter_rows(values_only=True))
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        if _caused_by(exc, DefusedXmlException):  # openpyxl wraps it in a ValueError
            reason = _("its XML declares entities, which are refused.")
        else:
            reason = _("it is not an Excel .xlsx file.")
        raise SpreadsheetInvalid(reason=reason) from exc


def _caused_by(error: BaseException | None, kind: type) -> bool:
    while error is not None:
        if isinstance(error, kind):
            return True
        error = error.__cause__ or error.__context__
    return False


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


# Writing

# What Excel, WPS and LibreOffice take as the start of a formula (OWASP, CSV injection),
# with the full-width forms a Chinese input method types; spaces and line breaks before
# them are skipped by some of them, so they are looked past.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def safe_cell(value):
    """A cell as a spreadsheet should show it: text that it would run as a formula gets a
    leading apostrophe, so a member named `=HYPERLINK(...)` stays a name. Numbers are left as
    they are: -12.50 is a value, not a formula."""
    if value is None or isinstance(value, int | float | Decimal | date):
        return value
    text = str(value)  # a model, a lazy translation: written as its text
    return "'" + text if text.lstrip(" \u3000").startswith(_FORMULA_STARTS) else text


class _Line:
    def write(self, value: str) -> str:
        return value


_line_writer = csv.writer(_Line())


def csv_line(values: Iterable) -> str:
    """One CSV line (with its line end) of cells made safe: every CSV Huiji writes is made of
    these, whether streamed, kept as a report or written at once."""
    return _line_writer.writerow([safe_cell(value) for value in values])


def csv_document(header: Iterable, rows: Iterable[Iterable]) -> str:
    """A whole CSV file that Excel opens as UTF-8 (the byte order mark)."""
    return "\ufeff" + csv_line(header) + "".join(csv_line(row) for row in rows)
