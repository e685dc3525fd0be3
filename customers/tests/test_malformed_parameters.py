"""Customer pages take what a request carries without a 500: a malformed or out-of-range value is
ignored with a message or refused on its form (crm.params), each class of value tested once."""

from datetime import date

import pytest
from django.urls import reverse

from crm.params import EARLIEST_DATE
from crm.tests.walk import IGNORED, cursor_text
from crm.tests.walk import shown_date as shown
from customers.models import Company, Interaction, Transaction
from customers.tests.factories import CompanyFactory, ContactFactory, InteractionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def company(cast):
    company = CompanyFactory(owner=cast.owner, team=cast.team)
    ContactFactory(owner=cast.owner, team=cast.team, company=company)
    InteractionFactory(company=company)
    return company


@pytest.mark.parametrize(
    "cursor",
    [
        cursor_text([None, 1]),  # a null inside
        cursor_text([{"t": None}, 1]),
        cursor_text([{"d": "NaN"}, 1]),
        cursor_text([{"t": "0001-01-01T00:00:00+00:00"}, 1]),
        cursor_text(["x", 2**70]),
        cursor_text([[], {}]),
    ],
)
def test_a_tampered_page_position_is_no_error(client, cast, company, cursor):
    client.force_login(cast.owner)
    for sort in ("name", "-created_at", "-lifetime_value"):
        for key in ("after", "before"):
            response = client.get(reverse("customers:company_list"), {"sort": sort, key: cursor})
            assert response.status_code == 200
    assert client.get(company.get_absolute_url(), {"after": cursor}).status_code == 200


def test_a_page_position_with_a_null_shows_the_first_page_and_says_so(client, cast, company):
    client.force_login(cast.owner)
    response = client.get(reverse("customers:company_list"), {"after": cursor_text([None, 1])})
    assert [row.pk for row in response.context["rows"]] == [company.pk]
    assert IGNORED in response.content.decode()
    timeline = client.get(company.get_absolute_url(), {"after": cursor_text([None, 1])})
    assert list(timeline.context["timeline"].items)


def test_an_unknown_sort_or_history_kind_is_ignored_with_a_message(client, cast, company):
    client.force_login(cast.owner)
    page = client.get(reverse("customers:company_list"), {"sort": "owner__password"}).content.decode()
    assert IGNORED in page and "“owner__password” is not one of the choices." in page
    response = client.get(company.get_absolute_url(), {"kind": "__class__"})
    assert response.status_code == 200 and response.context["timeline_kind"] == ""


@pytest.mark.parametrize(
    "query",
    [
        {"created_from": "0001-01-01", "created_to": "9999-12-31"},  # a date filter at the calendar's ends
        {"created_to": "9999-12-31"},
        {"owner": "1" * 40, "team": "9" * 40, "tag": str(2**63)},  # numbers beyond a bigint
        {"owner": "²", "team": "٣"},  # digits Python's int() refuses or reads
    ],
)
def test_list_filters_take_any_value(client, cast, company, query):
    client.force_login(cast.owner)
    for name in ("customers:company_list", "customers:contact_list"):
        assert client.get(reverse(name), query).status_code == 200
    assert client.get(reverse("customers:export_page", args=["companies"]), query).status_code in (200, 403)


def test_a_date_filter_at_the_end_of_the_calendar_is_reported_on_the_form(client, cast, company):
    client.force_login(cast.owner)
    response = client.get(reverse("customers:company_list"), {"created_to": "9999-12-31"})
    assert f"{shown(date(9999, 12, 31))} is not between {shown(EARLIEST_DATE)}" in response.content.decode()
    assert [row.pk for row in response.context["rows"]] == [company.pk]  # the filter is left out


def test_a_company_filter_of_forty_digits_finds_nothing_and_breaks_nothing(client, cast, company):
    client.force_login(cast.owner)
    assert client.get(reverse("customers:contact_list"), {"company": "1" * 40}).status_code == 200
    assert client.get(reverse("customers:contact_create"), {"company": "1" * 40}).status_code == 200


@pytest.mark.parametrize("ids", [["²"], ["1" * 40], ["0"], ["-1"], ["a\x00"]])
def test_a_bulk_selection_of_malformed_ids_is_refused_with_a_message(client, cast, company, ids):
    client.force_login(cast.owner)
    response = client.post(reverse("customers:company_list"), {"action": "delete", "ids": ids}, follow=True)
    assert response.status_code == 200 and Company.objects.filter(pk=company.pk).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount", "NaN"), ("amount", "Infinity"), ("amount", "1e999999"), ("date", "9999-12-31"), ("date", "0001-01-01")],
)
def test_a_purchase_with_an_impossible_amount_or_date_is_refused(client, cast, company, field, value):
    client.force_login(cast.owner)
    data = {"date": "2026-05-01", "amount": "100", "currency": "CNY", "status": "paid", field: value}
    response = client.post(reverse("customers:company_transaction_add", args=[company.pk]), data, follow=True)
    assert response.status_code == 200 and not Transaction.objects.filter(company=company).exists()
    assert "The transaction was not recorded" in response.content.decode()


@pytest.mark.parametrize("when", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_a_history_entry_at_the_calendar_ends_is_refused(client, cast, company, when):
    client.force_login(cast.owner)
    before = Interaction.objects.count()
    data = {"kind": "note", "summary": "回访", "occurred_at": when}
    response = client.post(reverse("customers:company_interaction_add", args=[company.pk]), data, follow=True)
    assert response.status_code == 200 and Interaction.objects.count() == before


@pytest.mark.parametrize("other", ["²", "1" * 40, " ", "-1"])
def test_a_merge_with_a_malformed_other_record_is_not_found(client, cast, company, other):
    client.force_login(cast.owner)
    assert client.get(reverse("customers:company_merge", args=[company.pk]), {"other": other}).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {"type": "__class__", "kind": "x"},
        {"after": cursor_text([-5, "x"])},  # a column the exact finder does not have
        {"after": cursor_text([99, "x"])},
        {"kind": "likely", "after": cursor_text([{"t": "9999-12-31T23:59:59+00:00"}, 1])},
    ],
)
def test_the_duplicates_page_takes_any_position(client, cast, company, query):
    client.force_login(cast.owner)
    assert client.get(reverse("customers:duplicates"), query).status_code == 200
