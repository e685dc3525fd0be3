"""Files that are not what they claim to be: an odd-length UTF-16 file, a vCard whose CHARSET is no
text encoding we know, binary garbage named .csv, a truncated workbook. Each is a clear import
error on the upload form, and nothing of it is stored or imported."""

import codecs

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from customers.importing.reading import UnreadableFile
from customers.importing.source import read_table
from customers.models import Company, Contact, ImportBatch
from customers.tests.import_helpers import BAD_FILES, utf16_text


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_a_clear_reading_error(case):
    name, data, told = BAD_FILES[case]
    fmt = "xlsx" if name.endswith(".xlsx") else "vcard" if name.endswith(".vcf") else "csv"
    with pytest.raises(UnreadableFile, match=told):
        read_table(data, file_format=fmt)


@pytest.mark.django_db
@pytest.mark.parametrize("case", BAD_FILES)
def test_uploading_a_bad_file_tells_why_and_stores_nothing(client, cast, case):
    name, data, told = BAD_FILES[case]
    target = "contacts" if name.endswith(".vcf") else "companies"
    client.force_login(cast.owner)
    form = {"target": target, "team": cast.team.pk, "file": SimpleUploadedFile(name, data)}
    response = client.post(reverse("customers:import_upload"), form)
    assert response.status_code == 400 and told in response.content.decode()
    assert not ImportBatch.objects.exists() and not Company.objects.exists() and not Contact.objects.exists()


@pytest.mark.django_db
def test_the_same_rows_in_good_utf16_are_imported(client, cast):
    client.force_login(cast.owner)
    file = SimpleUploadedFile("客户.csv", utf16_text())
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
        table = read_table(prefix + body, file_format=file_format, encoding=encoding)
    except UnreadableFile as error:
        assert str(error)
    else:
        assert table.headers and all(len(values) == len(table.headers) for _row, values in table.rows)


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


@pytest.mark.parametrize(
    ("row", "column", "dimension"),
    [(1_048_575, 16_383, None), (1, 0, "A1:XFD1048576"), (200_000, 0, None), (1, 900, None)],
)
def test_a_workbook_reaching_far_beyond_its_data_is_refused_unread(cast, row, column, dimension):
    """A 5 KB workbook with one cell at XFD1048576 made the spreadsheet reader ask for hundreds of
    gigabytes and abort the process; now it is a clear error, before anything is allocated."""
    import time

    from customers.importing import service

    data = _workbook_reaching(row, column, dimension=dimension)
    assert len(data) < 20_000
    started = time.monotonic()
    with pytest.raises(Exception) as refused, translation.override("en"):
        service.import_create(actor=cast.owner, target="companies", filename="客户.xlsx", data=data, team=None)
    assert time.monotonic() - started < 5
    assert "Copy the data into a new sheet or save it as CSV" in str(refused.value)
    assert not ImportBatch.objects.exists() and not Company.objects.exists()
