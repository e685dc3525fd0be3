"""Opportunity pages: create and edit with customers the user may see, list filters and sorts,
the panel on customer pages, global search and customer merges."""

from decimal import Decimal

import pytest
from django.urls import reverse

from customers.services import contact_create
from customers.tests.factories import ContactFactory
from pipeline.models import Opportunity, StageChange
from pipeline.tests.opportunity_helpers import make_company, make_opportunity, new_business, stage

pytestmark = pytest.mark.django_db


def _form(company, **extra):
    return {
        "name": "Server refresh",
        "company": company.pk,
        "contact": "",
        "pipeline": new_business().pk,
        "stage": "",
        "amount": "12000",
        "currency": "CNY",
        "owner": "",
        "team": "",
        **extra,
    }


def test_create_in_the_pipelines_first_stage(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    response = client.post(reverse("pipeline:opportunity_create"), _form(company, team=cast.team.pk))
    deal = Opportunity.objects.get(name="Server refresh")
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    assert deal.stage == stage("Prospecting") and deal.owner == cast.owner and deal.amount == Decimal("12000")
    assert StageChange.objects.filter(opportunity=deal).count() == 1


def test_a_company_the_user_cannot_see_is_a_form_error(client, cast):
    hidden = make_company(owner=cast.outsider, team=cast.other_team)
    client.force_login(cast.owner)
    response = client.post(reverse("pipeline:opportunity_create"), _form(hidden))
    assert response.status_code == 400 and "No company you can see" in response.content.decode()
    assert not Opportunity.objects.exists()


def test_contact_must_be_visible_and_at_that_company(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    elsewhere = make_company(owner=cast.owner, team=cast.team, name="Other Co")
    contact = contact_create(actor=cast.owner, team=cast.team, family_name="王", given_name="芳", company=elsewhere)
    client.force_login(cast.owner)
    response = client.post(reverse("pipeline:opportunity_create"), _form(company, contact=contact.pk))
    assert response.status_code == 400 and "must work at" in response.content.decode()
    foreign = ContactFactory(owner=cast.outsider, company=company)
    response = client.post(reverse("pipeline:opportunity_create"), _form(company, contact=foreign.pk))
    assert response.status_code == 400 and "No contact you can see" in response.content.decode()
    assert not Opportunity.objects.exists()


def test_bad_input_is_a_form_error_not_a_crash(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    response = client.post(
        reverse("pipeline:opportunity_create"),
        _form(company, amount="lots", currency="yuan", stage=stage("Lost").pk),
    )
    assert response.status_code == 400
    renewals_stage = new_business().stages.model.objects.exclude(pipeline=new_business()).first()
    response = client.post(reverse("pipeline:opportunity_create"), _form(company, stage=renewals_stage.pk))
    assert response.status_code == 400 and "another pipeline" in response.content.decode()


def test_edit_changes_stage_through_the_move(client, cast):
    deal = make_opportunity(owner=cast.owner, team=cast.team)
    client.force_login(cast.owner)
    data = _form(deal.company, name="Renamed", stage=stage("Proposal").pk, team=cast.team.pk)
    response = client.post(reverse("pipeline:opportunity_edit", args=[deal.pk]), data)
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.name == "Renamed" and deal.stage == stage("Proposal")


def test_win_page_records_the_sale(client, cast):
    deal = make_opportunity(owner=cast.owner, team=cast.team, amount="800")
    client.force_login(cast.owner)
    response = client.post(reverse("pipeline:opportunity_win", args=[deal.pk]), {"record_transaction": "on"})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.won_at and deal.company.transactions.get().amount == Decimal("800")


def test_list_filters_and_sorts(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    make_opportunity(owner=cast.owner, team=cast.team, company=company, name="Small", amount="100")
    make_opportunity(owner=cast.owner, team=cast.team, company=company, name="Big", amount="9000")
    client.force_login(cast.owner)
    url = reverse("pipeline:opportunity_list")
    rows = client.get(f"{url}?sort=amount").context["rows"]
    assert [r.name for r in rows] == ["Big", "Small"]
    rows = client.get(f"{url}?amount_min=1000").context["rows"]
    assert [r.name for r in rows] == ["Big"]
    rows = client.get(f"{url}?stage={stage('Prospecting').pk}&q=Small").context["rows"]
    assert [r.name for r in rows] == ["Small"]
    assert client.get(f"{url}?sort=expected_close_date").status_code == 200


def test_list_query_count_is_fixed(client, cast, django_assert_max_num_queries):
    company = make_company(owner=cast.owner, team=cast.team)
    make_opportunity(owner=cast.owner, team=cast.team, company=company)
    client.force_login(cast.manager)
    url = reverse("pipeline:opportunity_list")
    client.get(url)
    with django_assert_max_num_queries(25) as captured:
        client.get(url)
    baseline = len(captured.captured_queries)
    for i in range(15):
        make_opportunity(owner=cast.owner, team=cast.team, company=company, name=f"D{i}")
    with django_assert_max_num_queries(baseline):
        client.get(url)


def test_detail_page_shows_history_and_query_count_is_fixed(client, cast, django_assert_max_num_queries):
    from pipeline.opportunities import opportunity_move

    deal = make_opportunity(owner=cast.owner, team=cast.team)
    # The audit history names each stage it mentions (one lookup per stage, a fixed configuration):
    # start with the stages already in the history, then let the history grow.
    for name in ("Qualification", "Proposal", "Negotiation"):
        opportunity_move(opportunity=deal, stage=stage(name), actor=cast.owner)
    client.force_login(cast.owner)
    client.get(deal.get_absolute_url())
    with django_assert_max_num_queries(40) as captured:
        response = client.get(deal.get_absolute_url())
    assert "Stage history" in response.content.decode()
    baseline = len(captured.captured_queries)
    for name in ("Proposal", "Negotiation", "Qualification", "Proposal", "Negotiation"):
        opportunity_move(opportunity=deal, stage=stage(name), actor=cast.owner)
    with django_assert_max_num_queries(baseline):
        client.get(deal.get_absolute_url())


def test_company_and_contact_pages_show_visible_opportunities(client, cast):
    company = make_company(owner=cast.owner, team=cast.team)
    contact = contact_create(actor=cast.owner, team=cast.team, family_name="李", given_name="娜", company=company)
    make_opportunity(owner=cast.owner, team=cast.team, company=company, name="Mine", contact=contact)
    make_opportunity(owner=cast.admin, company=company, name="Secret deal")
    client.force_login(cast.owner)
    panel = client.get(company.get_absolute_url()).content.decode().split('id="opportunities-panel-heading"')[1]
    panel = panel.split("</div></div>")[0]
    assert "Mine" in panel and "Secret deal" not in panel
    assert "Mine" in client.get(contact.get_absolute_url()).content.decode()


def test_global_search_finds_visible_deals(client, cast):
    make_opportunity(owner=cast.owner, team=cast.team, name="云平台扩容 Cloud expansion")
    client.force_login(cast.owner)
    assert "云平台扩容" in client.get(reverse("search") + "?q=平台").content.decode()
    client.force_login(cast.outsider)
    assert "云平台扩容" not in client.get(reverse("search") + "?q=平台").content.decode()


def test_merging_companies_moves_their_opportunities(cast):
    from customers.merge import company_merge

    keep = make_company(owner=cast.owner, team=cast.team, name="Keep")
    gone = make_company(owner=cast.owner, team=cast.team, name="Gone")
    deal = make_opportunity(owner=cast.owner, team=cast.team, company=gone)
    company_merge(survivor=keep, merged=gone, field_choices={}, actor=cast.owner)
    assert Opportunity.objects.get(pk=deal.pk).company == keep


def test_company_list_filters_by_open_opportunity_the_user_may_see(client, cast):
    from customers.tests.factories import CompanyFactory
    from pipeline.tests.opportunity_helpers import make_opportunity

    with_deal = CompanyFactory(name="有商机公司", owner=cast.owner, team=cast.team)
    CompanyFactory(name="无商机公司", owner=cast.owner, team=cast.team)
    make_opportunity(owner=cast.owner, team=cast.team, company=with_deal)
    hidden_deal_company = CompanyFactory(name="别人的商机", owner=cast.owner, team=cast.team)
    hidden = make_opportunity(owner=cast.owner, team=cast.team, company=hidden_deal_company)
    type(hidden).objects.filter(pk=hidden.pk).update(owner=cast.outsider, team=cast.other_team)
    client.force_login(cast.owner)
    names = {c.name for c in client.get("/customers/companies/?open_opportunity=yes").context["rows"]}
    assert names == {"有商机公司"}  # another team's deal on a visible company does not count
    names = {c.name for c in client.get("/customers/companies/?open_opportunity=no").context["rows"]}
    assert names == {"无商机公司", "别人的商机"}
    assert "open_opportunity" in client.get("/customers/companies/").context["filter_form"].fields
