"""A rep qualifies a lead, converts it onto the customer we already have, and lands on the new deal;
a visitor fills in the public form. Lead pages pass an accessibility check and break no CSP rule.

Screenshots land in test-artifacts/ for a human to look at.
"""

import re

import pytest

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from crm.tests.browser import BROWSER_TEST, PASSWORD, ConsoleProblems, assert_accessible, expect, shot, sign_in

pytestmark = BROWSER_TEST


@pytest.fixture
def sales(transactional_db):
    from customers.tests.factories import CompanyFactory
    from pipeline.leads import lead_create
    from pipeline.models import LeadSource, ScoringRule, WebForm

    rep = make_user(role=roles.SALES_REP, username="meili", password=PASSWORD, first_name="Meili", last_name="Wang")
    team = make_team("华东销售")
    add_to_team(rep, team)
    company = CompanyFactory(name="星河科技有限公司", city="深圳", owner=rep, team=team)
    ScoringRule.objects.create(name="Referral", kind="field", field="source", value="referral", points=30)
    lead = lead_create(
        actor=rep,
        owner=rep,
        team=team,
        family_name="李",
        given_name="雷",
        company_name="星河科技有限公司",
        city="深圳",
        title="采购总监",
        email="lei.li@xinghe.example",
        mobile="13912345678",
        source=LeadSource.objects.get(code="referral"),
    )
    lead_create(actor=rep, owner=rep, team=team, family_name="赵", given_name="敏", company_name="远山贸易")
    WebForm.objects.create(
        name="Contact us",
        slug="contact",
        fields=["family_name", "company_name", "email", "notes"],
        required_fields=["family_name", "email"],
        team=team,
        title="联系我们",
        thank_you_text="谢谢！",
    )
    return rep, company, lead


def test_qualify_and_convert_a_lead_onto_an_existing_company(live_server, context, sales):
    from pipeline.models import Lead

    rep, company, lead = sales
    problems = ConsoleProblems()
    page = problems.watch(context.new_page())
    sign_in(page, live_server.url, "meili")

    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Leads").click()
    expect(page.get_by_role("heading", name="Leads")).to_be_visible()
    expect(page.locator("#list-rows tr").first).to_contain_text("李雷")  # highest score first
    assert_accessible(page, "lead list")
    shot(page, "leads-list-en-desktop")

    page.get_by_role("link", name="李雷").click()
    expect(page.get_by_role("heading", level=1, name="李雷")).to_be_visible()
    expect(page.get_by_text("139****5678")).to_be_visible()
    page.get_by_role("button", name="Qualify", exact=True).click()
    expect(page.locator("#lead-status")).to_have_text("Qualified")
    assert_accessible(page, "lead detail")
    shot(page, "lead-detail-en-desktop")

    page.get_by_role("link", name="Convert", exact=True).click()
    expect(page.get_by_role("heading", name="Convert 李雷")).to_be_visible()
    existing = page.get_by_label("Use existing: 星河科技有限公司")
    expect(existing).to_be_checked()  # the customer we already have is offered first
    page.get_by_label("Amount").fill("80000")
    assert_accessible(page, "lead convert")
    shot(page, "lead-convert-en-desktop")
    page.get_by_role("button", name="Convert lead").click()

    lead.refresh_from_db()
    assert lead.status == Lead.Status.CONVERTED and lead.converted_company == company
    expect(page).to_have_url(re.compile(rf"/pipeline/opportunities/{lead.converted_opportunity_id}/$"))
    expect(page.get_by_text("Lead converted.")).to_be_visible()
    shot(page, "lead-converted-opportunity-en-desktop")
    assert not problems, problems


def test_public_web_form(live_server, context, sales):
    from pipeline.models import Lead

    problems = ConsoleProblems()
    page = problems.watch(context.new_page())
    page.goto(f"{live_server.url}/pipeline/forms/contact/")
    expect(page.get_by_role("heading", name="联系我们")).to_be_visible()
    assert_accessible(page, "web form")
    shot(page, "web-form-en-desktop")
    page.get_by_label("Family name").fill("周")
    expect(page.get_by_label("Message")).to_be_visible()
    page.get_by_label("Email").fill("zhou@example.com")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("谢谢！")).to_be_visible()
    assert Lead.objects.filter(email="zhou@example.com").exists()
    assert not problems, problems
