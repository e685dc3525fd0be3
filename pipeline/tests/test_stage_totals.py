"""The stage totals the board and the forecast add up: kept exact through every way a deal
changes, equal to counting the deals for every viewer and filter, recounted by `reconcile`."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from freezegun import freeze_time

from crm.permissions import restrict
from crm.services import record_share
from crm.writes import bulk_assign_owner
from pipeline.board import column_totals, pipeline_stages, totals_queryset
from pipeline.forecast import Period, _rows_from_deals, forecast
from pipeline.models import NO_MONTH, Opportunity, StageTotal
from pipeline.opportunities import opportunity_delete, opportunity_move, opportunity_update
from pipeline.stage_totals import reconcile, whole_months
from pipeline.tests.opportunity_helpers import lost_reason, make_opportunity, new_business, stage

pytestmark = pytest.mark.django_db

FILTERS = ["", "this_month", "next_month", "this_quarter", "next_quarter", "this_year", "overdue"]


def counted(user, filters):
    pipeline = new_business()
    stages = pipeline_stages(pipeline)
    return {
        row["stage_id"]: (row["n"], row["total"], row["weighted"].quantize(Decimal("0.01")))
        for row in totals_queryset(user=user, pipeline=pipeline, stages=stages, filters=filters)
    }


def summed(user, filters):
    pipeline = new_business()
    columns = column_totals(user=user, pipeline=pipeline, stages=pipeline_stages(pipeline), filters=filters)
    return {c.stage.pk: (c.count, c.total, c.weighted) for c in columns if c.count}


def assert_board_matches_the_deals(cast):
    for who in (*cast.as_dict().values(), cast.share_viewer):
        for close in FILTERS:
            for extra in ({}, {"team": cast.team}, {"owner": cast.owner}):
                filters = {"close": close, **extra}
                assert summed(who, filters) == counted(who, filters), (who.username, filters)


@pytest.fixture
def deals(cast):
    today = timezone.localdate()
    made = [
        make_opportunity(owner=cast.owner, team=cast.team, amount="1000.50", expected_close_date=today),
        make_opportunity(
            owner=cast.owner,
            team=cast.team,
            amount="2000",
            stage_name="Proposal",
            expected_close_date=today.replace(day=1),
        ),
        make_opportunity(
            owner=cast.owner, team=cast.team, amount="300", probability=80, expected_close_date=today + timedelta(40)
        ),
        make_opportunity(owner=cast.teammate, team=cast.team, amount="700", expected_close_date=today - timedelta(45)),
        make_opportunity(owner=cast.outsider, team=cast.other_team, amount="9999", stage_name="Negotiation"),
        make_opportunity(owner=cast.manager, amount="55", expected_close_date=today - timedelta(1)),
    ]
    record_share(obj=made[4], recipient=cast.share_viewer, level="view", actor=cast.outsider)
    record_share(obj=made[4], recipient=cast.owner, level="view", actor=cast.outsider)
    return made


def test_the_board_sums_equal_counting_the_deals_for_every_viewer_and_filter(cast, deals):
    assert StageTotal.objects.exists()
    assert_board_matches_the_deals(cast)
    assert reconcile() == 0


def test_every_way_a_deal_changes_keeps_the_totals_exact(cast, deals):
    first, second, third, teammates, outsiders, managers = deals
    opportunity_update(opportunity=first, actor=cast.owner, amount=Decimal("1234.56"), probability=35)
    opportunity_update(
        opportunity=second, actor=cast.owner, expected_close_date=timezone.localdate() + timedelta(days=70)
    )
    opportunity_move(opportunity=third, stage=stage("Won"), actor=cast.owner)
    opportunity_move(opportunity=teammates, stage=stage("Lost"), actor=cast.manager, lost_reason=lost_reason())
    # A save naming only some fields: the others keep what the row holds, not what memory holds.
    stale = Opportunity.objects.get(pk=outsiders.pk)
    Opportunity.objects.filter(pk=outsiders.pk).update(amount=Decimal("1"))  # behind everyone's back
    stale.name = "renamed"
    stale.save(update_fields=["name"])
    assert reconcile() == 1  # the plain UPDATE above is the one thing the cells could not see
    bulk_assign_owner(
        queryset=Opportunity.objects.filter(team=cast.team), actor=cast.manager, data={"owner": cast.manager}
    )
    opportunity_delete(opportunity=managers, actor=cast.manager)
    assert reconcile() == 0
    assert_board_matches_the_deals(cast)


def test_the_forecast_from_the_totals_equals_the_forecast_from_the_deals(cast, deals):
    today = timezone.localdate()
    opportunity_move(opportunity=deals[2], stage=stage("Won"), actor=cast.owner)
    for kind in ("month", "quarter"):
        period = Period(kind, today.year, today.month if kind == "month" else (today.month - 1) // 3 + 1)
        for who in (*cast.as_dict().values(), cast.share_viewer):
            from_cells = forecast(user=who, period=period)
            rows = _rows_from_deals(
                restrict(Opportunity.objects.all(), who),
                period,
                from_cells.threshold,
            )
            total = from_cells.total
            assert (total.open, total.commit, total.won, total.deals) == (
                sum((r["open"] for r in rows), Decimal(0)),
                sum((r["commit"] for r in rows), Decimal(0)),
                sum((r["won"] for r in rows), Decimal(0)),
                sum(r["deals"] for r in rows),
            ), (who.username, kind)
            assert total.weighted == sum((r["weighted"] / 100 for r in rows), Decimal(0)).quantize(Decimal("0.01"))


def test_a_won_deal_counts_in_the_month_it_was_won_in_the_companys_time_zone(cast):
    deal = make_opportunity(owner=cast.owner, team=cast.team, amount="100")
    with freeze_time("2030-01-31 17:00:00+00:00"):  # 2030-02-01 01:00 in Shanghai
        opportunity_move(opportunity=deal, stage=stage("Won"), actor=cast.owner)
    assert StageTotal.objects.get(deals=1, stage=stage("Won")).won_month == date(2030, 2, 1)
    assert forecast(user=cast.owner, period=Period("month", 2030, 2)).total.won == Decimal("100")
    assert forecast(user=cast.owner, period=Period("month", 2030, 1)).total.won == Decimal("0")


def test_reconcile_recounts_what_was_written_without_the_services(cast, deals):
    Opportunity.objects.filter(pk=deals[0].pk).update(stage=stage("Negotiation"), won_at=timezone.now())
    StageTotal.objects.create(stage=stage("Won"), owner_key=999_999, deals=3, amount=Decimal("5"))
    assert reconcile() == 3  # the deal's old cell, its new one, the made-up one
    assert not StageTotal.objects.filter(owner_key=999_999).exists()
    assert not StageTotal.objects.filter(deals=0).exists()
    assert reconcile() == 0
    assert_board_matches_the_deals(cast)


def test_the_board_reads_a_fixed_number_of_queries_whatever_the_deals(cast, deals, django_assert_num_queries):
    pipeline = new_business()
    stages = pipeline_stages(pipeline)
    column_totals(user=cast.admin, pipeline=pipeline, stages=stages, filters={})  # user facts, cached
    with django_assert_num_queries(1):
        column_totals(user=cast.admin, pipeline=pipeline, stages=stages, filters={})
    for i in range(5):
        make_opportunity(owner=cast.owner, team=cast.team, amount=str(10 + i))
    with django_assert_num_queries(1):
        column_totals(user=cast.admin, pipeline=pipeline, stages=stages, filters={"close": "this_quarter"})


def test_whole_months_and_odd_days():
    assert whole_months(date(2030, 1, 1), date(2030, 3, 31)) == ((date(2030, 1, 1), date(2030, 3, 1)), [])
    assert whole_months(date(2030, 1, 15), date(2030, 3, 31)) == (
        (date(2030, 2, 1), date(2030, 3, 1)),
        [(date(2030, 1, 15), date(2030, 1, 31))],
    )
    assert whole_months(date.min, date(2030, 5, 9)) == (
        (NO_MONTH, date(2030, 4, 1)),
        [(date(2030, 5, 1), date(2030, 5, 9))],
    )
    assert whole_months(date(2030, 2, 3), date(2030, 2, 20)) == (None, [(date(2030, 2, 3), date(2030, 2, 20))])
    assert whole_months(date(2030, 12, 31), date(2031, 2, 28)) == (
        (date(2031, 1, 1), date(2031, 2, 1)),
        [(date(2030, 12, 31), date(2030, 12, 31))],
    )


@pytest.mark.django_db(transaction=True)
def test_moves_in_opposite_directions_at_once_lose_nothing(cast):
    """Two writers moving deals between the same two cells, each the other way round: the
    cells are locked in key order, so neither deadlocks nor loses the other's change."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    a = [make_opportunity(owner=cast.owner, team=cast.team, amount="10") for _ in range(6)]
    b = [make_opportunity(owner=cast.owner, team=cast.team, amount="10", stage_name="Proposal") for _ in range(6)]
    errors = []

    def move(deals, to):
        try:
            for deal in deals:
                opportunity_move(opportunity=deal, stage=stage(to), actor=cast.owner)
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=move, args=(a, "Proposal")),
        threading.Thread(target=move, args=(b, "Prospecting")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert reconcile() == 0
