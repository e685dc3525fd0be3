"""Import uploads and export files: sealed on disk, never served from MEDIA_URL, downloaded by
their owner only and only until they expire; the copies an import keeps (undo values, error
report, headers) hold no plaintext phone or tax ID, yet give the importer their rows back."""

import csv
import importlib
import io
import os
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import Resolver404, clear_url_caches, resolve, reverse
from django.utils import timezone

from crm.crypto import is_ciphertext
from crm.models import Job
from crm.storage import MAGIC, purge_expired_files
from customers import exporting
from customers.importing import running, service
from customers.importing.sealed import row_errors
from customers.models import Company, ImportBatch, ImportedRecord
from customers.tests.factories import CompanyFactory
from customers.tests.import_helpers import csv_bytes, run_import, upload

pytestmark = pytest.mark.django_db

PHONE, OLD_PHONE, TAX_ID = "13912345678", "13800138000", "91440300192203821X"
ROWS = [["公司名称", "电话", "税号"], ["星河科技", PHONE, TAX_ID], ["", "0755-28780808", ""]]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def raw(field) -> bytes:
    with open(field.path, "rb") as handle:
        return handle.read()


def background_export(client, monkeypatch, django_capture_on_commit_callbacks, query="") -> Job:
    monkeypatch.setattr(exporting, "INLINE_LIMIT", 0)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{reverse('customers:export_download', args=['companies'])}?{query}", {"format": "csv"})
    job = Job.objects.filter(kind=exporting.JOB_KIND).latest("pk")
    assert response.status_code == 302 and response.url == reverse("customers:export_job", args=[job.pk])
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.message
    return job


def test_uploads_and_export_files_are_sealed_on_disk(client, cast, monkeypatch, django_capture_on_commit_callbacks):
    batch = run_import(cast.manager, ROWS, team=cast.team)
    upload = raw(batch.source)
    assert upload.startswith(MAGIC) and PHONE.encode() not in upload and b"28780808" not in upload

    client.force_login(cast.manager)  # a manager may reveal: the file holds the numbers in clear
    job = background_export(client, monkeypatch, django_capture_on_commit_callbacks)
    stored = raw(job.file)
    assert stored.startswith(MAGIC) and PHONE.encode() not in stored and TAX_ID.encode() not in stored
    body = b"".join(client.get(reverse("customers:export_file", args=[job.pk])).streaming_content)
    assert PHONE in body.decode("utf-8-sig") and TAX_ID in body.decode("utf-8-sig")


def test_media_urls_are_never_served(client, cast, settings):
    batch = run_import(cast.owner, ROWS, team=cast.team)
    client.force_login(cast.owner)
    assert client.get(f"/{settings.MEDIA_URL}{batch.source.name}").status_code == 404
    # Not in DEBUG either: no route of the URL configuration reaches MEDIA_ROOT.
    settings.DEBUG = True
    import crm.urls

    try:
        importlib.reload(crm.urls)
        clear_url_caches()
        with pytest.raises(Resolver404):
            resolve(f"/{settings.MEDIA_URL}{batch.source.name}", urlconf=crm.urls)
    finally:
        settings.DEBUG = False
        importlib.reload(crm.urls)
        clear_url_caches()


@pytest.mark.parametrize("who", ["teammate", "manager", "auditor", "admin", "outsider"])
def test_an_export_file_is_its_owners_alone(client, cast, who, monkeypatch, django_capture_on_commit_callbacks):
    CompanyFactory(name="星河科技", owner=cast.owner, team=cast.team, phone=PHONE)
    cast.owner.user_permissions.add(Permission.objects.get(codename="export_records", content_type__model="company"))
    client.force_login(cast.owner)
    job = background_export(client, monkeypatch, django_capture_on_commit_callbacks)
    assert client.get(reverse("customers:export_file", args=[job.pk])).status_code == 200

    client.force_login(cast.as_dict()[who])
    assert client.get(reverse("customers:export_file", args=[job.pk])).status_code == 404
    assert client.get(reverse("customers:export_job", args=[job.pk])).status_code == 404


def test_an_expired_export_says_so_and_never_fails(client, cast, monkeypatch, django_capture_on_commit_callbacks):
    CompanyFactory(name="星河科技", owner=cast.owner, team=cast.team, phone=PHONE)
    client.force_login(cast.manager)
    job = background_export(client, monkeypatch, django_capture_on_commit_callbacks)
    url = reverse("customers:export_file", args=[job.pk])

    # Past the retention period, before the hourly task ran: no longer given out.
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=8))
    response = client.get(url)
    assert response.status_code == 410
    assert "This file has expired: exports are kept for 7 days" in response.content.decode()
    page = client.get(reverse("customers:export_job", args=[job.pk])).content.decode()
    assert "has expired" in page and url not in page

    # After the task deleted it.
    purge_expired_files()
    assert client.get(url).status_code == 410


