"""From uploaded bytes to a header row and numbered data rows.

Encodings: a fixed pre-pass, because a statistical detector alone reads a short GBK file as
Korean: byte-order mark (UTF-8, UTF-16 LE/BE) -> UTF-16 without a mark (NUL bytes) -> strict
UTF-8 -> strict GB18030 (a superset of GBK and GB2312) -> charset-normalizer.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
import zipfile
from dataclasses import dataclass

from django.utils.translation import gettext as _

DELIMITERS = (",", ";", "\t")
SNIFF_LINES = 30
# Names people pick in the encoding menu, mapped to the codec that reads them completely.
ENCODING_ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "utf-8": "utf-8", "utf8": "utf-8"}
ENCODING_CHOICES = (
    ("", "auto"),
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 (BOM)"),
    ("gb18030", "GBK / GB18030"),
    ("big5", "Big5"),
    ("utf-16", "UTF-16"),
    ("shift_jis", "Shift-JIS"),
    ("cp1252", "Windows-1252"),
)
SPREADSHEET_EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods")
VCARD_EXTENSIONS = (".vcf", ".vcard")


class UnreadableFile(ValueError):
    """The file is not a table we can read; the message is for the user."""


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (row number in the file, cell texts), empty rows left out
    encoding: str = ""
    delimiter: str = ""


def file_format(filename: str) -> str:
    name = filename.lower()
    if name.endswith(SPREADSHEET_EXTENSIONS):
        return "xlsx"
    if name.endswith(VCARD_EXTENSIONS):
        return "vcard"
    return "csv"


def canonical_encoding(name: str) -> str:
    name = (name or "").strip().lower()
    if not name:
        return ""
    name = ENCODING_ALIASES.get(name, name)
    try:
        b"a".decode(name, "ignore")  # also refuses codecs that are not text encodings ("zlib", "hex")
        return codecs.lookup(name).name if name not in ("utf-8-sig",) else name
    except LookupError:
        raise UnreadableFile(_("Unknown encoding: %(name)s") % {"name": name[:40]}) from None


def _looks_like_utf16(data: bytes) -> str | None:
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) / 2
    if odd_nuls > half * 0.3 and even_nuls < half * 0.05:
        return "utf-16-le"
    if even_nuls > half * 0.3 and odd_nuls < half * 0.05:
        return "utf-16-be"
    return None


def detect_encoding(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if guess := _looks_like_utf16(data):
        return guess
    for candidate in ("utf-8", "gb18030"):
        try:
            data.decode(candidate)
        except UnicodeDecodeError:
            continue
        return candidate
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise UnreadableFile(_("The file's text encoding could not be recognised. Choose one."))
    return canonical_encoding(best.encoding)


def decode(data: bytes, encoding: str = "") -> tuple[str, str]:
    """(text, encoding used). A chosen encoding replaces what it cannot read instead of failing."""
    if encoding:
        encoding = canonical_encoding(encoding)
        text = data.decode(encoding, errors="replace")
    else:
        encoding = detect_encoding(data)
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:  # a UTF-16 mark or pattern, but an odd length or a broken pair
            raise UnreadableFile(
                _("The file is not valid %(encoding)s text: it may be cut short or damaged. Choose its encoding.")
                % {"encoding": encoding.upper()}
            ) from None
    return text.lstrip("\ufeff"), encoding


def sniff_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:SNIFF_LINES] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        pass
    # The delimiter that splits the most lines into the same, largest number of fields.
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = [line.count(delimiter) for line in lines]
        if not counts[0]:
            continue
        score = (sum(1 for c in counts if c == counts[0]), counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _clean_headers(headers: list) -> list[str]:
    result = []
    for index, header in enumerate(headers, start=1):
        text = str(header if header is not None else "").strip().lstrip("\ufeff")
        result.append(text or _("Column %(n)d") % {"n": index})
    return result


def _table_from_matrix(matrix: list[list[str]], **extra) -> Table:
    numbered = [(n, row) for n, row in enumerate(matrix, start=1) if any(cell.strip() for cell in row)]
    if not numbered:
        raise UnreadableFile(_("The file has no rows."))
    header_number, header_row = numbered[0]
    width = len(header_row)
    rows = [(n, (row + [""] * width)[:width]) for n, row in numbered[1:]]
    return Table(headers=_clean_headers(header_row), rows=rows, **extra)


def read_csv(data: bytes, *, encoding: str = "", delimiter: str = "") -> Table:
    text, used = decode(data, encoding)
    if "\x00" in text:
        raise UnreadableFile(_("This does not look like a text file. Choose its encoding, or upload CSV or XLSX."))
    delimiter = delimiter or sniff_delimiter(text)
    try:
        matrix = [
            [cell.strip() for cell in row] for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as error:
        raise UnreadableFile(_("The file is not valid CSV: %(error)s") % {"error": error}) from None
    return _table_from_matrix(matrix, encoding=used, delimiter=delimiter)


def _cell_text(value, integral: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if integral and value.is_integer() else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


# What a sheet may reach before it is refused unread: calamine allocates the whole rectangle up to
# the last cell, so a 5 KB workbook with one cell at XFD1048576 would ask for hundreds of GB.
MAX_SHEET_ROWS = 100_001  # the import's row limit plus the header
MAX_SHEET_COLUMNS = 500
MAX_SHEET_XML_BYTES = 512 * 1024 * 1024  # uncompressed; a zip bomb is refused before inflating
_CELL_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})$")


def _cell_position(ref: str) -> tuple[int, int] | None:
    match = _CELL_REF.match(ref or "")
    if not match:
        return None
    letters, row = match.groups()
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter) - 64
    return int(row), column


def check_sheet_extent(data: bytes) -> None:
    """Refuse a workbook whose sheets reach beyond MAX_SHEET_ROWS rows or MAX_SHEET_COLUMNS
    columns (by their declared dimension or by any cell), or inflate beyond MAX_SHEET_XML_BYTES,
    reading the sheet XML as a stream: nothing the size of the declared area is allocated."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        sheets = [info for info in archive.infolist() if info.filename.startswith("xl/worksheets/")]
    except (zipfile.BadZipFile, OSError, ValueError):
        raise UnreadableFile(_("The spreadsheet could not be read: it is not a valid XLSX file.")) from None
    for info in sheets:
        if info.file_size > MAX_SHEET_XML_BYTES:
            raise UnreadableFile(_("The spreadsheet is too large to read. Save it as CSV, or split it."))
        try:
            with archive.open(info) as stream:
                for event, element in iterparse(stream, events=("start", "end")):
                    tag = element.tag.rsplit("}", 1)[-1]
                    if event == "end":
                        if tag == "row":
                            element.clear()
                        continue
                    if tag == "c":
                        refs = [element.get("r", "")]
                    elif tag == "dimension":
                        refs = element.get("ref", "").split(":")
                    elif tag == "row":
                        refs = [f"A{element.get('r', '')}"]
                    else:
                        continue
                    for ref in refs:
                        position = _cell_position(ref)
                        if position and (position[0] > MAX_SHEET_ROWS or position[1] > MAX_SHEET_COLUMNS):
                            raise UnreadableFile(
                                _(
                                    "The sheet reaches cell %(cell)s, beyond %(rows)d rows or %(columns)d columns. "
                                    "Copy the data into a new sheet or save it as CSV."
                                )
                                % {"cell": ref, "rows": MAX_SHEET_ROWS - 1, "columns": MAX_SHEET_COLUMNS}
                            )
        except UnreadableFile:
            raise
        except (ParseError, DefusedXmlException, zipfile.BadZipFile, EOFError, OSError, ValueError):
            raise UnreadableFile(_("The spreadsheet could not be read: it is damaged or cut short.")) from None


def read_spreadsheet(data: bytes) -> Table:
    """The first sheet. Spreadsheets store 13800138000 as a float: a column whose numbers are all
    whole reads them back as integers."""
    from python_calamine import CalamineWorkbook

    check_sheet_extent(data)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        raw = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as error:  # calamine raises its own error types for every kind of damage
        raise UnreadableFile(_("The spreadsheet could not be read: %(error)s") % {"error": error}) from None
    width = max((len(row) for row in raw), default=0)
    integral = [True] * width
    for row in raw:
        for col, value in enumerate(row):
            if isinstance(value, float) and not value.is_integer():
                integral[col] = False
    matrix = [[_cell_text(value, integral[col]) for col, value in enumerate(row)] for row in raw]
    return _table_from_matrix(matrix)
