"""Import pages: who may open what, the upload-map-check-import flow, refused posts change nothing."""

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from customers.importing import running, service
from customers.models import Company, ImportBatch, ImportMapping
from customers.tests.import_helpers import csv_bytes, run_import

pytestmark = pytest.mark.django_db

ROWS = [["公司名称", "城市", "电话"], ["华为", "深圳", "0755-1"], ["", "北京", ""], ["小米", "北京", ""]]


def upload(client, data, name="客户.csv", target="companies", **extra):
    """Post the file; the worker's reading of it runs inline when the request commits."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            reverse("customers:import_upload"),
            {"target": target, "file": SimpleUploadedFile(name, data), **extra},
        )


def test_upload_shows_the_mapping_with_chinese_headers_and_samples(client, cast):
    client.force_login(cast.owner)
    response = upload(client, csv_bytes(ROWS, encoding="gbk"), team=cast.team.pk)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == batch.get_absolute_url()
    page = client.get(batch.get_absolute_url()).content.decode()
    assert "公司名称" in page and "华为" in page and "gb18030" in page
    assert batch.mapping == {"0": "name", "1": "city", "2": "phone"}


def test_a_dry_run_then_the_import_through_the_pages(client, cast, django_capture_on_commit_callbacks):
    client.force_login(cast.owner)
    upload(client, csv_bytes(ROWS, encoding="gbk"), team=cast.team.pk)
    batch = ImportBatch.objects.get()
    form = {
        "column_0": "name",
        "column_1": "city",
        "column_2": "phone",
        "duplicates": "skip",
        "team": cast.team.pk,
        "save_as": "国内表格",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:import_check", args=[batch.pk]), form)
    assert response.status_code == 302
    assert not Company.objects.exists()
    page = client.get(batch.get_absolute_url()).content.decode()
    assert "nothing was written" in page and "Download the error report" in page
    assert ImportMapping.objects.get().columns == {"公司名称": "name", "城市": "city", "电话": "phone"}

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("customers:import_start", args=[batch.pk]), form, REMOTE_ADDR="203.0.113.44")
    assert sorted(Company.objects.values_list("name", flat=True)) == ["华为", "小米"]
    # The import is audited once (not its dry run), with who, which file and from where.
    [entry] = LogEntry.objects.filter(additional_data__event="import")
    assert (entry.actor, entry.remote_addr, entry.object_id) == (cast.owner, "203.0.113.44", batch.pk)
    assert entry.changes["source_name"] == ["", "客户.csv"]
    report = b"".join(client.get(reverse("customers:import_errors", args=[batch.pk])).streaming_content)
    assert report.startswith(b"\xef\xbb\xbf") and "3" in report.decode("utf-8-sig").splitlines()[1]


def test_bad_files_and_mappings_answer_with_a_message_not_an_error(client, cast):
    client.force_login(cast.owner)
    assert upload(client, b"").status_code == 400
    assert upload(client, b"data", name="x.xls").status_code == 400  # "save it as XLSX or CSV"
    assert upload(client, b"PK\x03\x04 not really a spreadsheet", name="x.xlsx").status_code == 302
    failed = ImportBatch.objects.get()
    assert failed.status == "failed" and "not a valid XLSX file" in failed.message
    upload(client, csv_bytes(ROWS))
    batch = ImportBatch.objects.latest("pk")
    response = client.post(
        reverse("customers:import_check", args=[batch.pk]), {"column_1": "city", "duplicates": "skip"}
    )
    assert response.status_code == 400
    assert "company name" in response.content.decode()


@pytest.mark.parametrize(
    ("who", "expected"),
    [("owner", 200), ("teammate", 404), ("manager", 404), ("outsider", 404), ("auditor", 403), ("admin", 404)],
)
def test_an_import_is_its_owners_alone(client, cast, who, expected):
    batch = run_import(cast.owner, ROWS, team=cast.team)
    client.force_login(cast.as_dict()[who])
    for name in ("import_detail", "import_progress", "import_errors"):
        assert client.get(reverse(f"customers:{name}", args=[batch.pk])).status_code == expected
    response = client.post(reverse("customers:import_revert", args=[batch.pk]))
    if who != "owner":
        assert response.status_code == expected
        assert Company.objects.count() == 2  # the refused revert changed nothing


def test_auditors_may_not_upload(client, cast):
    client.force_login(cast.auditor)
    assert client.get(reverse("customers:import_list")).status_code == 403
    assert upload(client, csv_bytes(ROWS)).status_code == 403
    assert not ImportBatch.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("customers:import_list"))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_reread_with_another_encoding(client, cast):
    client.force_login(cast.owner)
    upload(client, csv_bytes(ROWS, encoding="gbk"))
    batch = ImportBatch.objects.get()
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(reverse("customers:import_reread", args=[batch.pk]), {"encoding": "big5", "delimiter": ""})
    batch.refresh_from_db()
    assert batch.encoding == "big5" and batch.headers != ROWS[0]
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(reverse("customers:import_reread", args=[batch.pk]), {"encoding": "gb18030", "delimiter": ";"})
    batch.refresh_from_db()
    assert batch.headers == ["公司名称,城市,电话"]


def test_the_import_command_runs_the_same_service(cast, tmp_path):
    from django.core.management import call_command

    path = tmp_path / "客户.csv"
    path.write_bytes(csv_bytes(ROWS, encoding="gbk"))
    call_command("import_customers", str(path), "--kind", "companies", "--user", cast.owner.username, "--dry-run")
    assert not Company.objects.exists()
    call_command("import_customers", str(path), "--kind", "companies", "--user", cast.owner.username)
    assert Company.objects.count() == 2
    assert service.visible_mappings(cast.owner).count() == 0


def test_the_page_waits_for_the_worker_to_read_the_file_then_shows_the_mapping(client, cast):
    """The upload request stores the file and queues its reading; the page polls until the worker
    has read it, then reloads into the column mapping."""
    client.force_login(cast.owner)
    response = client.post(
        reverse("customers:import_upload"),
        {"target": "companies", "file": SimpleUploadedFile("客户.csv", csv_bytes(ROWS, encoding="gbk"))},
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and batch.stage == ImportBatch.Stage.READING and not batch.headers
    page = client.get(batch.get_absolute_url()).content.decode()
    assert "Reading the file" in page and reverse("customers:import_progress", args=[batch.pk]) in page
    assert "column_0" not in page
    # Mapping it before it is read is refused with a reason.
    refused = client.post(reverse("customers:import_check", args=[batch.pk]), {"column_0": "name"})
    assert refused.status_code == 400 and "still being read" in refused.content.decode()
    polled = client.get(reverse("customers:import_progress", args=[batch.pk]), HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and "HX-Refresh" not in polled

    running.import_run(batch_id=batch.pk)  # what the worker does with the queued task
    polled = client.get(reverse("customers:import_progress", args=[batch.pk]), HTTP_HX_REQUEST="true")
    assert polled["HX-Refresh"] == "true"
    page = client.get(batch.get_absolute_url()).content.decode()
    assert "column_0" in page and "华为" in page and "公司名称" in page
