"""After an import (with an update that replaces a phone, and a row that fails), exports with the
sensitive fields revealed and a revert, neither a dump of the database nor any file under
MEDIA_ROOT holds a phone number or tax ID in clear, in any common formatting.

Transactional, so that pg_dump, another connection, sees what the test committed.
"""

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from crm.backup import _postgres, _run, _tool
from customers import exporting
from customers.models import Company, ImportBatch, ImportedRecord
from customers.tests.factories import CompanyFactory
from customers.tests.import_helpers import csv_bytes, run_import

pytestmark = pytest.mark.django_db(transaction=True)

# (as written in the file, the digits or characters that identify it whatever the formatting)
OLD_PHONE = ("138-0013-8000", "13800138000")  # on the record before the import: the undo value
NEW_PHONE = ("+86 139 1234 5678", "13912345678")  # replaces it
LANDLINE = ("(0755) 2878 0808", "75528780808")  # trunk 0 and country code both optional
FAILED_PHONE = ("0086 137 2468 1357", "13724681357")  # on the row that fails validation
OLD_TAX_ID = "91440300192203821X"
NEW_TAX_ID = "91310000MA1K4CTU2B"
FAILED_TAX_ID = "110108551234567"
PHONES = [OLD_PHONE[1], NEW_PHONE[1], LANDLINE[1], FAILED_PHONE[1]]
TAX_IDS = [OLD_TAX_ID, NEW_TAX_ID, FAILED_TAX_ID]

SEPARATORS = r"[\s\-.()+/\x00]{0,3}"


def _pattern(secret: str) -> re.Pattern:
    """The secret with any few separators between its characters, any case (a tax ID's X)."""
    return re.compile(SEPARATORS.join(re.escape(ch) for ch in secret), re.IGNORECASE)


PATTERNS = {secret: _pattern(secret) for secret in [*PHONES, *TAX_IDS]}


def leaks(text: str) -> list[str]:
    return [secret for secret, pattern in PATTERNS.items() if pattern.search(text)]


def readable_forms(data: bytes) -> list[str]:
    """The text a search would see in a file: single-byte, UTF-16 and inside a zip (XLSX)."""
    forms = [data.decode("latin-1"), data.decode("utf-8", "ignore")]
    forms += [data.decode(codec, "ignore") for codec in ("utf-16-le", "utf-16-be")]
    forms += [data[1:].decode(codec, "ignore") for codec in ("utf-16-le", "utf-16-be")]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            forms += [archive.read(name).decode("utf-8", "ignore") for name in archive.namelist()]
    except zipfile.BadZipFile:
        pass
    return forms


def test_the_leak_detector_finds_every_common_formatting():
    samples = [
        "13800138000",
        "+86 138 0013 8000",
        "138-0013-8000",
        "(0755) 2878-0808",
        "+86 755 2878 0808",
        "075528780808",
        "0086-137-2468-1357",
        "9144 0300 1922 0382 1x",
        "91310000ma1k4ctu2b",
    ]
    for sample in samples:
        assert leaks(sample), sample
    assert any(leaks(form) for form in readable_forms("13912345678".encode("utf-16")))
    assert not leaks("enc1:ab12cd34:Zm9vYmFy 2026-12-03 138 0013")


def pg_dump() -> str:
    """The whole test database as SQL text, through the connection settings `manage.py backup` uses."""
    database = _postgres()  # the test database: Django has renamed the connection's NAME
    assert database.name == connection.settings_dict["NAME"]
    return _run([_tool("pg_dump"), *database.arguments, "--format=plain", "--no-owner", database.name], database)


def test_no_plaintext_phone_or_tax_id_in_the_database_or_media(client, cast, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(exporting, "INLINE_LIMIT", 0)  # every export writes a file
    importer = cast.manager  # may import, export and reveal
    existing = CompanyFactory(name="星河科技", owner=importer, team=cast.team, phone=OLD_PHONE[0], tax_id=OLD_TAX_ID)
    rows = [
        ["公司名称", "电话", "税号", "城市"],
        ["星河科技", NEW_PHONE[0], OLD_TAX_ID, "深圳"],  # matches by tax ID: the phone is replaced
        ["宇宙贸易", LANDLINE[0], NEW_TAX_ID, "深圳"],  # created
        ["", FAILED_PHONE[0], FAILED_TAX_ID, "深圳"],  # no name: a row error keeps the whole row
    ]
    data = csv_bytes(rows)
    run_import(importer, rows, team=cast.team, duplicates="update", dry_run=True, data=data)
    batch = run_import(importer, rows, team=cast.team, duplicates="update", data=data)
    assert (batch.created_count, batch.updated_count, batch.error_count) == (1, 1, 1)
    assert Company.objects.get(pk=existing.pk).phone == NEW_PHONE[0]
    assert ImportedRecord.objects.filter(batch=batch, action="updated").exists()

    client.force_login(importer)
    # The error report gives the importer their row back, decrypted on the way out.
    report = b"".join(client.get(reverse("customers:import_errors", args=[batch.pk])).streaming_content)
    assert FAILED_PHONE[0] in report.decode("utf-8-sig")
    # Exports with the numbers revealed, as files: CSV, XLSX, and one filtered by a phone number.
    for fmt, query in (("csv", ""), ("xlsx", ""), ("csv", f"q={NEW_PHONE[1]}")):
        response = client.post(f"{reverse('customers:export_download', args=['companies'])}?{query}", {"format": fmt})
        assert response.status_code == 302, response.status_code
        download = client.get(response.url + "download/")
        body = b"".join(download.streaming_content)
        assert any(leaks(form) for form in readable_forms(body)), "the export itself holds the numbers"
    # The revert, through its page (its flash messages included).
    assert client.post(reverse("customers:import_revert", args=[batch.pk])).status_code == 302
    client.get(batch.get_absolute_url())
    assert Company.objects.get(pk=existing.pk).phone == OLD_PHONE[0]
    assert not Company.objects.filter(name="宇宙贸易").exists()
    assert ImportBatch.objects.get(pk=batch.pk).stage == ImportBatch.Stage.REVERTED

    dump = pg_dump()
    assert "星河科技" in dump and "enc1:" in dump  # the dump holds the data, sealed where it must be
    assert leaks(dump) == [], "plaintext in the database dump"

    files = [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]
    assert len(files) == 5  # two uploads, three exports
    for path in files:
        found = sorted({secret for form in readable_forms(path.read_bytes()) for secret in leaks(form)})
        assert found == [], f"plaintext in {path.relative_to(settings.MEDIA_ROOT)}: {found}"
