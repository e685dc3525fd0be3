"""The shared list machinery (crm.lists), exercised through the company list."""

import pytest
from django.urls import reverse

from crm.models import SavedView
from customers.tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

URL = "/customers/companies/"


@pytest.fixture
def companies(cast):
    names = ["北京甲", "Acme", "上海乙", "Beta", "广州丙"]
    return [CompanyFactory(name=n, owner=cast.owner, team=cast.team) for n in names]


def test_list_sorts_by_whitelisted_keys_only(client, cast, companies):
    client.force_login(cast.owner)
    names = [c.name for c in client.get(URL + "?sort=-name").context["rows"]]
    assert names == sorted(names, reverse=True)
    # An unknown sort key falls back to the default instead of reaching the database.
    response = client.get(URL + "?sort=owner__password")
    assert response.status_code == 200
    assert [c.name for c in response.context["rows"]] == sorted(names)


def test_list_pages_forward_and_back(client, cast, companies, settings):
    settings.PAGE_SIZE = 2
    client.force_login(cast.owner)
    first = client.get(URL)
    assert len(first.context["rows"]) == 2
    second = client.get(first.context["next_url"].replace("?", URL + "?"))
    assert second.context["rows"][0].name not in [c.name for c in first.context["rows"]]
    back = client.get(second.context["previous_url"].replace("?", URL + "?"))
    assert [c.pk for c in back.context["rows"]] == [c.pk for c in first.context["rows"]]


def test_invalid_filter_is_reported_not_a_500(client, cast, companies):
    client.force_login(cast.owner)
    response = client.get(URL + "?owner=not-a-number&lifecycle=nonsense")
    assert response.status_code == 200
    assert response.context["filter_form"].errors
    assert len(response.context["rows"]) == 5


def test_filter_by_lifecycle(client, cast, companies):
    companies[0].lifecycle = "key"
    companies[0].save()
    client.force_login(cast.owner)
    rows = client.get(URL + "?lifecycle=key").context["rows"]
    assert [c.pk for c in rows] == [companies[0].pk]


def test_garbage_cursor_starts_from_the_first_page(client, cast, companies):
    client.force_login(cast.owner)
    response = client.get(URL + "?after=%%%garbage")
    assert response.status_code == 200
    assert len(response.context["rows"]) == 5


def test_saved_views_are_per_user(client, cast, companies):
    client.force_login(cast.owner)
    response = client.post(
        reverse("crm:saved_view_create"),
        {"list_key": "customers.company", "name": "Key accounts", "query": "lifecycle=key", "next": URL},
    )
    assert response.status_code == 302
    assert response.url == URL
    assert [v.name for v in client.get(URL).context["saved_views"]] == ["Key accounts"]
    client.force_login(cast.teammate)
    assert client.get(URL).context["saved_views"] == []
    view = SavedView.objects.get()
    client.post(reverse("crm:saved_view_remove", args=[view.pk]))
    assert SavedView.objects.exists()  # not theirs to delete


def test_a_saved_view_is_removed_from_the_list_page(client, cast, companies):
    view = SavedView.objects.create(user=cast.owner, list_key="customers.company", name="Key", query="lifecycle=key")
    client.force_login(cast.owner)
    remove = reverse("crm:saved_view_remove", args=[view.pk])

    assert f'action="{remove}"' in client.get(URL).content.decode()
    response = client.post(remove, {"next": URL})

    assert response.url == URL
    assert not SavedView.objects.exists()
    assert f'action="{remove}"' not in client.get(URL).content.decode()


def test_saved_view_redirect_stays_on_site(client, cast):
    client.force_login(cast.owner)
    response = client.post(
        reverse("crm:saved_view_create"),
        {"list_key": "customers.company", "name": "x", "query": "", "next": "//evil.example/"},
    )
    assert response.url == "/"


def test_role_without_view_permission_gets_403(client, db):
    from crm.testing import make_user

    client.force_login(make_user(role=None))
    assert client.get(URL).status_code == 403


def test_sort_arrow_follows_the_real_order(client, cast, companies):
    client.force_login(cast.owner)
    headers = {h["column"].key: h for h in client.get(URL + "?sort=created_at").context["headers"]}
    assert headers["created_at"]["sorted"] == "desc"  # declared newest first
    assert headers["name"]["sorted"] is None
    headers = {h["column"].key: h for h in client.get(URL + "?sort=-created_at").context["headers"]}
    assert headers["created_at"]["sorted"] == "asc"
    headers = {h["column"].key: h for h in client.get(URL + "?sort=name").context["headers"]}
    assert headers["name"]["sorted"] == "asc" and "sort=-name" in headers["name"]["url"]
