"""The audit entry of an export says whether sensitive fields were in it, keeps searched phone
numbers and tax IDs only as blind indexes, and shows on the audit page."""

from urllib.parse import urlencode

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from crm.crypto import is_ciphertext
from crm.fields import blind_index_for, normalize_phone, normalize_tax_id
from crm.models import Job
from customers import exporting
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

PHONE, TAX_ID = "13912345678", "91440300192203821X"


def export_entry() -> LogEntry:
    return LogEntry.objects.filter(additional_data__event="export").latest("pk")


def post_export(client, query="", fmt="csv"):
    return client.post(f"{reverse('customers:export_download', args=['companies'])}?{query}", {"format": fmt})


@pytest.fixture
def company(cast):
    return CompanyFactory(name="星河科技", owner=cast.owner, team=cast.team, phone=PHONE, tax_id=TAX_ID)


def test_an_export_with_revealed_fields_says_so(client, cast, company):
    client.force_login(cast.manager)
    post_export(client)
    assert export_entry().additional_data["sensitive"] is True


def test_a_masked_export_says_so(client, cast, company):
    cast.owner.user_permissions.add(Permission.objects.get(codename="export_records", content_type__model="company"))
    client.force_login(cast.owner)
    post_export(client)
    assert export_entry().additional_data["sensitive"] is False


def test_a_background_export_says_so_and_keeps_its_filters_sealed(
    client, cast, company, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(exporting, "INLINE_LIMIT", 0)
    client.force_login(cast.manager)
    with django_capture_on_commit_callbacks(execute=True):
        post_export(client, query=f"q={PHONE}")
    job = Job.objects.get(kind=exporting.JOB_KIND)
    assert job.status == Job.Status.DONE and job.done == 1  # the filter applied
    assert is_ciphertext(job.params["query"]) and PHONE not in str(job.params)
    entry = export_entry()
    assert entry.additional_data["sensitive"] is True
    assert entry.additional_data["filters"] == {"q": ["phone:" + blind_index_for(normalize_phone, PHONE)]}


def test_searched_numbers_and_tax_ids_are_kept_as_blind_indexes(client, cast, company):
    client.force_login(cast.manager)
    post_export(client, query=urlencode({"q": "+86 139 1234 5678", "city": "深圳"}))
    post_export(client, query=f"q={TAX_ID.lower()}")
    first, second = LogEntry.objects.filter(additional_data__event="export").order_by("pk")
    assert first.additional_data["filters"] == {
        "q": ["phone:" + blind_index_for(normalize_phone, PHONE)],
        "city": ["深圳"],
    }
    assert second.additional_data["filters"] == {"q": ["tax_id:" + blind_index_for(normalize_tax_id, TAX_ID)]}
    assert "1234" not in str(first.additional_data) and "192203821" not in str(second.additional_data)


def test_opportunity_exports_carry_no_sensitive_fields(client, cast):
    client.force_login(cast.manager)
    response = client.post(reverse("customers:export_download", args=["opportunities"]), {"format": "csv"})
    assert response.status_code == 200
    assert export_entry().additional_data["sensitive"] is False


def test_the_audit_page_shows_what_an_export_held(client, cast, company):
    client.force_login(cast.manager)
    post_export(client)
    cast.owner.user_permissions.add(Permission.objects.get(codename="export_records", content_type__model="company"))
    client.force_login(cast.owner)
    post_export(client)
    client.force_login(cast.auditor)
    page = client.get(reverse("crm:audit_log")).content.decode()
    assert "Exported" in page
    assert "companies · CSV · 1 row · sensitive fields included" in page
    assert "companies · CSV · 1 row · sensitive fields masked" in page
