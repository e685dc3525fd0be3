"""In a real browser, in Chinese and in English: every form with a date opens with its dates
readable by the browser's date input, and saving it untouched changes no date.

In Chinese the inputs once held "2026/12/28", which a date input cannot read: it showed nothing,
and saving an untouched opportunity erased its expected close and next-step dates (and a
transaction's default date, and birthdays). Screenshots of the zh-Hans forms land in
test-artifacts/ for a human to look at.
"""

import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from crm.tests.browser import BROWSER_TEST, PASSWORD, ConsoleProblems, expect, new_context, shot, sign_in
from customers.models import Contact, Transaction
from pipeline.models import Task
from pipeline.task_forms import default_due
from pipeline.tests.opportunity_helpers import make_company, make_opportunity

pytestmark = BROWSER_TEST

LANGUAGES = {
    "zh-Hans": ("zh-CN", {"save": "保存", "record": "记录", "add_task": "添加任务"}),
    "en": ("en-US", {"save": "Save", "record": "Record", "add_task": "Add task"}),
}


def _iso(value: date | datetime) -> str:
    """What a browser's date or datetime-local input holds for a value (local time, seconds if any)."""
    if not isinstance(value, datetime):
        return value.isoformat()
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M:%S" if value.second else "%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_saving_untouched_forms_keeps_every_date(live_server, browser, language):
    locale, words = LANGUAGES[language]
    team = make_team("华东销售")
    rep = make_user(role=roles.SALES_REP, username="meili", password=PASSWORD, first_name="美丽", last_name="王")
    add_to_team(rep, team)
    company = make_company(owner=rep, team=team)
    deal = make_opportunity(
        owner=rep,
        team=team,
        company=company,
        name="云平台扩容",
        expected_close_date=date(2026, 12, 28),
        next_step="报价",
        next_step_date=date(2026, 12, 5),
    )
    contact = Contact.objects.create(
        owner=rep, team=team, company=company, family_name="王", given_name="小明", birthday=date(1990, 9, 5)
    )
    due = timezone.make_aware(datetime(2026, 12, 28, 9, 30, 15))
    task = Task.objects.create(owner=rep, team=team, title="上门拜访", kind="meeting", due_at=due, company=company)

    context = new_context(browser, locale)
    problems = ConsoleProblems()
    page = problems.watch(context.new_page())
    sign_in(page, live_server.url, "meili")
    base = live_server.url

    edit_forms = [
        (
            deal,
            "pipeline:opportunity_edit",
            {"expected_close_date": date(2026, 12, 28), "next_step_date": date(2026, 12, 5)},
        ),
        (contact, "customers:contact_edit", {"birthday": date(1990, 9, 5)}),
        (task, "pipeline:task_edit", {"due_at": due}),
    ]
    for record, route, dates in edit_forms:
        name = record._meta.model_name
        page.goto(base + reverse(route, args=[record.pk]))
        for field, value in dates.items():
            # The input's value as the browser parsed it: "" when it could not read the page's value.
            assert page.locator(f"#id_{field}").input_value() == _iso(value), f"{name}.{field}"
        shot(page, f"dates-{name}-edit-{language}")
        page.get_by_role("button", name=words["save"], exact=True).click()  # nothing touched
        expect(page).to_have_url(re.compile(re.escape(record.get_absolute_url()) + "$"))
        record.refresh_from_db()
        assert {field: getattr(record, field) for field in dates} == dates, f"saving the {name} changed a date"

    # The company page: a transaction's date defaults to today, a quick task's due to tomorrow 9:00.
    page.goto(base + company.get_absolute_url())
    action = reverse("customers:company_transaction_add", args=[company.pk])
    page.locator(f"details:has(form[action='{action}']) > summary").click()
    transaction_form = page.locator(f"form[action='{action}']")
    today = timezone.localdate()
    assert transaction_form.locator("#id_date").input_value() == today.isoformat()
    expected_due = default_due()
    assert page.locator("#quick-task-due").input_value() == _iso(expected_due)
    shot(page, f"dates-company-page-{language}")
    transaction_form.locator("#id_amount").fill("1000")
    transaction_form.get_by_role("button", name=words["record"], exact=True).click()
    expect(page).to_have_url(re.compile(r"#transactions$"))
    assert list(Transaction.objects.filter(company=company).values_list("date", "amount")) == [
        (today, Decimal("1000.00"))
    ]

    panel = page.locator("#tasks-panel")
    panel.locator("#quick-task-title").fill("寄送样品")
    panel.get_by_role("button", name=words["add_task"]).click()
    expect(page.locator("#tasks-panel").get_by_role("link", name="寄送样品")).to_be_visible()
    assert Task.objects.get(title="寄送样品").due_at == expected_due

    # A list filter keeps the dates it was given.
    page.goto(base + reverse("pipeline:opportunity_list") + "?close_from=2026-12-01&close_to=2026-12-31")
    assert page.locator("#id_close_from").input_value() == "2026-12-01"
    assert page.locator("#id_close_to").input_value() == "2026-12-31"
    expect(page.get_by_role("link", name="云平台扩容")).to_be_visible()
    shot(page, f"dates-opportunity-filter-{language}")

    context.close()
    assert not problems, "console errors:\n" + "\n".join(problems)
