"""The customer pages read what they show in a fixed number of queries, however many rows there are."""

import pytest
from django.urls import reverse

from customers.services import record_interaction
from customers.tests.factories import CompanyFactory, ContactFactory, TagFactory

pytestmark = pytest.mark.django_db

# Ceilings with room for the panels and search providers other modules plug in (22 and 13 with
# the sales module's); the sharper guard is that the count does not grow with the rows.
LIST_QUERIES = 20
DETAIL_QUERIES = 30
SEARCH_QUERIES = 20


def _add_customers(cast, n: int, *, start: int) -> None:
    """`n` more companies and contacts of the team, each with its own owner, tag and history."""
    owners = [cast.owner, cast.manager, cast.teammate]
    for i in range(start, start + n):
        owner = owners[i % len(owners)]
        company = CompanyFactory(name=f"华为分公司 {i}", owner=owner, team=cast.team)
        tag = TagFactory()
        company.tags.add(tag)
        contact = ContactFactory(
            family_name="华", given_name=f"为{i}", owner=owner, team=cast.team, company=company, tags=[tag]
        )
        record_interaction(kind="note", summary=f"Note {i}", actor=owner, company=company, contact=contact)


def _stays_flat(client, url, params, ceiling, grow, assert_max):
    """The page's query count, then the same page after `grow()` adds rows, is no higher."""
    client.get(url, params)  # warm per-process caches (permission ids, content types)
    with assert_max(ceiling) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    baseline = len(captured.captured_queries)
    grow()
    with assert_max(baseline):
        response = client.get(url, params)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("url_name", ["customers:company_list", "customers:contact_list"])
def test_list_query_count_does_not_grow(client, cast, url_name, django_assert_max_num_queries):
    _add_customers(cast, 2, start=0)
    client.force_login(cast.manager)
    response = _stays_flat(
        client,
        reverse(url_name),
        {},
        LIST_QUERIES,
        lambda: _add_customers(cast, 20, start=2),
        django_assert_max_num_queries,
    )
    assert len(response.context["rows"]) == 22


@pytest.mark.parametrize("url_name", ["customers:company_list", "customers:contact_list"])
def test_filtered_list_query_count_does_not_grow(client, cast, url_name, django_assert_max_num_queries):
    _add_customers(cast, 2, start=0)
    client.force_login(cast.owner)
    _stays_flat(
        client,
        reverse(url_name),
        {"q": "华为", "owner": cast.owner.pk, "sort": "-created_at"},
        LIST_QUERIES,
        lambda: _add_customers(cast, 20, start=2),
        django_assert_max_num_queries,
    )


def test_contact_detail_query_count_does_not_grow(client, cast, django_assert_max_num_queries):
    company = CompanyFactory(name="华为技术有限公司", owner=cast.owner, team=cast.team)
    contact = ContactFactory(owner=cast.owner, team=cast.team, company=company, phone="13800138000")
    record_interaction(kind="call", summary="First", actor=cast.owner, contact=contact)

    def grow():
        for i in range(20):
            contact.tags.add(TagFactory())
            record_interaction(
                kind="note", summary=f"More {i}", actor=[cast.owner, cast.manager][i % 2], contact=contact
            )

    client.force_login(cast.manager)
    response = _stays_flat(client, contact.get_absolute_url(), {}, DETAIL_QUERIES, grow, django_assert_max_num_queries)
    assert "More 19" in response.content.decode()


def test_global_search_query_count_does_not_grow(client, cast, django_assert_max_num_queries):
    _add_customers(cast, 1, start=0)
    client.force_login(cast.manager)
    response = _stays_flat(
        client,
        reverse("search"),
        {"q": "华为"},
        SEARCH_QUERIES,
        lambda: _add_customers(cast, 20, start=1),
        django_assert_max_num_queries,
    )
    assert "华为分公司" in response.content.decode()


def test_global_search_partial_query_count_does_not_grow(client, cast, django_assert_max_num_queries):
    _add_customers(cast, 1, start=0)
    client.force_login(cast.owner)
    client.get(reverse("search"), {"q": "华为"}, HTTP_HX_REQUEST="true")
    with django_assert_max_num_queries(SEARCH_QUERIES) as captured:
        client.get(reverse("search"), {"q": "华为"}, HTTP_HX_REQUEST="true")
    baseline = len(captured.captured_queries)
    _add_customers(cast, 20, start=1)
    with django_assert_max_num_queries(baseline):
        response = client.get(reverse("search"), {"q": "华为"}, HTTP_HX_REQUEST="true")
    assert "华为分公司" in response.content.decode()
