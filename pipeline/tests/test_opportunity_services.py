"""Opportunity services: stage moves with history, won and lost rules, timeline, sale on win."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from customers.models import Interaction, Transaction
from pipeline.models import Opportunity, Pipeline, StageChange
from pipeline.opportunities import opportunity_lose, opportunity_move, opportunity_update, opportunity_win
from pipeline.tests.opportunity_helpers import lost_reason, make_opportunity, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(cast):
    return make_opportunity(owner=cast.owner, team=cast.team, amount="5000")


def test_create_opens_in_the_stage_with_history_and_a_timeline_entry(cast, deal):
    assert deal.stage == stage("Prospecting")
    change = StageChange.objects.get(opportunity=deal)
    assert change.from_stage is None and change.to_stage == deal.stage and change.actor == cast.owner
    entry = Interaction.objects.get(company=deal.company, kind="opportunity")
    assert deal.name in entry.summary and entry.link == deal.get_absolute_url()


def test_move_records_history_and_writes_the_timeline(cast, deal):
    target = stage("Proposal")
    opportunity_move(opportunity=deal, stage=target, actor=cast.owner)
    deal.refresh_from_db()
    assert deal.stage == target
    change = StageChange.objects.filter(opportunity=deal).order_by("-id").first()
    assert (change.from_stage, change.to_stage, change.actor) == (stage("Prospecting"), target, cast.owner)
    summaries = list(
        Interaction.objects.filter(company=deal.company, kind="opportunity").values_list("summary", flat=True)
    )
    assert any("Proposal" in s for s in summaries)


def test_move_to_another_pipelines_stage_is_refused(cast, deal):
    renewals = Pipeline.objects.get(name__contains="Renewals")
    with pytest.raises(ValidationError):
        opportunity_move(opportunity=deal, stage=renewals.stages.first(), actor=cast.owner)
    deal.refresh_from_db()
    assert deal.stage == stage("Prospecting")
    assert StageChange.objects.filter(opportunity=deal).count() == 1


def test_lost_needs_a_reason_and_records_it(cast, deal):
    with pytest.raises(ValidationError):
        opportunity_move(opportunity=deal, stage=stage("Lost"), actor=cast.owner)
    assert Opportunity.objects.get(pk=deal.pk).lost_at is None
    opportunity_lose(opportunity=deal, actor=cast.owner, lost_reason=lost_reason())
    deal.refresh_from_db()
    assert deal.lost_at is not None and deal.lost_reason == lost_reason() and deal.won_at is None


def test_win_sets_won_at_writes_the_timeline_and_can_record_the_sale(cast, deal):
    opportunity_win(opportunity=deal, actor=cast.owner, record_transaction=True)
    deal.refresh_from_db()
    assert deal.won_at is not None and deal.stage.kind == "won"
    sale = Transaction.objects.get(company=deal.company)
    assert sale.amount == Decimal("5000") and sale.reference == f"OPP-{deal.pk}"
    deal.company.refresh_from_db()
    assert deal.company.lifetime_value == Decimal("5000")
    assert Interaction.objects.filter(company=deal.company, kind="opportunity", summary__contains="won").exists()


def test_win_without_the_sale_records_no_transaction(cast, deal):
    opportunity_win(opportunity=deal, actor=cast.owner)
    assert not Transaction.objects.filter(company=deal.company).exists()


def test_reopening_a_won_deal_clears_won_at(cast, deal):
    opportunity_win(opportunity=deal, actor=cast.owner)
    opportunity_move(opportunity=deal, stage=stage("Negotiation"), actor=cast.owner)
    deal.refresh_from_db()
    assert deal.won_at is None and deal.lost_at is None


@pytest.mark.parametrize("who", ["teammate", "outsider", "auditor"])
def test_move_by_someone_who_may_not_change_it_is_refused(cast, deal, who):
    with pytest.raises(PermissionDenied):
        opportunity_move(opportunity=deal, stage=stage("Proposal"), actor=getattr(cast, who))
    assert Opportunity.objects.get(pk=deal.pk).stage == stage("Prospecting")


def test_manager_moves_the_teams_deal(cast, deal):
    opportunity_move(opportunity=deal, stage=stage("Proposal"), actor=cast.manager)
    assert Opportunity.objects.get(pk=deal.pk).stage == stage("Proposal")


def test_an_edit_that_moves_the_deal_out_of_reach_is_refused(cast, deal):
    with pytest.raises((PermissionDenied, ValidationError)):
        opportunity_update(opportunity=deal, actor=cast.owner, owner=cast.outsider, team=cast.other_team)
    deal.refresh_from_db()
    assert deal.owner == cast.owner


def test_edit_with_a_stage_goes_through_the_move(cast, deal):
    opportunity_update(opportunity=deal, actor=cast.owner, amount=Decimal("7000"), stage=stage("Negotiation"))
    deal.refresh_from_db()
    assert deal.amount == Decimal("7000") and deal.stage == stage("Negotiation")
    assert StageChange.objects.filter(opportunity=deal).count() == 2
