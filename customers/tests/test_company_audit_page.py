"""The audit page over companies' history: what each entry shows, its filters and pages, and the
link to it from a company's page."""

from datetime import timedelta

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from crm.audit import log_event
from customers.models import Company
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

AUDIT_URL = reverse("crm:audit_log")


@pytest.fixture
def history(cast):
    """A company created by the owner, renamed by the manager, and one deleted company."""
    with set_actor(cast.owner, remote_addr="192.0.2.1"):
        company = CompanyFactory(owner=cast.owner, team=cast.team, name="<b>阿里</b>")
        gone = CompanyFactory(owner=cast.owner, team=cast.team, name="Gone Ltd")
    with set_actor(cast.manager, remote_addr="192.0.2.2"):
        company.name = "阿里巴巴"
        company.lifecycle = Company.Lifecycle.KEY
        company.owner = cast.manager
        company.save()
        gone.delete()
    return company


def test_entries_show_time_actor_address_action_object_and_escaped_diffs(client, cast, history):
    client.force_login(cast.auditor)
    page = client.get(AUDIT_URL).content.decode()

    assert "192.0.2.2" in page
    assert str(cast.manager) in page
    assert "&lt;b&gt;阿里&lt;/b&gt;" in page and "<b>阿里</b>" not in page
    assert "阿里巴巴" in page
    assert "Key account" in page or "重点客户" in page or str(Company.Lifecycle.KEY.label) in page
    # the owner change shows names, not ids
    assert f"{cast.owner}" in page
    # a live object links to its page; a deleted one does not
    assert f'href="{history.get_absolute_url()}"' in page
    assert "Gone Ltd" in page


def test_filters_narrow_the_entries(client, cast, history):
    client.force_login(cast.admin)
    company_type = ContentType.objects.get_for_model(Company)

    by_actor = client.get(AUDIT_URL, {"actor": cast.manager.pk}).context["rows"]
    assert by_actor and {row.entry.actor_id for row in by_actor} == {cast.manager.pk}

    updates = client.get(AUDIT_URL, {"object_type": company_type.pk, "action": "update"}).context["rows"]
    assert [row.entry.object_id for row in updates] == [history.pk]

    one_object = client.get(AUDIT_URL, {"object_type": company_type.pk, "object_id": history.pk}).context["rows"]
    assert {row.entry.object_id for row in one_object} == {history.pk}
    assert len(one_object) == 2

    today = timezone.localdate()
    in_range = client.get(AUDIT_URL, {"date_from": today.isoformat(), "date_to": today.isoformat()}).context["rows"]
    assert len(in_range) >= 4
    future = (today + timedelta(days=1)).isoformat()
    assert client.get(AUDIT_URL, {"date_from": future}).context["rows"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "not-a-date"},
        {"actor": "999999999"},
        {"object_type": "abc"},
        {"action": "drop table"},
        {"object_id": "-3"},
        {"date_from": "2030-01-02", "date_to": "2030-01-01"},
    ],
)
def test_invalid_filters_show_a_form_error_not_a_failure(client, cast, history, params):
    client.force_login(cast.auditor)
    response = client.get(AUDIT_URL, params)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["rows"] == []


def test_tampered_cursor_is_ignored(client, cast, history):
    client.force_login(cast.auditor)
    assert client.get(AUDIT_URL, {"after": "!!garbage"}).status_code == 200


def test_pages_walk_through_every_entry_once_in_a_fixed_number_of_queries(
    client, cast, settings, django_assert_max_num_queries
):
    settings.PAGE_SIZE = 10
    with set_actor(cast.owner, remote_addr="192.0.2.3"):
        companies = CompanyFactory.create_batch(12, owner=cast.owner, team=cast.team)
        for company in companies:
            company.lifecycle = Company.Lifecycle.ACTIVE
            company.owner = cast.manager
            company.save()
            log_event(company, actor=cast.owner, event="export")
    client.force_login(cast.admin)
    client.get(AUDIT_URL)  # warm per-process caches (content types, permission ids)
    total = LogEntry.objects.count()
    assert total >= 36

    seen, params = [], {}
    while True:
        with django_assert_max_num_queries(12):
            response = client.get(AUDIT_URL, params)
        seen += [row.entry.pk for row in response.context["rows"]]
        page = response.context["page"]
        if not page.has_next:
            break
        params = {"after": page.next_cursor}
    assert len(seen) == len(set(seen)) == total


def test_object_filter_link_from_company_history_is_offered_to_audit_viewers_only(client, cast, history):
    link = f"object_type={ContentType.objects.get_for_model(Company).pk}&amp;object_id={history.pk}"
    client.force_login(cast.auditor)
    page = client.get(history.get_absolute_url()).content.decode()
    assert link in page and "192.0.2.2" in page

    client.force_login(cast.manager)  # sees the company, not the audit log
    page = client.get(history.get_absolute_url()).content.decode()
    assert link not in page
    assert "192.0.2.2" not in page
    assert "阿里巴巴" in page and "&lt;b&gt;阿里&lt;/b&gt;" in page  # the rename is in the history


def test_company_history_is_newest_first_and_limited(cast, django_assert_max_num_queries):
    from crm.selectors import object_history

    with set_actor(cast.owner):
        company = CompanyFactory(owner=cast.owner, team=cast.team, name="v0")
        for n in range(1, 60):
            company.name = f"v{n}"
            company.save()
    with django_assert_max_num_queries(6):
        history = object_history(company, viewer=cast.owner)
    assert len(history.rows) == 50
    assert history.rows[0].changes[0].new == "v59"
    assert not history.can_view_audit_log
