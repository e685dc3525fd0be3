"""Files that are not what they claim to be: an odd-length UTF-16 file, a vCard whose CHARSET is no
text encoding we know, binary garbage named .csv, a truncated workbook. Each is a clear reading
error on the import's page once the worker has read it, and nothing of it is imported."""

import codecs
import time
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from customers.importing.reading import UnreadableFile
from customers.importing.source import read_table
from customers.models import Company, Contact, ImportBatch
from customers.tests.import_helpers import BAD_FILES, upload, utf16_text


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_a_clear_reading_error(case):
    name, data, told = BAD_FILES[case]
    fmt = "xlsx" if name.endswith(".xlsx") else "vcard" if name.endswith(".vcf") else "csv"
    with pytest.raises(UnreadableFile, match=told):
        _read_all(data, file_format=fmt)


def _read_all(data, **options):
    table = read_table(data, **options)
    return table.headers, list(table.rows)


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD_FILES)
def test_uploading_a_bad_file_tells_why_and_imports_nothing(client, cast, case, django_capture_on_commit_callbacks):
    name, data, told = BAD_FILES[case]
    target = "contacts" if name.endswith(".vcf") else "companies"
    client.force_login(cast.owner)
    form = {"target": target, "team": cast.team.pk, "file": SimpleUploadedFile(name, data)}
    with django_capture_on_commit_callbacks(execute=True):  # the worker reads the file (inline here)
        response = client.post(reverse("customers:import_upload"), form)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == batch.get_absolute_url()
    assert (batch.stage, batch.status) == (ImportBatch.Stage.READING, "failed") and told in batch.message
    page = client.get(batch.get_absolute_url())
    assert page.status_code == 200 and told in page.content.decode()
    # Another encoding may read a text file; a damaged workbook must be saved again.
    assert ("Read again" in page.content.decode()) == (not name.endswith(".xlsx"))
    assert not batch.headers and not Company.objects.exists() and not Contact.objects.exists()
    # Mapping or starting it is refused with a reason, not a 500.
    for action in ("import_check", "import_start"):
        refused = client.post(reverse(f"customers:{action}", args=[batch.pk]), {})
        assert refused.status_code == 400


@pytest.mark.django_db
def test_the_same_rows_in_good_utf16_are_imported(client, cast, django_capture_on_commit_callbacks):
    client.force_login(cast.owner)
    file = SimpleUploadedFile("客户.csv", utf16_text())
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:import_upload"), {"target": "companies", "file": file})
    assert response.status_code == 302 and ImportBatch.objects.get().total == 1


# Bytes that start like each kind of file people upload, then anything.
PREFIXES = [
    b"",
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0",
    b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=",
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN;ENCODING=QUOTED-PRINTABLE:=",
]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    prefix=st.sampled_from(PREFIXES),
    body=st.binary(max_size=400),
    file_format=st.sampled_from(["csv", "xlsx", "vcard"]),
    encoding=st.sampled_from(["", "utf-16", "gb18030", "zlib", "x-unknown"]),
)
def test_any_bytes_read_as_a_table_or_a_clear_error(prefix, body, file_format, encoding):
    try:
        headers, rows = _read_all(prefix + body, file_format=file_format, encoding=encoding)
    except UnreadableFile as error:
        assert str(error)
    else:
        assert headers and all(len(values) == len(headers) for _row, values in rows)


def _workbook_reaching(row: int, column: int, *, dimension: str | None = None) -> bytes:
    import io
    import re
    import zipfile

    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write(0, 0, "Name")
    sheet.write(1, 0, "远山贸易")
    if (row, column) != (1, 0):
        sheet.write(row, column, "far away")
    workbook.close()
    if dimension is None:
        return buffer.getvalue()
    # Rewrite the sheet's declared dimension only, as a crafted file would.
    source, target = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>'.encode(), content)
            out.writestr(info, content)
    return target.getvalue()


@pytest.mark.parametrize(("row", "column", "dimension"), [(1_048_575, 16_383, None), (1, 900, None)])
def test_a_workbook_reaching_beyond_the_columns_is_refused_at_once(cast, row, column, dimension):
    """A 5 KB workbook with one cell at XFD1048576 made the spreadsheet reader ask for hundreds of
    gigabytes and abort the process; read as a stream it is a clear error at that cell."""
    data = _workbook_reaching(row, column, dimension=dimension)
    assert len(data) < 20_000
    started = time.monotonic()
    tracemalloc.start()
    with translation.override("en"):
        batch = upload(cast.owner, data, filename="客户.xlsx")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.monotonic() - started < 5 and peak < 20 * 1024 * 1024
    assert batch.status == "failed" and "Copy the data into a new sheet or save it as CSV" in batch.message
    assert not Company.objects.exists()


@pytest.mark.parametrize(("row", "column", "dimension"), [(1, 0, "A1:XFD1048576"), (1_048_575, 0, None)])
def test_a_workbook_declaring_a_huge_area_is_read_as_its_rows(cast, row, column, dimension):
    """The declared dimension and the last cell's row are never allocated: the rows that exist
    are read, in bounded memory, and keep their row numbers."""
    data = _workbook_reaching(row, column, dimension=dimension)
    tracemalloc.start()
    batch = upload(cast.owner, data, filename="客户.xlsx")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    assert batch.stage == ImportBatch.Stage.MAPPING and batch.total == (2 if row > 1 else 1)
    headers, rows = _read_all(data, file_format="xlsx")
    assert headers == ["Name"] and rows[0] == (2, ["远山贸易"])
    if row > 1:
        assert rows[1] == (row + 1, ["far away"])


def test_the_row_limit_stops_reading_at_the_first_row_beyond_it(monkeypatch):
    """A file over the row limit is refused when the reader reaches the row after the limit: the
    rows after it are never parsed (a generator that would fail there is never reached)."""
    from customers.importing.reading import limit_rows

    def rows():
        yield from ((n, ["x"]) for n in range(1, 4))
        raise AssertionError("read beyond the limit")

    with pytest.raises(UnreadableFile, match="more than 2 rows"), translation.override("en"):
        list(limit_rows(rows(), 2))
