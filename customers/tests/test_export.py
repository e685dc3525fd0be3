"""Exports: only visible rows, the list's filters, masked secrets, inert formulas, an audit entry."""

import csv
import io
import zipfile

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from crm.exports import safe_cell
from crm.models import Job
from customers import exporting
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("华为", "华为"),
        (-5, -5),
        (None, ""),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def grant_export(user):
    user.user_permissions.add(Permission.objects.get(codename="export_records", content_type__model="company"))


def download(client, what="companies", query="", fmt="csv"):
    response = client.post(f"{reverse('customers:export_download', args=[what])}?{query}", {"format": fmt})
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_csv_export_has_a_bom_only_visible_filtered_rows_masked_and_inert(client, cast):
    CompanyFactory(
        name='=HYPERLINK("http://evil")',
        city="上海",
        owner=cast.owner,
        team=cast.team,
        phone="13800138000",
        tax_id="91310000MA1K",
    )
    CompanyFactory(name="北京公司", city="北京", owner=cast.owner, team=cast.team)
    CompanyFactory(name="别人的公司", city="上海", owner=cast.outsider, team=cast.other_team)
    grant_export(cast.owner)
    client.force_login(cast.owner)
    body = download(client, query="city=上海")
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Name"] == '\'=HYPERLINK("http://evil")'
    assert (row["Phone"], row["Tax ID"]) == ("******", "******")
    entry = LogEntry.objects.get(additional_data__event="export")
    assert entry.actor == cast.owner and entry.action == LogEntry.Action.ACCESS
    assert entry.additional_data["rows"] == 1 and entry.additional_data["filters"] == {"city": ["上海"]}


def test_a_manager_may_reveal_and_exports_xlsx(client, cast):
    from python_calamine import CalamineWorkbook

    CompanyFactory(name="@cmd", owner=cast.owner, team=cast.team, phone="+86 138 0013 8000")
    client.force_login(cast.manager)
    body = download(client, fmt="xlsx")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(body)).get_sheet_by_index(0).to_python()
    row = dict(zip(rows[0], rows[1], strict=True))
    # Text cells as written: no visible apostrophe, the phone is not turned into a number or a
    # formula; the formula-like name carries Excel's hidden quote prefix instead.
    assert (row["Name"], row["Phone"]) == ("@cmd", "+86 138 0013 8000")
    with zipfile.ZipFile(io.BytesIO(body)) as workbook:
        assert b'quotePrefix="1"' in workbook.read("xl/styles.xml")
        assert b"<f>" not in workbook.read("xl/worksheets/sheet1.xml")


def test_contacts_export_as_vcard(client, cast):
    from customers.services import contact_create

    contact_create(actor=cast.owner, team=cast.team, family_name="王", given_name="小明", mobile="13800138000")
    client.force_login(cast.manager)
    response = client.post(reverse("customers:export_download", args=["contacts"]), {"format": "vcf", "version": "4.0"})
    text = b"".join(response.streaming_content).decode()
    assert "VERSION:4.0" in text and "FN:王小明" in text and "13800138000" in text


@pytest.mark.parametrize(
    ("who", "expected"),
    [("owner", 403), ("teammate", 403), ("manager", 200), ("outsider", 403), ("auditor", 200), ("admin", 200)],
)
def test_export_needs_the_export_permission(client, cast, who, expected):
    client.force_login(cast.as_dict()[who])
    assert client.get(reverse("customers:export_page", args=["companies"])).status_code == expected
    response = client.post(reverse("customers:export_download", args=["companies"]), {"format": "csv"})
    assert response.status_code == expected
    if expected == 403:
        assert not LogEntry.objects.filter(additional_data__event="export").exists()


def test_large_exports_run_in_the_background_for_their_owner_only(
    client, cast, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(exporting, "INLINE_LIMIT", 2)
    for i in range(3):
        CompanyFactory(name=f"公司{i}", owner=cast.manager, team=cast.team)
    client.force_login(cast.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:export_download", args=["companies"]), {"format": "csv"})
    job = Job.objects.get(kind=exporting.JOB_KIND)
    assert response.status_code == 302 and response.url == reverse("customers:export_job", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.done) == ("done", 3)
    assert "Download 3 records" in client.get(response.url).content.decode()
    body = b"".join(client.get(reverse("customers:export_file", args=[job.pk])).streaming_content)
    assert len(body.decode("utf-8-sig").splitlines()) == 4
    assert LogEntry.objects.get(additional_data__event="export").additional_data["rows"] == 3
    client.force_login(cast.auditor)
    assert client.get(reverse("customers:export_file", args=[job.pk])).status_code == 404
    assert client.get(reverse("customers:export_job", args=[job.pk])).status_code == 404
