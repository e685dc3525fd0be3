"""A qualified lead becomes company + contact + opportunity in one step, reusing customers we already
have instead of creating duplicates, and the lead remembers what it became."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from customers.models import Company, Contact, Interaction
from customers.services import contact_create
from customers.tests.factories import CompanyFactory
from pipeline.leads import lead_convert, lead_set_status
from pipeline.models import Lead, Opportunity, StageChange
from pipeline.tests.lead_helpers import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def qualified(cast):
    lead = make_lead(
        owner=cast.owner,
        team=cast.team,
        company_name="星河科技有限公司",
        city="深圳",
        email="lei.li@xinghe.example",
        mobile="13912345678",
    )
    return lead_set_status(lead=lead, actor=cast.owner, status=Lead.Status.QUALIFIED)


def test_convert_creates_company_contact_and_opportunity_in_the_first_open_stage(cast, qualified):
    lead = lead_convert(lead=qualified, actor=cast.owner, opportunity_name="星河 CRM", amount=50000)
    assert lead.status == Lead.Status.CONVERTED and lead.converted_at
    company, contact, opportunity = lead.converted_company, lead.converted_contact, lead.converted_opportunity
    assert company.name == "星河科技有限公司" and company.owner == cast.owner and company.team == cast.team
    assert contact.company == company and contact.mobile == "13912345678"
    assert opportunity.company == company and opportunity.contact == contact and opportunity.source_lead == lead
    assert opportunity.pipeline.is_default and opportunity.stage.kind == "open" and opportunity.stage.order == 0
    assert StageChange.objects.filter(opportunity=opportunity, from_stage=None).count() == 1
    assert Interaction.objects.filter(company=company, summary__startswith="Converted from lead").exists()


def test_convert_uses_the_existing_company_and_contact_picked(cast, qualified):
    company = CompanyFactory(name="星河科技有限公司", city="深圳", owner=cast.owner, team=cast.team)
    contact = contact_create(actor=cast.owner, team=cast.team, family_name="李", given_name="雷", company=company)
    companies, contacts = Company.objects.count(), Contact.objects.count()
    lead = lead_convert(lead=qualified, actor=cast.owner, company=company, contact=contact)
    assert (Company.objects.count(), Contact.objects.count()) == (companies, contacts)
    assert lead.converted_company == company and lead.converted_contact == contact


def test_only_a_qualified_lead_converts_and_only_once(cast, qualified):
    lead_convert(lead=qualified, actor=cast.owner)
    with pytest.raises(ValidationError):
        lead_convert(lead=qualified, actor=cast.owner)
    assert Opportunity.objects.count() == 1
    fresh = make_lead(owner=cast.owner, team=cast.team)
    with pytest.raises(ValidationError):
        lead_convert(lead=fresh, actor=cast.owner)


def test_convert_page_offers_visible_duplicates_only(client, cast, qualified):
    mine = CompanyFactory(name="星河科技有限公司", city="深圳", owner=cast.owner, team=cast.team)
    hidden = CompanyFactory(name="星河科技有限公司", city="深圳", owner=cast.outsider, team=cast.other_team)
    client.force_login(cast.owner)
    url = reverse("pipeline:lead_convert", args=[qualified.pk])
    response = client.get(url)
    choices = dict(response.context["form"].fields["company"].choices)
    assert str(mine.pk) in choices and str(hidden.pk) not in choices
    # A hand-made post naming the hidden company is refused and changes nothing.
    response = client.post(url, {"company": hidden.pk, "contact": "new", "opportunity_name": "X", "amount": "0"})
    assert response.status_code == 400
    assert Lead.objects.get(pk=qualified.pk).status == Lead.Status.QUALIFIED
    response = client.post(url, {"company": mine.pk, "contact": "new", "opportunity_name": "X", "amount": "10"})
    lead = Lead.objects.get(pk=qualified.pk)
    assert response.status_code == 302 and response["Location"] == lead.converted_opportunity.get_absolute_url()
    assert lead.converted_company == mine and Company.objects.filter(name="星河科技有限公司").count() == 2


def test_contact_matched_by_email_is_offered(client, cast, qualified):
    company = CompanyFactory(name="别的公司", owner=cast.owner, team=cast.team)
    contact = contact_create(
        actor=cast.owner, team=cast.team, given_name="Lei", email="LEI.LI@xinghe.example", company=company
    )
    client.force_login(cast.owner)
    response = client.get(reverse("pipeline:lead_convert", args=[qualified.pk]))
    assert str(contact.pk) in dict(response.context["form"].fields["contact"].choices)
