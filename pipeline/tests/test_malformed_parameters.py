"""Pipeline pages take what a request carries without a 500: a malformed or out-of-range value is
ignored with a message or refused on its form (crm.params), each class of value tested once."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse

from crm.params import EARLIEST_DATE, LATEST_DATE
from crm.tests.walk import IGNORED, cursor_text
from crm.tests.walk import shown_date as shown
from pipeline.models import Opportunity, Quota, Task
from pipeline.tests.factories import LeadFactory, TaskFactory
from pipeline.tests.opportunity_helpers import make_company, make_opportunity, new_business, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(cast):
    return make_opportunity(owner=cast.owner, team=cast.team, amount="5000")


@pytest.mark.parametrize("month", ["9999-12", "0000-01", "0-1", "2026-13", "10000-01"])
def test_a_calendar_month_outside_the_calendar_shows_this_month(client, cast, month):
    client.force_login(cast.owner)
    response = client.get(reverse("pipeline:calendar"), {"month": month})
    assert response.status_code == 200 and IGNORED in response.content.decode()


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "2026-02-30"])
def test_a_calendar_week_at_the_ends_of_the_calendar_shows_this_week(client, cast, day):
    client.force_login(cast.owner)
    response = client.get(reverse("pipeline:calendar_week"), {"date": day})
    assert response.status_code == 200 and IGNORED in response.content.decode()


@pytest.mark.parametrize("period", ["0000-Q1", "9999-Q4", "0000-01", "9999-12", "2026-Q9"])
def test_a_forecast_period_outside_the_calendar_shows_this_month(client, cast, deal, period):
    client.force_login(cast.owner)
    response = client.get(reverse("pipeline:forecast"), {"period": period})
    assert response.status_code == 200 and IGNORED in response.content.decode()
    assert response.context["period"].kind == "month"


@pytest.mark.parametrize("team", ["²", "1" * 40, "-1"])
def test_a_malformed_forecast_team_is_ignored(client, cast, deal, team):
    client.force_login(cast.manager)
    response = client.get(reverse("pipeline:forecast"), {"team": team})
    assert response.status_code == 200 and response.context["team"] is None


@pytest.mark.parametrize(
    "query",
    [
        {"amount": "NaN", "id": "1"},
        {"amount": "Infinity", "id": "1"},
        {"amount": "sNaN", "id": "1"},
        {"amount": "1e999999", "id": "1"},
        {"amount": "100", "id": "1" * 40},
        {"amount": "100", "id": "²"},
    ],
)
def test_the_boards_more_cards_with_a_malformed_position_goes_back_to_the_board(client, cast, deal, query):
    client.force_login(cast.owner)
    url = reverse("pipeline:board_more", args=[deal.pipeline_id, deal.stage_id])
    response = client.get(url, query)
    assert response.status_code == 302 and response["Location"] == reverse("pipeline:board", args=[deal.pipeline_id])


@pytest.mark.parametrize(
    "query",
    [
        {"amount_min": "1e999999"},
        {"amount_max": "NaN"},
        {"amount_min": "Infinity"},
        {"close_from": "0001-01-01", "close_to": "9999-12-31"},
        {"company": "1" * 40, "contact": str(2**63)},
        {"q": "a\x00b"},
        {"after": cursor_text([None, None])},
        {"sort": "amount", "after": cursor_text([{"d": "NaN"}, 1])},
    ],
)
def test_opportunity_list_and_export_take_any_filter(client, cast, deal, query):
    client.force_login(cast.admin)
    for name in ("pipeline:opportunity_list", "pipeline:attention"):
        assert client.get(reverse(name), query).status_code == 200
    export = reverse("customers:export_download", args=["opportunities"]) + "?" + urlencode(query)
    assert client.post(export, {"format": "csv"}).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        {"created_from": "0001-01-01", "created_to": "9999-12-31"},
        {"score_min": "1" * 40, "score_max": "-" + "9" * 40},
        {"after": cursor_text([None, 1]), "sort": "-score"},
    ],
)
def test_the_lead_list_takes_any_filter(client, cast, query):
    LeadFactory(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    assert client.get(reverse("pipeline:lead_list"), query).status_code == 200


def test_a_tampered_position_in_my_tasks_shows_the_first_page(client, cast):
    TaskFactory(owner=cast.owner, team=cast.team, overdue=True)
    client.force_login(cast.owner)
    response = client.get(reverse("pipeline:my_tasks"), {"bucket": "overdue", "after": cursor_text([None, None])})
    assert response.status_code == 200 and len(response.context["page"].items) == 1
    response = client.get(reverse("pipeline:my_tasks"), {"bucket": "__class__"})
    assert response.status_code == 200 and "bucket" not in response.context


@pytest.mark.parametrize("related", ["²", "٣", "1" * 40])
def test_a_quick_task_for_a_malformed_record_is_not_added(client, cast, related):
    client.force_login(cast.owner)
    data = {"kind": "task", "title": "回电", "due_at": "2030-01-02T10:00", "company": related}
    response = client.post(reverse("pipeline:task_quick_add"), data)
    assert response.status_code in (302, 404) and not Task.objects.exists()


@pytest.mark.parametrize("due", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_a_task_due_at_the_ends_of_the_calendar_is_a_form_error(client, cast, due):
    client.force_login(cast.owner)
    data = {"kind": "task", "title": "回电", "due_at": due, "duration_minutes": "30"}
    response = client.post(reverse("pipeline:task_create"), data)
    assert response.status_code == 400
    assert f"is not between {shown(EARLIEST_DATE)} and {shown(LATEST_DATE)}" in response.content.decode()
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "NaN"),
        ("amount", "Infinity"),
        ("amount", "-Infinity"),
        ("amount", "1e999999"),
        ("company", "1" * 40),
        ("probability", "9" * 40),
        ("expected_close_date", "9999-12-31"),
        ("next_step_date", "0001-01-01"),
    ],
)
def test_a_deal_with_an_impossible_value_is_a_form_error(client, cast, field, value):
    company = make_company(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    data = {
        "name": "Server refresh",
        "company": company.pk,
        "pipeline": new_business().pk,
        "stage": stage("Prospecting").pk,
        "amount": "12000",
        "currency": "CNY",
        field: value,
    }
    response = client.post(reverse("pipeline:opportunity_create"), data)
    assert response.status_code == 400 and not Opportunity.objects.exists()


@pytest.mark.parametrize(("field", "value"), [("amount", "Infinity"), ("expected_close_date", "9999-12-31")])
def test_converting_a_lead_with_an_impossible_value_is_a_form_error(client, cast, field, value):
    lead = LeadFactory(owner=cast.owner, team=cast.team, qualified=True)
    client.force_login(cast.owner)
    data = {"company": "new", "contact": "new", "opportunity_name": "首单", "amount": "100", field: value}
    response = client.post(reverse("pipeline:lead_convert", args=[lead.pk]), data)
    assert response.status_code == 400 and not Opportunity.objects.exists()


@pytest.mark.parametrize("year", ["²", "1" * 40, "-5", "NaN"])
def test_the_quota_grid_takes_any_year(client, cast, year):
    client.force_login(cast.manager)
    response = client.get(reverse("pipeline:quotas"), {"year": year})
    assert response.status_code == 200 and IGNORED in response.content.decode()


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "1e999999", "-1", "1.234"])
def test_an_impossible_quota_is_refused_and_nothing_is_saved(client, cast, amount):
    client.force_login(cast.manager)
    response = client.post(reverse("pipeline:quotas"), {"year": "2030", f"q-{cast.owner.pk}-1": amount})
    assert response.status_code == 400 and "is not an amount" in response.content.decode()
    assert not Quota.objects.exists()
