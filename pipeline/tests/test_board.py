"""The kanban board: per-stage counts and totals, first cards and "more", moves through the endpoint."""

from decimal import Decimal

import pytest
from django.urls import reverse

from pipeline.models import Opportunity
from pipeline.tests.opportunity_helpers import make_company, make_opportunity, new_business, stage

pytestmark = pytest.mark.django_db


def _board(client, **params):
    from urllib.parse import urlencode

    url = reverse("pipeline:board", args=[new_business().pk])
    return client.get(f"{url}?{urlencode(params)}" if params else url)


def _column(response, name_part):
    return next(c for c in response.context["columns"] if name_part in c.stage.name)


def test_columns_count_total_and_weighted_total(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    make_opportunity(owner=cast.owner, team=cast.team, company=company, amount="1000")  # 10%
    make_opportunity(owner=cast.owner, team=cast.team, company=company, amount="2000")  # 10%
    make_opportunity(owner=cast.owner, team=cast.team, company=company, amount="4000", probability=50)
    make_opportunity(owner=cast.owner, team=cast.team, company=company, amount="500", stage_name="Proposal")
    make_opportunity(owner=cast.outsider, team=cast.other_team, amount="99999")  # not visible to the owner
    client.force_login(cast.owner)
    response = _board(client)
    first = _column(response, "Prospecting")
    assert (first.count, first.total, first.weighted) == (3, Decimal("7000"), Decimal("2300.00"))
    proposal = _column(response, "Proposal")
    assert (proposal.count, proposal.total, proposal.weighted) == (1, Decimal("500"), Decimal("250.00"))
    assert _column(response, "Won").count == 0


def test_filters_narrow_cards_and_totals(client, cast):
    make_opportunity(owner=cast.owner, team=cast.team, amount="1000")
    make_opportunity(owner=cast.manager, team=cast.team, amount="3000")
    client.force_login(cast.manager)
    assert _column(_board(client), "Prospecting").count == 2
    narrowed = _column(_board(client, owner=cast.owner.pk), "Prospecting")
    assert (narrowed.count, narrowed.total) == (1, Decimal("1000"))
    assert _column(_board(client, close="overdue"), "Prospecting").count == 0


def test_board_query_count_is_fixed(client, cast, django_assert_max_num_queries):
    company = make_company(owner=cast.owner, team=cast.team)
    make_opportunity(owner=cast.owner, team=cast.team, company=company)
    client.force_login(cast.manager)
    _board(client)
    with django_assert_max_num_queries(20) as captured:
        _board(client)
    baseline = len(captured.captured_queries)
    for i in range(30):
        make_opportunity(
            owner=cast.owner,
            team=cast.team,
            company=company,
            amount=str(100 + i),
            stage_name=["Prospecting", "Proposal"][i % 2],
        )
    with django_assert_max_num_queries(baseline):
        response = _board(client)
    assert _column(response, "Prospecting").count == 16


def test_first_cards_by_amount_then_more_by_keyset(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    for i in range(25):
        make_opportunity(owner=cast.owner, team=cast.team, company=company, amount=str(1000 + i), name=f"Deal {i:02d}")
    client.force_login(cast.owner)
    column = _column(_board(client), "Prospecting")
    assert [c.name for c in column.cards][:2] == ["Deal 24", "Deal 23"] and len(column.cards) == 20
    assert column.more is not None
    url = reverse("pipeline:board_more", args=[new_business().pk, column.stage.pk])
    more = client.get(f"{url}?amount={column.more[0]}&id={column.more[1]}", HTTP_HX_REQUEST="true")
    body = more.content.decode()
    assert [f"Deal {i:02d}" in body for i in range(5)] == [True] * 5 and "Deal 05" not in body
    assert "<html" not in body
    assert client.get(f"{url}?amount={column.more[0]}&id={column.more[1]}").status_code == 200


def test_move_through_htmx_returns_fresh_column_totals(client, cast):
    deal = make_opportunity(owner=cast.owner, team=cast.team, amount="4000")
    client.force_login(cast.owner)
    url = reverse("pipeline:opportunity_move", args=[deal.pk])
    response = client.post(url, {"stage": stage("Proposal").pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="column-stats-{stage("Proposal").pk}"' in body and 'hx-swap-oob="true"' in body
    assert "4,000" in body and "2,000" in body  # total and 50% weighted in the Proposal column
    assert Opportunity.objects.get(pk=deal.pk).stage == stage("Proposal")


def test_move_to_lost_without_reason_is_refused_with_a_clear_message(client, cast):
    deal = make_opportunity(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    url = reverse("pipeline:opportunity_move", args=[deal.pk])
    response = client.post(url, {"stage": stage("Lost").pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and "lost reason" in response.content.decode()
    assert Opportunity.objects.get(pk=deal.pk).stage == stage("Prospecting")


def test_refused_move_explains_itself_to_the_board(client, cast):
    deal = make_opportunity(owner=cast.owner, team=cast.team)
    client.force_login(cast.auditor)
    response = client.post(
        reverse("pipeline:opportunity_move", args=[deal.pk]), {"stage": stage("Proposal").pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 403 and response["Content-Type"].startswith("text/plain")
    assert "may not change" in response.content.decode()


def test_move_without_javascript_redirects_back_to_the_board(client, cast):
    deal = make_opportunity(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    board = reverse("pipeline:board", args=[new_business().pk])
    response = client.post(
        reverse("pipeline:opportunity_move", args=[deal.pk]), {"stage": stage("Proposal").pk, "next": board}
    )
    assert response.status_code == 302 and response["Location"] == board
    bogus = client.post(reverse("pipeline:opportunity_move", args=[deal.pk]), {"stage": "x", "next": "//evil.example"})
    assert bogus.status_code == 302 and bogus["Location"] == deal.get_absolute_url()


def test_card_offers_the_stage_menu_only_when_the_user_may_move_it(client, cast):
    deal = make_opportunity(owner=cast.owner, team=cast.team)
    client.force_login(cast.auditor)
    body = _board(client).content.decode()
    assert deal.name in body and f'id="stage-{deal.pk}"' not in body
    client.force_login(cast.owner)
    assert f'id="stage-{deal.pk}"' in _board(client).content.decode()
