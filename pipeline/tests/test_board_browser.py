"""A sales rep drags a deal to the next stage on the board and sees both columns' totals change;
the board, the deal and the opportunity list pass the accessibility check. Screenshots in test-artifacts/."""

import re
from importlib import import_module

import pytest
from django.apps import apps as django_apps

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from crm.tests.browser import BROWSER_TEST, PASSWORD, ConsoleProblems, assert_accessible, expect, shot, sign_in

pytestmark = BROWSER_TEST


@pytest.fixture
def deals(transactional_db):
    from pipeline.models import Pipeline
    from pipeline.tests.opportunity_helpers import make_company, make_opportunity

    if not Pipeline.objects.exists():  # an earlier transactional test may have flushed the seeded rows
        import_module("pipeline.migrations.0002_defaults_and_search").seed(django_apps, None)
    rep = make_user(role=roles.SALES_REP, username="meili", password=PASSWORD, first_name="Meili", last_name="Wang")
    team = make_team("华东销售")
    add_to_team(rep, team)
    company = make_company(owner=rep, team=team, name="华为技术有限公司")
    first = make_opportunity(owner=rep, team=team, company=company, name="数据中心扩容", amount="120000")
    make_opportunity(owner=rep, team=team, company=company, name="办公网络升级", amount="30000")
    make_opportunity(owner=rep, team=team, company=company, name="安全审计", amount="45000", stage_name="Qualification")
    return first


def drag(page, source, target):
    """Mouse steps SortableJS follows (a synthetic drag_to can be too quick for it)."""
    box = source.bounding_box()
    goal = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 12)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(
            box["x"] + box["width"] / 2 + (goal["x"] + goal["width"] / 2 - box["x"] - box["width"] / 2) * step / 10,
            box["y"] + 12 + (goal["y"] + 30 - box["y"] - 12) * step / 10,
        )
        page.wait_for_timeout(30)
    page.mouse.up()


def test_drag_a_card_to_the_next_stage_and_see_the_totals_change(live_server, context, deals):
    from pipeline.models import Opportunity
    from pipeline.tests.opportunity_helpers import stage

    problems = ConsoleProblems()
    page = problems.watch(context.new_page())
    sign_in(page, live_server.url, "meili")
    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Board", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Board:"))).to_be_visible()
    prospecting, qualification = stage("Prospecting"), stage("Qualification")
    source_stats = page.locator(f"#column-stats-{prospecting.pk}")
    target_stats = page.locator(f"#column-stats-{qualification.pk}")
    expect(source_stats).to_contain_text("150,000")
    expect(target_stats).to_contain_text("45,000")
    assert_accessible(page, "board")
    shot(page, "pipeline-board-before")

    card = page.locator(f"#card-{deals.pk}")
    drag(page, card, page.locator(f'[data-stage-cards][data-stage="{qualification.pk}"]'))

    expect(source_stats).to_contain_text("30,000")
    expect(target_stats).to_contain_text("165,000")
    expect(page.locator(f'[data-stage="{qualification.pk}"] #card-{deals.pk}')).to_be_visible()
    assert Opportunity.objects.get(pk=deals.pk).stage == qualification
    shot(page, "pipeline-board-after")

    # Dropping on the lost column without a reason is refused with the reason, and the card comes back.
    page.set_viewport_size({"width": 1920, "height": 900})  # every column on screen
    lost = stage("Lost")
    drag(page, page.locator(f"#card-{deals.pk}"), page.locator(f'[data-stage-cards][data-stage="{lost.pk}"]'))
    expect(page.locator("#messages")).to_contain_text("needs a lost reason")
    expect(page.locator(f'[data-stage="{qualification.pk}"] #card-{deals.pk}')).to_be_visible()
    assert Opportunity.objects.get(pk=deals.pk).stage == qualification
    shot(page, "pipeline-board-refused")

    page.locator(f"#card-{deals.pk}").get_by_role("link", name="数据中心扩容").click()
    expect(page.get_by_role("heading", name=re.compile("数据中心扩容"))).to_be_visible()
    expect(page.get_by_role("heading", name="Stage history")).to_be_visible()
    assert_accessible(page, "opportunity detail")
    shot(page, "pipeline-opportunity-detail")

    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="Opportunities", exact=True).click()
    expect(page.get_by_role("heading", name=re.compile("Opportunities"))).to_be_visible()
    assert_accessible(page, "opportunity list")
    shot(page, "pipeline-opportunity-list")
    # The browser logs the refused move's 400 answer; nothing else may go wrong.
    unexpected = [p for p in problems if "status of 400" not in p]
    assert not unexpected, unexpected
