"""The first sheet of an XLSX workbook, read row by row from its XML.

A workbook is a zip of XML parts; the sheet's cells are parsed as a stream (defusedxml, so no
entity tricks), each row is handed on and dropped, and neither the sheet's declared dimension
nor the position of its last cell is ever allocated: a 5 KB workbook claiming a cell at
XFD1048576 costs what its real cells cost. What is kept whole is the shared-string table,
which the cells index into, bounded by its inflated size.

Values read back as people see them: numbers that are whole as integers (a phone number typed
as 13800138000 is stored as a float), cells formatted as dates as ISO dates, booleans as
TRUE/FALSE, error values as empty cells.
"""

from __future__ import annotations

import datetime
import posixpath
import re
import zipfile
from collections.abc import Iterator
from typing import BinaryIO

from django.utils.translation import gettext as _

from customers.importing.reading import Table, UnreadableFile, as_stream, table_from_rows

# What a part may inflate to: a zip bomb is refused before it is inflated (zipfile never
# inflates a member beyond its declared size).
MAX_PART_BYTES = 512 * 1024 * 1024
MAX_SHEET_COLUMNS = 500
_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})$")
# Built-in number formats that show a date or a time (ECMA-376 18.8.30, with the East Asian ones).
_BUILTIN_DATE_FORMATS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_FORMAT_NOISE = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.')
_EXCEL_EPOCH = datetime.datetime(1899, 12, 30)
_EXCEL_EPOCH_1904 = datetime.datetime(1904, 1, 1)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _damaged() -> UnreadableFile:
    return UnreadableFile(_("The spreadsheet could not be read: it is damaged or cut short."))


def _column_number(ref: str) -> tuple[int, str] | None:
    """(1-based column, row digits) of a cell reference like "AB12"."""
    match = _CELL_REF.match(ref or "")
    if not match:
        return None
    letters, row = match.groups()
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - 64
    return column, row


def _iterparse(archive: zipfile.ZipFile, info: zipfile.ZipInfo, events=("end",)):
    from defusedxml.ElementTree import iterparse

    if info.file_size > MAX_PART_BYTES:
        raise UnreadableFile(_("The spreadsheet is too large to read. Save it as CSV, or split it."))
    with archive.open(info) as stream:
        yield from iterparse(stream, events=events)


def _part(names: dict[str, zipfile.ZipInfo], path: str) -> zipfile.ZipInfo | None:
    return names.get(path.lstrip("/"))


def _first_sheet(archive: zipfile.ZipFile, names: dict) -> tuple[zipfile.ZipInfo, bool]:
    """The first sheet's part, in the workbook's own order, and whether dates count from 1904."""
    first_id, date1904 = None, False
    if workbook := _part(names, "xl/workbook.xml"):
        for _event, element in _iterparse(archive, workbook):
            tag = _local(element.tag)
            if tag == "workbookPr":
                date1904 = element.get("date1904", "").lower() in ("1", "true")
            elif tag == "sheet" and first_id is None:
                first_id = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
    if first_id and (rels := _part(names, "xl/_rels/workbook.xml.rels")):
        for _event, element in _iterparse(archive, rels):
            if _local(element.tag) == "Relationship" and element.get("Id") == first_id:
                target = element.get("Target", "")
                path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
                if sheet := _part(names, path):
                    return sheet, date1904
    sheets = sorted(name for name in names if name.startswith("xl/worksheets/") and name.endswith(".xml"))
    if not sheets:
        raise UnreadableFile(_("The spreadsheet could not be read: it is not a valid XLSX file."))
    return names[sheets[0]], date1904


def _texts(element) -> str:
    """The text of a shared or inline string: its runs, without phonetic guides (<rPh>)."""
    parts = []
    for child in element:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _shared_strings(archive: zipfile.ZipFile, names: dict) -> list[str]:
    info = _part(names, "xl/sharedStrings.xml")
    if info is None:
        return []
    strings, root = [], None
    for event, element in _iterparse(archive, info, events=("start", "end")):
        if event == "start":
            root = root if root is not None else element
            continue
        if _local(element.tag) == "si":
            strings.append(_texts(element))
            root.clear()  # drop what is parsed so far: only the strings themselves stay
    return strings


def _is_date_format(code: str) -> bool:
    return bool(re.search(r"[dmyhs]", _FORMAT_NOISE.sub("", code), re.IGNORECASE))


