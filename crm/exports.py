"""Generic pieces of every export: inert cells, streamed CSV for Excel, XLSX in constant memory,
and the audit entry that says who took which rows out.

    rows = (row_values(obj) for obj in queryset.iterator(chunk_size=2000))
    return csv_response(headers, rows, filename="companies.csv")
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal

from auditlog.models import LogEntry
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.audit import log_event
from crm.fields import TAX_ID_LIKE, blind_index_for, normalize_phone, normalize_tax_id, phone_query
from crm.params import parse_text

# A spreadsheet reads a cell starting with one of these as a formula (or, for tab and CR, as a
# cell whose formula begins after the whitespace). A leading apostrophe makes it plain text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EVENT_EXPORT = "export"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def typed_cell(value) -> str | int | float | Decimal | datetime.date:
    """A cell's value: numbers, dates and booleans stay typed, everything else becomes text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, Decimal, datetime.date)):
        return value
    return str(value)


def safe_cell(value) -> str | int | float | Decimal | datetime.date:
    """A value that no spreadsheet will execute when it opens a CSV: text starting like a formula
    gets a "'" prefix. (An XLSX cell needs no prefix: `write_xlsx` types it as text.)

    Numbers, dates and booleans stay typed (a negative number is a number, not a formula).
    """
    value = typed_cell(value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _csv_text(value) -> str:
    value = safe_cell(value)
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(value) else str(value)
    return str(value)


class _Echo:
    def write(self, value):
        return value


def csv_chunks(headers: list[str], rows: Iterable[list]) -> Iterator[str]:
    """CSV lines for a streaming response, starting with a UTF-8 BOM so Excel reads Chinese."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([_csv_text(h) for h in headers])
    for row in rows:
        yield writer.writerow([_csv_text(v) for v in row])


def write_csv(stream, headers: list[str], rows: Iterable[list]) -> int:
    """Write the same CSV to a binary file; returns the number of data rows."""
    count = -1
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
    for count, chunk in enumerate(csv_chunks(headers, rows)):  # noqa: B007
        text.write(chunk)
    text.flush()
    text.detach()
    return max(count, 0)


def csv_response(headers: list[str], rows: Iterable[list], *, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        (chunk.encode("utf-8") for chunk in csv_chunks(headers, rows)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def write_xlsx(stream, headers: list[str], rows: Iterable[list], *, sheet: str = "Export") -> int:
    """An XLSX workbook written row by row (constant memory); returns the number of data rows.

    Text is written as a text cell (never parsed as a formula, number or URL), so a phone number
    such as "+86 138…" reads as written, without the apostrophe CSV needs. Text that starts like a
    formula also gets Excel's quote prefix (hidden, like typing "'" in Excel), so that editing the
    cell later does not turn it into a formula.
    """
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        stream,
        {
            "constant_memory": True,
            "in_memory": False,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "remove_timezone": True,
        },
    )
    worksheet = workbook.add_worksheet(sheet[:31])
    bold = workbook.add_format({"bold": True})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    quoted = workbook.add_format({"quote_prefix": True})
    for col, header in enumerate(headers):
        worksheet.write_string(0, col, str(typed_cell(header)), bold)
    count = 0
    for count, row in enumerate(rows, start=1):
        for col, raw in enumerate(row):
            value = typed_cell(raw)
            if isinstance(value, datetime.datetime):
                if timezone.is_aware(value):
                    value = timezone.localtime(value).replace(tzinfo=None)
                worksheet.write_datetime(count, col, value, datetime_format)
            elif isinstance(value, datetime.date):
                worksheet.write_datetime(count, col, datetime.datetime.combine(value, datetime.time()), date_format)
            elif isinstance(value, (int, float, Decimal)):
                worksheet.write_number(count, col, float(value))
            elif value.startswith(FORMULA_PREFIXES):
                worksheet.write_string(count, col, value, quoted)
            else:
                worksheet.write_string(count, col, value)
    workbook.close()
    return count


def _filter_value(value) -> str:
    """A filter as the audit trail keeps it: a search by a phone number or tax ID is kept as its
    blind index (an auditor who has the number can find the export; nobody can read it)."""
    text = str(value)
    if phone := phone_query(text):
        return "phone:" + blind_index_for(normalize_phone, phone)
    if TAX_ID_LIKE.match(normalize_tax_id(text)):
        return "tax_id:" + blind_index_for(normalize_tax_id, text)
    return text


def log_export(
    *,
    actor,
    what: str,
    rows: int,
    filters: dict,
    file_format: str,
    sensitive: bool,
    remote_addr: str | None = None,
):
    """One access entry on the exporting user: what was exported, how many rows, with which
    filters, and whether sensitive fields (phones, tax IDs) were in it unmasked."""
    entry = log_event(actor, actor=actor, action=LogEntry.Action.ACCESS, event=EVENT_EXPORT, remote_addr=remote_addr)
    entry.additional_data = {
        "event": EVENT_EXPORT,
        "export": what,
        "format": file_format,
        "rows": rows,
        "sensitive": sensitive,
        # As the request gave them: without control characters (a NUL cannot be stored in JSON).
        "filters": {
            parse_text(k): [_filter_value(parse_text(v, max_length=200)) for v in values]
            for k, values in filters.items()
        },
    }
    entry.save(update_fields=["additional_data"])
    return entry


def export_summary(data: dict) -> str:
    """An export entry's details as the audit page shows them."""
    rows = data.get("rows", 0)
    parts = [
        str(data.get("export", "")),
        str(data.get("format", "")).upper(),
        ngettext("%(count)d row", "%(count)d rows", rows) % {"count": rows},
    ]
    if "sensitive" in data:
        parts.append(_("sensitive fields included") if data["sensitive"] else _("sensitive fields masked"))
    return " · ".join(part for part in parts if part)
