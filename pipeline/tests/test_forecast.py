"""Forecast numbers on a small known dataset, per viewer; quotas set by managers only."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.params import BadParameter
from crm.testing import add_to_team, make_user
from pipeline.forecast import Period, forecast, parse_period
from pipeline.models import Quota
from pipeline.tests.factories import OpportunityFactory
from pipeline.tests.opportunity_helpers import stage

pytestmark = pytest.mark.django_db


def deal(owner, team, stage_name, amount, *, close=None, won=None, probability=None):
    return OpportunityFactory(
        name=f"{stage_name} {amount}",
        owner=owner,
        team=team,
        stage=stage(stage_name),
        amount=Decimal(amount),
        expected_close_date=close,
        probability=probability,
        won_at=timezone.make_aware(datetime(*won)) if won else None,
    )


@pytest.fixture
def book(cast):
    o, t = cast.owner, cast.team
    deal(o, t, "Proposal", "1000", close=date(2030, 2, 10))  # 50 %
    deal(o, t, "Negotiation", "2000", close=date(2030, 3, 5))  # 75 %: commit
    deal(o, t, "Prospecting", "500", close=date(2030, 1, 20), probability=80)  # own probability: commit
    deal(o, t, "Won", "3000", won=(2030, 2, 15, 10))
    deal(o, t, "Proposal", "4444", close=date(2030, 5, 1))  # another quarter
    deal(o, t, "Won", "5555", won=(2029, 12, 31, 10))  # last year
    deal(o, t, "Lost", "6666", close=date(2030, 2, 1))  # lost deals are not pipeline
    deal(cast.teammate, t, "Proposal", "700", close=date(2030, 2, 20))
    deal(cast.outsider, cast.other_team, "Negotiation", "9999", close=date(2030, 2, 20))
    for month, amount in ((1, "1000"), (2, "2000"), (3, "3000")):
        Quota.objects.create(user=o, month=date(2030, month, 1), amount=Decimal(amount))
    Quota.objects.create(user=cast.outsider, month=date(2030, 2, 1), amount=Decimal("8000"))
    return cast


def test_parse_period():
    assert parse_period("2030-Q1") == Period("quarter", 2030, 1)
    assert parse_period("2030-02") == Period("month", 2030, 2)
    assert parse_period("") is None
    for malformed in ("2030-13", "<script>", "0000-Q1", "9999-Q4", "0000-01", "2030-Q5"):
        with pytest.raises(BadParameter):
            parse_period(malformed)
    assert Period("quarter", 2030, 4).end == date(2031, 1, 1) and Period("month", 2030, 12).shift(1).key == "2031-01"


def test_the_owners_quarter(book):
    result = forecast(user=book.owner, period=Period("quarter", 2030, 1))
    total = result.total
    assert (total.open, total.weighted, total.commit, total.won) == (
        Decimal("3500"),
        Decimal("2400.00"),
        Decimal("2500"),
        Decimal("3000"),
    )
    assert total.best_case == Decimal("6500") and total.deals == 3
    [line] = result.users
    assert line.quota == Decimal("6000") and line.attainment == Decimal("50.0")


def test_one_month(book):
    total = forecast(user=book.owner, period=Period("month", 2030, 2)).total
    assert (total.open, total.weighted, total.commit, total.won, total.quota) == (
        Decimal("1000"),
        Decimal("500.00"),
        Decimal("0"),
        Decimal("3000"),
        Decimal("2000"),
    )


def test_the_manager_sees_the_team_the_auditor_everyone(book):
    managed = forecast(user=book.manager, period=Period("quarter", 2030, 1))
    assert managed.total.open == Decimal("4200")
    # Every member of the managed team, the manager included, whether or not they have deals.
    assert {line.label for line in managed.users} == {str(book.owner), str(book.teammate), str(book.manager)}
    assert [line.label for line in managed.teams] == [book.team.name]
    everyone = forecast(user=book.auditor, period=Period("quarter", 2030, 1))
    assert everyone.total.open == Decimal("14199") and everyone.total.quota == Decimal("14000")
    outsider_view = forecast(user=book.outsider, period=Period("quarter", 2030, 1))
    assert outsider_view.total.open == Decimal("9999") and outsider_view.total.won == 0


def test_the_commit_threshold_is_a_setting(book, settings):
    settings.FORECAST_COMMIT_THRESHOLD = 50
    assert forecast(user=book.owner, period=Period("quarter", 2030, 1)).total.commit == Decimal("3500")


PAGE = {"owner": 200, "teammate": 200, "manager": 200, "outsider": 200, "auditor": 200, "admin": 200}


@pytest.mark.parametrize("who", list(PAGE))
def test_the_page_shows_only_what_the_viewer_may_see(client, book, who):
    client.force_login(getattr(book, who))
    response = client.get(reverse("pipeline:forecast") + "?period=2030-Q1")
    assert response.status_code == PAGE[who]
    body = response.content.decode()
    assert 'id="forecast-chart-data"' in body and "<script>" not in body.replace('<script src="', "")
    assert ("9,999" in body) == (who in ("outsider", "auditor", "admin"))


def test_the_page_is_closed_to_roles_without_deals_and_to_strangers(client, book):
    assert client.get(reverse("pipeline:forecast")).status_code == 302
    client.force_login(make_user(role="Support agent"))
    assert client.get(reverse("pipeline:forecast")).status_code == 403
    assert client.get(reverse("pipeline:quotas")).status_code == 403


def test_a_team_filter_offers_only_the_viewers_teams(client, book):
    client.force_login(book.owner)
    response = client.get(reverse("pipeline:forecast") + f"?period=2030-Q1&team={book.other_team.pk}")
    assert list(response.context["teams"]) == [book.team]
    assert response.context["team"] is None  # a team out of reach is ignored, not shown


def test_forecast_query_count_is_fixed(client, book, django_assert_max_num_queries):
    client.force_login(book.manager)
    url = reverse("pipeline:forecast") + "?period=2030-Q1"
    client.get(url)
    with django_assert_max_num_queries(14) as captured:
        client.get(url)
    baseline = len(captured.captured_queries)
    for i in range(10):
        deal(book.teammate, book.team, "Proposal", str(100 + i), close=date(2030, 1, 5))
        deal(make_user(), book.team, "Won", "10", won=(2030, 1, 9, 9))
    with django_assert_max_num_queries(baseline):
        client.get(url)


# --- Quotas ------------------------------------------------------------------------------------

QUOTA_POST = {"owner": 403, "teammate": 403, "manager": 302, "outsider": 403, "auditor": 403, "admin": 302}


@pytest.mark.parametrize("who", list(QUOTA_POST))
def test_who_may_set_the_owners_quota(client, cast, who):
    Quota.objects.create(user=cast.owner, month=date(2030, 1, 1), amount=Decimal("1000"))
    client.force_login(getattr(cast, who))
    before = list(Quota.objects.values())
    response = client.post(
        reverse("pipeline:quotas"), {"year": "2030", f"q-{cast.owner.pk}-1": "1500", f"q-{cast.owner.pk}-2": "900"}
    )
    assert response.status_code == QUOTA_POST[who]
    if QUOTA_POST[who] == 302:
        assert dict(Quota.objects.filter(user=cast.owner).values_list("month", "amount")) == {
            date(2030, 1, 1): Decimal("1500"),
            date(2030, 2, 1): Decimal("900"),
        }
    else:
        assert list(Quota.objects.values()) == before


def test_quota_page_rows_and_clearing(client, cast):
    Quota.objects.create(user=cast.owner, month=date(2030, 3, 1), amount=Decimal("1000"))
    client.force_login(cast.manager)
    rows = client.get(reverse("pipeline:quotas") + "?year=2030").context["rows"]
    assert {row["user"] for row in rows} == {cast.manager, cast.owner, cast.teammate}
    assert {row["user"] for row in rows if row["editable"]} == {cast.owner, cast.teammate}
    response = client.post(reverse("pipeline:quotas"), {"year": "2030", f"q-{cast.owner.pk}-3": ""})
    assert response.status_code == 302 and not Quota.objects.exists()
    client.force_login(cast.owner)
    [own] = client.get(reverse("pipeline:quotas") + "?year=2030").context["rows"]
    assert own["user"] == cast.owner and not own["editable"]


def test_a_bad_amount_is_a_form_error_and_nothing_is_saved(client, cast):
    client.force_login(cast.manager)
    response = client.post(
        reverse("pipeline:quotas"),
        {"year": "2030", f"q-{cast.owner.pk}-1": "1500", f"q-{cast.owner.pk}-2": "lots", f"q-{cast.owner.pk}-3": "-5"},
    )
    assert response.status_code == 400 and "is not an amount" in response.content.decode()
    assert not Quota.objects.exists()


def test_quota_changes_are_audited(client, cast):
    from auditlog.models import LogEntry

    client.force_login(cast.manager)
    client.post(reverse("pipeline:quotas"), {"year": "2030", f"q-{cast.owner.pk}-1": "1500"})
    quota = Quota.objects.get()
    assert LogEntry.objects.get_for_object(quota).get().actor == cast.manager


def test_every_member_has_a_line_and_each_team_its_members_quota(book):
    """A manager's forecast lists each member of the team, also one with no deal and no quota,
    and the team table shows the members' quotas added up and the team's attainment."""
    quiet = make_user(username="quiet.rep")
    add_to_team(quiet, book.team)
    Quota.objects.create(user=book.teammate, month=date(2030, 2, 1), amount=Decimal("1000"))
    result = forecast(user=book.manager, period=Period("quarter", 2030, 1))
    lines = {line.label: line for line in result.users}
    assert str(quiet) in lines and lines[str(quiet)].quota is None and lines[str(quiet)].won == 0
    assert lines[str(book.teammate)].quota == Decimal("1000") and lines[str(book.teammate)].attainment == 0
    [team_line] = result.teams
    assert team_line.quota == Decimal("7000") and team_line.won == Decimal("3000")
    assert team_line.attainment == Decimal("42.9")
