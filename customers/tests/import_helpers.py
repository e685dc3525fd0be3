"""Builders for import tests: files in the encodings and layouts people really upload, and files
that only claim to be one."""

import codecs
import csv
import io

from customers.importing import running, service
from customers.models import ImportBatch


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    workbook.close()
    return buffer.getvalue()


def upload(actor, data: bytes, *, target="companies", filename="x.csv", team=None, **options) -> ImportBatch:
    """Store a file as a new import and read it inline, as the worker does after the upload."""
    batch = service.import_create(
        actor=actor, target=target, filename=filename, data=data, team=team, queue=False, **options
    )
    running.import_run(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


def run_import(
    actor,
    rows,
    *,
    target="companies",
    dry_run=False,
    duplicates="skip",
    team=None,
    filename="x.csv",
    encoding="utf-8",
    data=None,
    **options,
) -> ImportBatch:
    """Upload, keep the guessed mapping, and run the import inline (the task's own function)."""
    batch = upload(actor, data or csv_bytes(rows, encoding=encoding), target=target, filename=filename, team=team)
    service.import_configure(
        batch=batch,
        actor=actor,
        mapping=batch.mapping,
        duplicates=duplicates,
        company_policy=options.get("company_policy", ImportBatch.CompanyPolicy.MATCH_OR_CREATE),
        team=team,
    )
    _queue(batch, actor, dry_run)
    running.import_run(batch_id=batch.pk)
    batch.refresh_from_db()
    return batch


def _queue(batch, actor, dry_run):
    # import_start queues the task on commit; the tests call the task's function directly instead.
    batch.refresh_from_db()
    service.import_start(batch=batch, actor=actor, dry_run=dry_run)


# --- Files that are not what they claim to be -----------------------------------------------------

BAD_ROWS = [["公司名称", "城市"], ["星河科技有限公司", "深圳"], ["华为", "深圳"]]
VCARD_21 = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET={charset};ENCODING=QUOTED-PRINTABLE:=E5=BC=A0;=E4=BC=9F\r\nEND:VCARD\r\n"
)


def utf16_text() -> bytes:
    return codecs.BOM_UTF16_LE + "公司名称,城市\r\n星河科技有限公司,深圳\r\n".encode("utf-16-le")


# (file name, content, what the user is told)
BAD_FILES = {
    "odd-length UTF-16 with a byte-order mark": ("客户.csv", utf16_text() + b"\x41", "not valid UTF-16 text"),
    "odd-length UTF-16 without a mark": (
        "clients.csv",
        "Name,City\r\nAcme,Shenzhen\r\n".encode("utf-16-le") + b"\x41",  # found by its NUL bytes
        "not valid UTF-16-LE text",
    ),
    "odd-length UTF-16 vCard": (
        "联系人.vcf",
        codecs.BOM_UTF16_LE + "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:张伟\r\nEND:VCARD\r\n".encode("utf-16-le") + b"A",
        "not valid UTF-16 text",
    ),
    "vCard with an unknown CHARSET": ("联系人.vcf", VCARD_21.format(charset="X-NO-SUCH").encode(), "Unknown encoding"),
    "vCard with a CHARSET of zlib": ("联系人.vcf", VCARD_21.format(charset="zlib").encode(), "Unknown encoding"),
    "binary garbage named .csv": ("客户.csv", bytes(range(256)) * 16, "could not be recognised"),
    "a truncated workbook": ("客户.xlsx", xlsx_bytes(BAD_ROWS)[:400], "could not be read"),
    "a workbook that is a CSV": ("客户.xlsx", csv_bytes(BAD_ROWS), "could not be read"),
}
