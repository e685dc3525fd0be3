"""From an uploaded file to a header row and numbered data rows, read as a stream.

Nothing here holds a whole file in memory: the CSV reader decodes as it goes, the spreadsheet
reader (`customers.importing.spreadsheet`) parses the sheet's XML row by row, and the rows come
out of a generator, so a row limit stops reading as soon as it is passed (`limit_rows`).

Encodings: a fixed pre-pass, because a statistical detector alone reads a short GBK file as
Korean: byte-order mark (UTF-8, UTF-16 LE/BE) -> UTF-16 without a mark (NUL bytes) -> strict
UTF-8 over the whole file -> strict GB18030 (a superset of GBK and GB2312) over the whole file
-> charset-normalizer on the first 64 KiB. The strict passes decode chunk by chunk.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

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
SPREADSHEET_EXTENSIONS = (".xlsx", ".xlsm")
# Older and other spreadsheet formats are refused by name: saved as XLSX or CSV they import.
UNSUPPORTED_EXTENSIONS = (".xls", ".et", ".ods", ".numbers")
SAMPLE_BYTES = 64 * 1024
DECODE_CHUNK_BYTES = 256 * 1024
VCARD_EXTENSIONS = (".vcf", ".vcard")


class UnreadableFile(ValueError):
    """The file is not a table we can read; the message is for the user."""


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (row number in the file, cell texts), empty rows left out
    encoding: str = ""
    delimiter: str = ""


def file_format(filename: str) -> str:
    name = filename.lower()
    if name.endswith(SPREADSHEET_EXTENSIONS):
        return "xlsx"
    if name.endswith(VCARD_EXTENSIONS):
        return "vcard"
    if name.endswith(UNSUPPORTED_EXTENSIONS):
        return "unsupported"
    return "csv"


def as_stream(source: bytes | BinaryIO) -> BinaryIO:
    """A seekable binary stream over `source` (bytes, or an open file returned as it is)."""
    return io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source


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


def _decodes_whole(handle: BinaryIO, encoding: str) -> bool:
    """Whether the whole stream is valid `encoding`, decoded a chunk at a time."""
    handle.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := handle.read(DECODE_CHUNK_BYTES):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(source: bytes | BinaryIO) -> str:
    handle = as_stream(source)
    handle.seek(0)
    head = handle.read(SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if guess := _looks_like_utf16(head):
        return guess
    for candidate in ("utf-8", "gb18030"):
        if _decodes_whole(handle, candidate):
            return candidate
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise UnreadableFile(_("The file's text encoding could not be recognised. Choose one."))
    return canonical_encoding(best.encoding)


def not_valid_text(encoding: str) -> UnreadableFile:
    return UnreadableFile(
        _("The file is not valid %(encoding)s text: it may be cut short or damaged. Choose its encoding.")
        % {"encoding": encoding.upper()}
    )


def text_stream(source: bytes | BinaryIO, encoding: str = "") -> tuple[io.TextIOWrapper, str]:
    """(the file as text, the encoding used), decoded as it is read. A chosen encoding replaces
    what it cannot read; a detected one is strict, and a decoding error while reading means
    `not_valid_text`. Closing the text stream closes `source`."""
    handle = as_stream(source)
    if encoding:
        encoding, errors = canonical_encoding(encoding), "replace"
        if encoding in ("utf-16", "utf-32"):  # these codecs insist on a byte-order mark
            handle.seek(0)
            head = handle.read(4)
            if not head.startswith(
                (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)
            ):
                encoding = f"{encoding}-le"
    else:
        encoding, errors = detect_encoding(handle), "strict"
    handle.seek(0)
    raw = getattr(handle, "file", handle)  # a Django File: its underlying stream
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline=""), encoding


def sample_text(source: bytes | BinaryIO, encoding: str) -> str:
    """The first SAMPLE_BYTES of the file as text, for sniffing; the stream is rewound."""
    handle = as_stream(source)
    handle.seek(0)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(handle.read(SAMPLE_BYTES))
    handle.seek(0)
    return text.lstrip("\ufeff")


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


def table_from_rows(numbered: Iterable[tuple[int, list[str]]], **extra) -> Table:
    """The first non-empty row as the header, the non-empty rows after it (cut or padded to the
    header's width) as a generator: only the rows up to the header are read here."""
    rows = (item for item in numbered if any(cell.strip() for cell in item[1]))
    try:
        _number, header_row = next(rows)
    except StopIteration:
        raise UnreadableFile(_("The file has no rows.")) from None
    width = len(header_row)
    body = ((n, (row + [""] * width)[:width]) for n, row in rows)
    return Table(headers=_clean_headers(header_row), rows=body, **extra)


def limit_rows(rows: Iterable, max_rows: int) -> Iterator:
    """`rows`, refused as soon as a row beyond `max_rows` is read (the rest is never parsed)."""
    for count, row in enumerate(rows, start=1):
        if count > max_rows:
            raise UnreadableFile(
                _("The file has more than %(max)d rows. Split it into smaller files.") % {"max": max_rows}
            )
        yield row


def read_csv(source: bytes | BinaryIO, *, encoding: str = "", delimiter: str = "") -> Table:
    handle = as_stream(source)
    text, used = text_stream(handle, encoding)
    delimiter = delimiter or sniff_delimiter(sample_text(handle, used))

    def records():
        try:
            for number, row in enumerate(csv.reader(text, delimiter=delimiter), start=1):
                if any("\x00" in cell for cell in row):
                    raise UnreadableFile(
                        _("This does not look like a text file. Choose its encoding, or upload CSV or XLSX.")
                    )
                if number == 1 and row:
                    row[0] = row[0].lstrip("\ufeff")
                yield number, [cell.strip() for cell in row]
        except UnicodeError:  # a UTF-16 mark or pattern, but an odd length or a broken pair
            raise not_valid_text(used) from None
        except csv.Error as error:
            raise UnreadableFile(_("The file is not valid CSV: %(error)s") % {"error": error}) from None

    return table_from_rows(records(), encoding=used, delimiter=delimiter)
