"""What the audit trail records of companies: changes with their actor and address, shares,
access events, bulk changes, and masked sensitive fields."""

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from crm.audit import log_bulk_change, log_event
from customers.models import Company
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


def entries_for(obj):
    return LogEntry.objects.get_for_object(obj).order_by("timestamp", "id")


def test_company_create_update_delete_are_logged_with_actor_and_diffs(cast):
    with set_actor(cast.owner, remote_addr="192.0.2.10"):
        company = CompanyFactory(owner=cast.owner, team=cast.team, name="华为")
        company.name = "华为技术"
        company.save()
        pk = company.pk
        company.delete()

    entries = list(LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Company), object_id=pk))
    entries.sort(key=lambda e: e.id)
    assert [e.action for e in entries] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE, LogEntry.Action.DELETE]
    assert {e.actor for e in entries} == {cast.owner}
    assert {e.remote_addr for e in entries} == {"192.0.2.10"}
    assert entries[1].changes["name"] == ["华为", "华为技术"]


def test_sharing_through_a_request_records_the_actor_and_address(client, cast):
    company = CompanyFactory(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    response = client.post(
        reverse("crm:share_add", args=["customers.company", company.pk]),
        {"user": cast.outsider.pk, "level": "view"},
        REMOTE_ADDR="203.0.113.8",
    )
    assert response.status_code == 302
    entry = entries_for(company).last()
    assert entry.actor == cast.owner
    assert entry.actor_email == cast.owner.email or entry.actor_email is None
    assert entry.remote_addr == "203.0.113.8"
    assert entry.additional_data == {"event": "share"}
    assert entry.changes["shared_with"][1] == f"user:{cast.outsider.username} (view)"


def test_log_event_outside_a_request_does_not_inherit_an_earlier_requests_address(client, cast):
    company = CompanyFactory(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    client.get(reverse("profile"), REMOTE_ADDR="203.0.113.9")

    entry = log_event(company, actor=cast.admin, event="export")
    assert entry.action == LogEntry.Action.ACCESS
    assert entry.actor == cast.admin
    assert entry.remote_addr is None
    assert entry.object_id == company.pk
    assert entry.object_repr == str(company)
    assert entry.additional_data == {"event": "export"}


def test_log_bulk_change_writes_one_entry_per_record_in_batches(cast, monkeypatch):
    import crm.audit

    monkeypatch.setattr(crm.audit, "BULK_LOG_BATCH_SIZE", 2)
    companies = CompanyFactory.create_batch(5, owner=cast.owner, team=cast.team)
    pks = (c.pk for c in companies)  # any iterable, even a generator

    with set_actor(cast.manager, remote_addr="192.0.2.20"):
        written = log_bulk_change(
            Company,
            pks,
            actor=cast.manager,
            changes={"owner": [str(cast.owner.pk), str(cast.manager.pk)]},
            event="reassign",
        )

    assert written == 5
    entries = LogEntry.objects.filter(additional_data__event="reassign")
    assert sorted(e.object_id for e in entries) == sorted(c.pk for c in companies)
    assert {(e.actor_id, e.remote_addr, e.action) for e in entries} == {
        (cast.manager.pk, "192.0.2.20", LogEntry.Action.UPDATE)
    }


def test_sensitive_company_fields_are_masked(cast):
    with set_actor(cast.owner):
        company = CompanyFactory(owner=cast.owner, team=cast.team)
        company.phone = "+8613800138000"
        company.tax_id = "91310000MA1FL0000X"
        company.save()
        log_event(company, actor=cast.owner, action=LogEntry.Action.UPDATE, changes={"phone": ["", "13900000000"]})

    text = " ".join(str(e.changes) + str(e.serialized_data) for e in entries_for(company))
    for secret in ("13800138000", "91310000MA1FL0000X", "13900000000"):
        assert secret not in text
    update = entries_for(company).filter(action=LogEntry.Action.UPDATE).first()
    assert set(update.changes) >= {"phone", "tax_id"}
    assert not any("bidx" in name for e in entries_for(company) for name in (e.changes or {}))