def _date_styles(archive: zipfile.ZipFile, names: dict) -> set[int]:
    """Indexes of the cell styles whose number format is a date or time."""
    info = _part(names, "xl/styles.xml")
    if info is None:
        return set()
    custom: dict[int, str] = {}
    styles: set[int] = set()
    index, in_cell_xfs = 0, False
    for event, element in _iterparse(archive, info, events=("start", "end")):
        tag = _local(element.tag)
        if tag == "cellXfs":
            in_cell_xfs = event == "start"
        elif event == "end" and tag == "numFmt":
            try:
                custom[int(element.get("numFmtId", ""))] = element.get("formatCode", "")
            except ValueError:
                continue
        elif event == "end" and tag == "xf" and in_cell_xfs:
            try:
                number_format = int(element.get("numFmtId", "0"))
            except ValueError:
                number_format = 0
            if number_format in _BUILTIN_DATE_FORMATS or _is_date_format(custom.get(number_format, "")):
                styles.add(index)
            index += 1
    return styles


def _number_text(value: float) -> str:
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return format(value, ".15g")  # the 15 significant digits a spreadsheet shows


def _date_text(value: float, date1904: bool) -> str | None:
    try:
        moment = (_EXCEL_EPOCH_1904 if date1904 else _EXCEL_EPOCH) + datetime.timedelta(days=value)
    except (OverflowError, ValueError):
        return None
    moment = moment.replace(microsecond=0) + datetime.timedelta(seconds=round(moment.microsecond / 1e6))
    return moment.date().isoformat() if moment.time() == datetime.time() else moment.isoformat(sep=" ")


def _cell_value(cell, strings: list[str], date_styles: set[int], date1904: bool) -> str:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        inline = next((child for child in cell if _local(child.tag) == "is"), None)
        return _texts(inline).strip() if inline is not None else ""
    value = next((child.text for child in cell if _local(child.tag) == "v"), None)
    if value is None or kind == "e":
        return ""
    if kind == "s":
        try:
            return strings[int(value)].strip()
        except (ValueError, IndexError):
            raise _damaged() from None
    if kind == "b":
        return "TRUE" if value.strip() == "1" else "FALSE"
    if kind == "n":
        try:
            number = float(value)
        except ValueError:
            return value.strip()
        if int(cell.get("s", "0") or 0) in date_styles and (text := _date_text(number, date1904)):
            return text
        return _number_text(number)
    if kind == "d":
        return value.strip().removesuffix("T00:00:00")
    return value.strip()  # "str": a formula's text result


def _sheet_rows(archive, sheet, strings, date_styles, date1904) -> Iterator[tuple[int, list[str]]]:
    parent = None
    previous_row = 0
    for event, element in _iterparse(archive, sheet, events=("start", "end")):
        tag = _local(element.tag)
        if event == "start":
            if tag == "sheetData":
                parent = element
            continue
        if tag != "row":
            continue
        try:
            number = int(element.get("r") or previous_row + 1)
        except ValueError:
            number = previous_row + 1
        previous_row = number
        cells: dict[int, str] = {}
        column = 0
        for cell in element:
            if _local(cell.tag) != "c":
                continue
            position = _column_number(cell.get("r", ""))
            column = position[0] if position else column + 1
            text = _cell_value(cell, strings, date_styles, date1904)
            if not text:
                continue
            if column > MAX_SHEET_COLUMNS:
                raise UnreadableFile(
                    _(
                        "The sheet reaches cell %(cell)s, beyond %(columns)d columns. "
                        "Copy the data into a new sheet or save it as CSV."
                    )
                    % {"cell": cell.get("r", "")[:12], "columns": MAX_SHEET_COLUMNS}
                )
            cells[column] = text
        if parent is not None:
            parent.clear()  # the rows read so far
        if cells:
            width = max(cells)
            yield number, [cells.get(c, "") for c in range(1, width + 1)]


def read_spreadsheet(source: bytes | BinaryIO) -> Table:
    """The first sheet of an XLSX workbook (bytes or a seekable binary file) as a table."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException

    failures = (ParseError, DefusedXmlException, zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError)
    try:
        archive = zipfile.ZipFile(as_stream(source))
        names = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UnreadableFile(_("The spreadsheet could not be read: it is not a valid XLSX file.")) from None
    try:
        sheet, date1904 = _first_sheet(archive, names)
        strings = _shared_strings(archive, names)
        date_styles = _date_styles(archive, names)
    except UnreadableFile:
        raise
    except failures:
        raise _damaged() from None

    def rows():
        try:
            yield from _sheet_rows(archive, sheet, strings, date_styles, date1904)
        except UnreadableFile:
            raise
        except failures:
            raise _damaged() from None

    return table_from_rows(rows())