def test_an_export_file_altered_or_lost_on_disk_is_expired_not_an_error(
    client, cast, monkeypatch, django_capture_on_commit_callbacks
):
    CompanyFactory(name="星河科技", owner=cast.owner, team=cast.team, phone=PHONE)
    client.force_login(cast.manager)
    job = background_export(client, monkeypatch, django_capture_on_commit_callbacks)
    path = job.file.path
    sealed = bytearray(raw(job.file))
    sealed[-1] ^= 1  # altered on disk: refused, and the user is told to export again
    with open(path, "wb") as handle:
        handle.write(sealed)
    assert client.get(reverse("customers:export_file", args=[job.pk])).status_code == 410
    job.file.storage.delete(job.file.name)
    assert client.get(reverse("customers:export_file", args=[job.pk])).status_code == 410


def test_an_expired_upload_gives_a_clear_message(client, cast):
    batch = upload(cast.owner, csv_bytes(ROWS))
    assert batch.params["preview"]
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=timezone.now() - timedelta(days=8))
    purge_expired_files()
    client.force_login(cast.owner)
    page = client.get(batch.get_absolute_url())
    assert page.status_code == 200 and "uploads are kept for 7 days" in page.content.decode()

    batch.refresh_from_db()
    assert "preview" not in batch.params  # the first rows went with the file
    service.import_start(batch=batch, actor=cast.owner, dry_run=True, queue=False)
    running.import_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == Job.Status.FAILED and "uploads are kept for 7 days" in batch.message


def test_the_error_report_is_sealed_and_gives_the_importer_their_rows(client, cast):
    batch = run_import(cast.owner, ROWS, team=cast.team)
    assert batch.error_count == 1
    [stored] = batch.row_errors
    assert stored["row"] == 3 and is_ciphertext(stored["message"]) and is_ciphertext(stored["values"])
    assert "28780808" not in str(batch.row_errors)

    client.force_login(cast.owner)
    response = client.get(reverse("customers:import_errors", args=[batch.pk]))
    report = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert report[1][0] == "3" and report[1][2:] == ["", "0755-28780808", ""]
    assert "name" in report[1][1].lower()
    assert "name" in client.get(batch.get_absolute_url()).content.decode().lower()

    client.force_login(cast.manager)
    assert client.get(reverse("customers:import_errors", args=[batch.pk])).status_code == 404


def test_undo_values_are_sealed_and_a_revert_restores_them(cast):
    company = CompanyFactory(name="星河科技", owner=cast.owner, team=cast.team, phone=OLD_PHONE, tax_id=TAX_ID)
    batch = run_import(cast.owner, ROWS[:2], team=cast.team, duplicates="update")
    assert batch.updated_count == 1
    record = ImportedRecord.objects.get(batch=batch)
    assert is_ciphertext(record.previous["phone"]) and OLD_PHONE not in str(record.previous)
    assert Company.objects.get(pk=company.pk).phone == PHONE

    outcome = service.import_revert(batch=batch, actor=cast.owner)
    assert outcome.restored == 1
    assert Company.objects.get(pk=company.pk).phone == OLD_PHONE


def test_a_header_row_that_is_really_a_record_is_masked(cast):
    rows = [["星河科技", "0755-28780808", TAX_ID], ["宇宙公司", PHONE, ""]]
    batch = upload(cast.owner, csv_bytes(rows))
    assert batch.headers == ["星河科技", "******", "******"]


def test_an_expired_upload_takes_the_rows_of_its_error_report_along(cast):
    batch = run_import(cast.owner, ROWS, team=cast.team)
    upload = batch.source.path
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=timezone.now() - timedelta(days=8))
    assert purge_expired_files() == 1
    batch.refresh_from_db()
    assert not batch.source and not os.path.exists(upload)
    [error] = row_errors(batch)  # the row and its problem stay, the file's cells go
    assert error["row"] == 3 and "name" in error["message"].lower() and error["values"] == []
    assert "values" not in batch.row_errors[0]


def test_a_reading_error_that_quotes_the_file_is_stored_without_its_numbers(cast, monkeypatch):
    from customers.importing.reading import UnreadableFile

    def unreadable(batch, **options):
        raise UnreadableFile(f"The vCard file could not be read: At line 3: Failed to parse line: TEL:{PHONE}")

    batch = upload(cast.owner, csv_bytes(ROWS))
    service.import_start(batch=batch, actor=cast.owner, dry_run=True, queue=False)
    monkeypatch.setattr(running, "open_batch_table", unreadable)
    running.import_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == Job.Status.FAILED
    assert batch.message.endswith("TEL:******") and PHONE not in batch.message


def test_the_import_command_prints_the_problems_in_clear(cast, tmp_path):
    from django.core.management import call_command

    path = tmp_path / "x.csv"
    path.write_bytes(csv_bytes(ROWS))
    out = io.StringIO()
    call_command("import_customers", str(path), "--kind", "companies", "--user", cast.owner.username, stdout=out)
    assert "row 3: " in out.getvalue() and "enc1:" not in out.getvalue()
