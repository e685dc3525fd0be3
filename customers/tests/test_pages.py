"""The customer pages a sales rep uses all day: lists, detail, quick notes, reveal, search."""

from datetime import date
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from customers.models import Company, Interaction
from customers.services import contact_create, record_interaction, transaction_record
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(cast):
    company = CompanyFactory(name="华为技术有限公司", owner=cast.owner, team=cast.team, phone="13800138000")
    for i in range(3):
        contact_create(actor=cast.owner, team=cast.team, family_name="王", given_name=f"{i}号", company=company)
    for i in range(30):
        record_interaction(kind="call", summary=f"Call {i}", actor=cast.owner, company=company)
    transaction_record(actor=cast.owner, company=company, date=date.today(), amount=Decimal("1200"), reference="SO-1")
    return company


def test_company_detail_shows_profile_contacts_timeline_and_totals(client, cast, company):
    client.force_login(cast.owner)
    response = client.get(company.get_absolute_url())
    assert response.status_code == 200
    body = response.content.decode()
    assert "王0号" in body and "Call 29" in body and "1,200.00" in body
    assert "138****8000" in body and "13800138000" not in body


def test_company_detail_query_count_does_not_grow(client, cast, company, django_assert_max_num_queries):
    client.force_login(cast.manager)
    client.get(company.get_absolute_url())
    with django_assert_max_num_queries(30) as captured:
        client.get(company.get_absolute_url())
    baseline = len(captured.captured_queries)
    for i in range(10):
        record_interaction(kind="note", summary=f"More {i}", actor=cast.owner, company=company)
        contact_create(actor=cast.owner, team=cast.team, given_name=f"Extra {i}", company=company)
    with django_assert_max_num_queries(baseline):
        client.get(company.get_absolute_url())


def test_timeline_pages_and_filters_by_type(client, cast, company):
    client.force_login(cast.owner)
    first = client.get(company.get_absolute_url(), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline")
    page = first.context["timeline"]
    assert len(page.items) == 25 and page.has_next
    older = client.get(
        f"{company.get_absolute_url()}?after={page.next_cursor}", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="timeline"
    )
    assert {i.pk for i in older.context["timeline"].items}.isdisjoint({i.pk for i in page.items})
    orders = client.get(f"{company.get_absolute_url()}?kind=order").context["timeline"].items
    assert [i.kind for i in orders] == ["order"]


def test_quick_note_through_htmx_returns_the_refreshed_timeline(client, cast, company):
    client.force_login(cast.owner)
    url = reverse("customers:company_interaction_add", args=[company.pk])
    response = client.post(url, {"kind": "call", "summary": "Discussed renewal", "body": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Discussed renewal" in response.content.decode()
    assert Interaction.objects.filter(company=company, summary="Discussed renewal", actor=cast.owner).exists()


def test_invalid_quick_note_shows_errors_in_the_form(client, cast, company):
    client.force_login(cast.owner)
    url = reverse("customers:company_interaction_add", args=[company.pk])
    before = Interaction.objects.count()
    response = client.post(url, {"kind": "order", "summary": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert response["HX-Retarget"] == "#interaction-form"
    assert Interaction.objects.count() == before


def test_reveal_needs_the_permission_and_is_audited(client, cast, company):
    url = reverse("customers:company_reveal", args=[company.pk, "phone"])
    client.force_login(cast.owner)  # a sales rep: may see the company, may not reveal
    assert client.post(url, HTTP_HX_REQUEST="true").status_code == 403
    client.force_login(cast.manager)  # sales manager: may reveal
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "13800138000" in response.content.decode()
    entry = LogEntry.objects.get_for_object(company).filter(action=LogEntry.Action.ACCESS).get()
    assert entry.actor == cast.manager and "13800138000" not in str(entry.changes)
    client.force_login(cast.auditor)  # the audit page names the field that was opened
    page = client.get(reverse("crm:audit_log"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert (
        "Revealed a protected field" in page
        and "Field: phone" in page
        and "revealed" not in page.lower().replace("revealed a protected field", "")
    )
    client.force_login(cast.outsider)
    assert client.post(url).status_code == 404
    assert client.post(reverse("customers:company_reveal", args=[company.pk, "name"])).status_code == 404


@pytest.mark.parametrize("query", ["为技", "华为", "华为技术", "13800138000", "+86 138 0013 8000"])
def test_global_search_finds_by_chinese_substring_and_phone(client, cast, company, query):
    client.force_login(cast.owner)
    response = client.get(reverse("search"), {"q": query}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "华为技术有限公司" in response.content.decode()


def test_global_search_is_scoped(client, cast, company):
    client.force_login(cast.outsider)
    response = client.get(reverse("search"), {"q": "华为"})
    assert "华为技术有限公司" not in response.content.decode()


def test_search_does_not_match_reordered_pairs(client, cast, company):
    CompanyFactory(name="技术华为", owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    rows = client.get(reverse("customers:company_list"), {"q": "华为技术"}).context["rows"]
    assert [c.name for c in rows] == ["华为技术有限公司"]


def test_company_list_filters_and_bulk_tag(client, cast, company):
    from customers.models import Tag

    tag = Tag.objects.create(name="VIP")
    other = CompanyFactory(owner=cast.outsider, team=cast.other_team)
    client.force_login(cast.owner)
    response = client.post(
        reverse("customers:company_list"),
        {"action": "add_tag", "tag": tag.pk, "ids": [company.pk, other.pk], "next": "/customers/companies/"},
    )
    assert response.status_code == 302
    assert list(company.tags.all()) == [tag]
    assert not other.tags.exists()  # not theirs: skipped
    rows = client.get(reverse("customers:company_list"), {"tag": tag.pk}).context["rows"]
    assert [c.pk for c in rows] == [company.pk]


def test_company_edit_keeps_reach_rules(client, cast, company):
    client.force_login(cast.owner)
    url = reverse("customers:company_edit", args=[company.pk])
    response = client.post(
        url, {"name": "新名字", "lifecycle": "active", "country": "CN", "owner": cast.owner.pk, "team": cast.team.pk}
    )
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.name == "新名字"
    response = client.post(
        url, {"name": "X", "lifecycle": "active", "country": "CN", "owner": cast.owner.pk, "team": cast.other_team.pk}
    )
    assert response.status_code == 400
    company.refresh_from_db()
    assert company.name == "新名字" and company.team == cast.team


def test_contact_form_cannot_attach_an_invisible_company(client, cast, company):
    hidden = CompanyFactory(owner=cast.outsider, team=cast.other_team)
    client.force_login(cast.owner)
    response = client.post(
        reverse("customers:contact_edit", args=[company.contacts.first().pk]),
        {"family_name": "王", "given_name": "五", "company": hidden.pk, "owner": cast.owner.pk, "team": cast.team.pk},
    )
    assert response.status_code == 400
    assert "company" in response.context["form"].errors
    assert not Company.objects.get(pk=hidden.pk).contacts.exists()
