"""The core's pages take what a request carries without a 500: a malformed or out-of-range value is
ignored with a message or refused on its form (crm.params)."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils.formats import date_format

from crm.models import SavedView
from crm.params import EARLIEST_DATE, LATEST_DATE
from crm.tests.walk import cursor_text

pytestmark = pytest.mark.django_db


def shown(day: date) -> str:
    return date_format(day, "SHORT_DATE_FORMAT")


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},  # the ends of the calendar
        {"date_from": "9999-12-31"},
        {"object_id": "1" * 40},
        {"after": cursor_text([None, 1])},
        {"before": cursor_text([{"t": "9999-12-31T23:59:59+00:00"}, 2**70])},
    ],
)
def test_the_audit_log_takes_any_filter(client, cast, query):
    client.force_login(cast.auditor)
    response = client.get(reverse("crm:audit_log"), query)
    assert response.status_code == 200


def test_a_date_filter_outside_the_calendar_we_keep_says_so(client, cast):
    client.force_login(cast.auditor)
    page = client.get(reverse("crm:audit_log"), {"date_to": "9999-12-31"}).content.decode()
    assert f"{shown(date(9999, 12, 31))} is not between {shown(EARLIEST_DATE)} and {shown(LATEST_DATE)}." in page


def test_a_tampered_page_position_shows_the_first_page_and_says_so(client, cast):
    client.force_login(cast.auditor)
    page = client.get(reverse("crm:audit_log"), {"after": cursor_text([None, 1])}).content.decode()
    assert "Part of the address was ignored: The page position in the address is not valid." in page


@pytest.mark.parametrize("query", ["a\x00b", "\x00", "x" * 5000, "😀\u2028"])
def test_searches_take_control_characters(client, cast, query):
    client.force_login(cast.owner)
    assert client.get(reverse("search"), {"q": query}).status_code == 200
    assert client.get(reverse("crm:pick", args=["crm.user"]), {"q": query}).status_code == 200


def test_a_saved_view_keeps_no_control_characters(client, cast):
    client.force_login(cast.owner)
    response = client.post(
        reverse("crm:saved_view_create"),
        {"list_key": "customers.company\x00", "name": "上海\x00客户", "query": "city=上海\x00&sort=name"},
    )
    assert response.status_code == 302
    view = SavedView.objects.get(user=cast.owner)
    assert (view.list_key, view.name) == ("customers.company", "上海 客户") and "\x00" not in view.query
