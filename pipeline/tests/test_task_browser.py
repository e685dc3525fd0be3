"""In a browser: add a task from a company page without leaving it, find it in My tasks and the
calendar, complete it, and read the forecast chart; accessible and within the CSP."""

import re
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from crm.tests.browser import (
    BROWSER_TEST,
    PASSWORD,
    ConsoleProblems,
    assert_accessible,
    expect,
    phone_fits,
    shot,
    sign_in,
)
from pipeline.models import Opportunity, Quota, Task
from pipeline.tests.opportunity_helpers import make_company, stage

pytestmark = BROWSER_TEST


def _later_this_week():
    """Ahead of now, but in this week and this month, whatever day the test runs: the week and
    month views must both show it (a day ahead falls into next week on a Sunday)."""
    now = timezone.localtime()
    week_end = (now + timedelta(days=7 - now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    month_end = (now.replace(day=28) + timedelta(days=4)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return max(now + timedelta(minutes=1), min(now + timedelta(days=1), week_end, month_end) - timedelta(minutes=5))


def test_quick_add_my_tasks_calendar_and_forecast(live_server, context):
    team = make_team("华东销售")
    rep = make_user(role=roles.SALES_REP, username="xiaoming", password=PASSWORD, first_name="小明", last_name="李")
    add_to_team(rep, team)
    company = make_company(owner=rep, team=team, name="星河科技有限公司")
    Task.objects.create(
        owner=rep, team=team, title="Overdue follow-up", due_at=timezone.now() - timedelta(hours=3), company=company
    )
    Task.objects.create(owner=rep, team=team, title="Kick-off meeting", kind="meeting", due_at=_later_this_week())
    today = timezone.localdate()
    won = stage("Won")
    for amount, stage_name, won_at in (("120000", "Won", timezone.now()), ("80000", "Negotiation", None)):
        s = stage(stage_name)
        Opportunity.objects.create(
            name=f"Deal {amount}",
            owner=rep,
            team=team,
            company=company,
            pipeline=won.pipeline,
            stage=s,
            amount=Decimal(amount),
            expected_close_date=today,
            won_at=won_at,
        )
    Quota.objects.create(user=rep, month=date(today.year, today.month, 1), amount=Decimal("200000"))

    problems = ConsoleProblems()
    page = problems.watch(context.new_page())
    sign_in(page, live_server.url, "xiaoming")

    page.goto(f"{live_server.url}{company.get_absolute_url()}")
    panel = page.locator("#tasks-panel")
    expect(panel.get_by_role("link", name="Overdue follow-up")).to_be_visible()
    panel.get_by_label("Title").fill("Send the 报价单")
    panel.get_by_label("Type").select_option("call")
    panel.get_by_role("button", name="Add task").click()
    expect(page.locator("#tasks-panel").get_by_role("link", name="Send the 报价单")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(company.get_absolute_url()) + "$"))  # no page change
    assert_accessible(page, "company page with tasks panel")
    shot(page, "tasks-panel-desktop")

    page.get_by_role("navigation", name="Main navigation").get_by_role("link", name="My tasks").click()
    expect(page.get_by_role("heading", name="Overdue")).to_be_visible()
    overdue = page.get_by_role("region", name="Overdue")
    expect(overdue.get_by_role("link", name="Overdue follow-up")).to_be_visible()
    assert_accessible(page, "my tasks")
    shot(page, "my-tasks-desktop")
    overdue.get_by_role("button", name=re.compile("Done.*Overdue follow-up")).click()
    expect(page.get_by_text("Task completed.")).to_be_visible()
    expect(overdue.get_by_role("link", name="Overdue follow-up")).to_have_count(0)

    page.goto(f"{live_server.url}/pipeline/calendar/")
    expect(page.get_by_role("link", name=re.compile("Kick-off meeting")).first).to_be_visible()
    assert_accessible(page, "calendar month")
    shot(page, "calendar-month-desktop")
    page.get_by_role("link", name="Week").click()
    expect(page.get_by_role("link", name=re.compile("Kick-off meeting"))).to_be_visible()
    assert_accessible(page, "calendar week")
    shot(page, "calendar-week-desktop")

    page.goto(f"{live_server.url}/pipeline/calendar/feed/")
    page.get_by_role("button", name="Make my calendar address").click()
    expect(page.get_by_label("Your calendar address (shown only now)")).to_have_value(re.compile(r"\.ics$"))
    assert_accessible(page, "calendar feed")
    shot(page, "calendar-feed-desktop")

    page.goto(f"{live_server.url}/pipeline/forecast/")
    expect(page.locator("[data-metric=won]")).to_have_text("120,000.00")
    page.wait_for_function("Chart.getChart(document.getElementById('forecast-chart')) !== undefined")
    assert_accessible(page, "forecast")
    shot(page, "forecast-desktop")

    page.set_viewport_size({"width": 375, "height": 740})
    for path, name in (
        ("/pipeline/tasks/", "my-tasks"),
        ("/pipeline/calendar/", "calendar"),
        ("/pipeline/forecast/", "forecast"),
    ):
        page.goto(f"{live_server.url}{path}")
        assert phone_fits(page), f"{name} scrolls sideways on a phone"
        shot(page, f"{name}-phone")
    assert not problems, problems
