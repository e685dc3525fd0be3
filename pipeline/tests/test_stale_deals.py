"""Stale deals: no activity for STALE_DEAL_DAYS or longer in a stage than its limit."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline.models import Opportunity
from pipeline.opportunity_selectors import is_stale, stale_opportunities
from pipeline.tests.opportunity_helpers import make_company, make_opportunity, new_business, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(cast, settings):
    settings.STALE_DEAL_DAYS = 30
    company = make_company(owner=cast.owner, team=cast.team)
    fresh = make_opportunity(owner=cast.owner, team=cast.team, company=company, name="Fresh")
    quiet = make_opportunity(owner=cast.owner, team=cast.team, company=company, name="Quiet")
    stuck = make_opportunity(owner=cast.owner, team=cast.team, company=company, name="Stuck", stage_name="Negotiation")
    won = make_opportunity(owner=cast.owner, team=cast.team, company=company, name="Closed", stage_name="Won")
    now = timezone.now()
    Opportunity.objects.filter(pk=quiet.pk).update(last_activity_at=now - timedelta(days=31))
    # Negotiation allows 14 days in the stage.
    Opportunity.objects.filter(pk=stuck.pk).update(stage_changed_at=now - timedelta(days=15))
    Opportunity.objects.filter(pk=won.pk).update(last_activity_at=now - timedelta(days=90))
    return {o.name: Opportunity.objects.select_related("stage").get(pk=o.pk) for o in (fresh, quiet, stuck, won)}


def test_detection(deals):
    assert {name for name, o in deals.items() if is_stale(o)} == {"Quiet", "Stuck"}


def test_needs_attention_lists_them_for_those_who_see_them(client, cast, deals):
    assert set(stale_opportunities(user=cast.owner).values_list("name", flat=True)) == {"Quiet", "Stuck"}
    assert not stale_opportunities(user=cast.outsider).exists()
    client.force_login(cast.owner)
    body = client.get(reverse("pipeline:attention")).content.decode()
    assert "Quiet" in body and "Stuck" in body and "Fresh" not in body
    assert "Longer than 14 days in this stage" in body and "No activity for 30 days" in body


def test_board_flags_stale_cards(client, cast, deals):
    client.force_login(cast.owner)
    response = client.get(reverse("pipeline:board", args=[new_business().pk]))
    cards = {c.name: c for column in response.context["columns"] for c in column.cards}
    assert cards["Quiet"].stale and cards["Stuck"].stale and not cards["Fresh"].stale
    assert "Stale" in response.content.decode()


def test_a_move_makes_a_deal_fresh_again(cast, deals):
    from pipeline.opportunities import opportunity_move

    opportunity_move(opportunity=deals["Stuck"], stage=stage("Proposal"), actor=cast.owner)
    assert not is_stale(Opportunity.objects.select_related("stage").get(pk=deals["Stuck"].pk))


def test_attention_query_count_is_fixed(client, cast, deals, django_assert_max_num_queries):
    client.force_login(cast.owner)
    client.get(reverse("pipeline:attention"))
    with django_assert_max_num_queries(20) as captured:
        client.get(reverse("pipeline:attention"))
    baseline = len(captured.captured_queries)
    company = make_company(owner=cast.owner, team=cast.team, name="More")
    for i in range(10):
        make_opportunity(owner=cast.owner, team=cast.team, company=company, name=f"Old {i}")
    Opportunity.objects.filter(name__startswith="Old").update(last_activity_at=timezone.now() - timedelta(days=60))
    with django_assert_max_num_queries(baseline):
        client.get(reverse("pipeline:attention"))
