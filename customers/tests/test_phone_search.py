"""Searching by phone: a whole normalised number finds its record, a part of one finds nothing
(masked numbers cannot be recovered digit by digit), and every search by number is audited under
the number's blind index and limited per user."""

import pytest
from auditlog.models import LogEntry
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse

from crm.fields import blind_index_for, normalize_phone
from crm.search import EVENT_PHONE_SEARCH
from customers.tests.factories import CompanyFactory, ContactFactory

pytestmark = pytest.mark.django_db

NUMBER = "13800138000"


@pytest.fixture
def owned(cast):
    cache.clear()
    company = CompanyFactory(name="远山贸易", phone=NUMBER, owner=cast.owner, team=cast.team)
    contact = ContactFactory(
        family_name="周", given_name="远", mobile=NUMBER, company=company, owner=cast.owner, team=cast.team
    )
    return company, contact


def found(client, url, query):
    return client.get(url, {"q": query}).content.decode()


@pytest.mark.parametrize("query", ["1380013", "13800138", "0013800", "138001380"])
def test_part_of_a_number_finds_nothing(client, cast, owned, query):
    client.force_login(cast.owner)
    for url in (reverse("customers:company_list"), reverse("customers:contact_list"), reverse("search")):
        assert "远山贸易" not in found(client, url, query)
        assert "周远" not in found(client, url, query)


@pytest.mark.parametrize("query", [NUMBER, "+86 138 0013 8000", "0086-138-0013-8000"])
def test_the_whole_number_in_any_form_finds_the_record(client, cast, owned, query):
    client.force_login(cast.owner)
    assert "远山贸易" in found(client, reverse("customers:company_list"), query)
    assert "周远" in found(client, reverse("customers:contact_list"), query)
    assert "远山贸易" in found(client, reverse("search"), query)


def test_searches_by_number_are_audited_without_the_number(client, cast, owned):
    client.force_login(cast.owner)
    found(client, reverse("customers:company_list"), "+86 138 0013 8000")
    found(client, reverse("search"), NUMBER)
    found(client, reverse("search"), "远山")  # not a number: not a phone search

    entries = LogEntry.objects.filter(additional_data__event=EVENT_PHONE_SEARCH, actor=cast.owner)
    key = blind_index_for(normalize_phone, NUMBER)
    assert sorted(e.changes["phone_search"][0] for e in entries) == ["list:company", "search"]
    assert all(e.changes["phone_search"][1] == key for e in entries)
    assert not LogEntry.objects.filter(changes_text__contains=NUMBER).exists()
    assert not any(NUMBER in str(e.changes) or "138 0013" in str(e.changes) for e in LogEntry.objects.all())


@override_settings(PHONE_SEARCH_LIMIT=2)
def test_searches_by_number_are_limited_per_user(client, cast, owned):
    client.force_login(cast.owner)
    assert "远山贸易" in found(client, reverse("customers:company_list"), NUMBER)
    assert "周远" in found(client, reverse("customers:contact_list"), NUMBER)

    refused_list = found(client, reverse("customers:company_list"), NUMBER)
    assert "searched by phone number too often" in refused_list or "电话号码搜索" in refused_list
    refused_search = found(client, reverse("search"), NUMBER)
    assert "searched by phone number too often" in refused_search or "电话号码搜索" in refused_search
    assert "远山贸易" not in refused_search
    # Names still work, and another user has their own allowance.
    assert "远山贸易" in found(client, reverse("search"), "远山")
    client.force_login(cast.manager)
    assert "远山贸易" in found(client, reverse("search"), NUMBER)
