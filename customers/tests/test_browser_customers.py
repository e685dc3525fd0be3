"""A sales rep finds a customer by two characters of its Chinese name, opens it, logs a call without
a page reload, and the customer pages pass an accessibility check in English and Chinese and fit a
phone screen.

Screenshots land in test-artifacts/ for a human to look at.
"""

import re
from datetime import date, timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps as django_apps

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

pytestmark = BROWSER_TEST


@pytest.fixture
def customer(transactional_db):
    from customers.grading import grade_companies
    from customers.services import contact_create, record_interaction, transaction_record
    from customers.tests.factories import CompanyFactory

    # The default grade levels, in case an earlier transactional test flushed the migration's rows.
    import_module("customers.migrations.0004_search_indexes_and_grades").seed_grades(django_apps, None)
    rep = make_user(role=roles.SALES_REP, username="meili", password=PASSWORD, first_name="Meili", last_name="Wang")
    team = make_team("华东销售")
    add_to_team(rep, team)
    company = CompanyFactory(
        name="华为技术有限公司",
        legal_name="华为技术有限公司",
        industry="通信设备",
        website="https://www.huawei.com/cn/",
        province="广东省",
        city="深圳",
        street="龙岗区坂田华为基地",
        owner=rep,
        team=team,
        phone="0755-28780808",
    )
    CompanyFactory(name="华润万家有限公司", owner=rep, team=team, city="深圳")
    contact = contact_create(
        actor=rep,
        team=team,
        family_name="王",
        given_name="小明",
        title="采购经理",
        company=company,
        email="wang.xiaoming@example.com",
        mobile="13800138000",
    )
    for days, amount in ((200, "88000"), (40, "120000"), (5, "56000")):
        transaction_record(
            actor=rep,
            company=company,
            contact=contact,
            date=date.today() - timedelta(days=days),
            amount=Decimal(amount),
            reference=f"SO-{days}",
        )
    record_interaction(kind="meeting", summary="季度业务回顾", actor=rep, company=company, contact=contact)
    grade_companies([company.pk])
    company.refresh_from_db()
    return company, contact


def too_wide(page) -> list[str]:
    """The innermost elements reaching past the right edge of the screen, to say what to fix."""
    return page.evaluate(
        """() => {
            const edge = document.documentElement.clientWidth + 1;
            const wide = e => e.getBoundingClientRect().right > edge;
            return [...document.querySelectorAll('body *')]
                .filter(e => wide(e) && ![...e.children].some(wide))
                .slice(0, 8)
                .map(e => `${e.tagName.toLowerCase()}.${e.className}: ${e.textContent.trim().slice(0, 40)}`);
        }"""
    )


def test_find_a_chinese_company_and_log_a_call(live_server, context, customer):
    company, contact = customer
    problems = ConsoleProblems()
    page = problems.watch(context.new_page())
    sign_in(page, live_server.url, "meili")

    search = page.locator("#global-search")
    search.click()
    search.press_sequentially("为技", delay=80)
    results = page.locator("#global-search-results")
    hit = results.get_by_role("link", name=re.compile("华为技术有限公司"))
    expect(hit).to_be_visible()
    expect(results.get_by_role("link", name=re.compile("华润万家"))).to_have_count(0)
    shot(page, "customers-search-dropdown-en-desktop")
    hit.click()

    expect(page).to_have_url(re.compile(rf"/customers/companies/{company.pk}/$"))
    expect(page.get_by_role("heading", level=1, name=re.compile("华为技术有限公司"))).to_be_visible()
    grade_card = page.get_by_role("region", name="Customer grade")
    expect(grade_card).to_be_visible()
    expect(grade_card).to_contain_text("RFM score 11 of 15")
    expect(grade_card).to_contain_text("一般客户 General")
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    expect(page.locator("#timeline li").first).to_contain_text("季度业务回顾")

    # The quick-add form swaps the timeline in place: a marker on window survives only without a reload.
    page.evaluate("window.__stillTheSamePage = true")
    form = page.locator("#interaction-form")
    form.get_by_label("Type").select_option("call")
    form.get_by_label("Summary").fill("电话沟通续约事宜")
    form.get_by_label("Details").fill("客户希望下周报价。")
    form.get_by_role("button", name="Add").click()
    first_entry = page.locator("#timeline li").first
    expect(first_entry).to_contain_text("电话沟通续约事宜")
    expect(first_entry).to_contain_text("logged a call with 华为技术有限公司")  # a sentence, not "call · name"
    expect(page.locator("#timeline").get_by_role("status")).to_have_text("Added to the history.")
    assert page.evaluate("window.__stillTheSamePage === true"), "adding a note reloaded the page"
    expect(form.get_by_label("Summary")).to_have_value("")  # ready for the next note
    page.evaluate("window.scrollTo(0, 0)")  # else the sticky top bar lands mid-page in the full-page shot
    shot(page, "customers-quick-add-en-desktop")

    assert not problems, "console errors:\n" + "\n".join(problems)


def test_customer_pages_are_accessible_in_both_languages_and_fit_a_phone(
    live_server,
    context,
    customer,
):
    company, contact = customer
    problems = ConsoleProblems()
    page = problems.watch(context.new_page())
    sign_in(page, live_server.url, "meili")
    pages = {
        "company-list": "/customers/companies/",
        "company-detail": company.get_absolute_url(),
        "contact-list": "/customers/contacts/",
        "contact-detail": contact.get_absolute_url(),
    }

    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page, f"{name} in English")
        shot(page, f"customers-{name}-en-desktop")

    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(page, f"{name} in Chinese")
        shot(page, f"customers-{name}-zh-desktop")

    page.set_viewport_size({"width": 375, "height": 740})
    for name in ("company-list", "company-detail", "contact-detail"):
        page.goto(f"{live_server.url}{pages[name]}")
        assert phone_fits(page), f"{name} scrolls sideways on a phone: {too_wide(page)}"
        shot(page, f"customers-{name}-zh-phone")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    for name in ("company-list", "company-detail"):
        page.goto(f"{live_server.url}{pages[name]}")
        assert phone_fits(page), f"{name} scrolls sideways on a phone in English: {too_wide(page)}"
        assert_accessible(page, f"{name} on a phone")
        shot(page, f"customers-{name}-en-phone")

    assert not problems, "console errors:\n" + "\n".join(problems)


def test_a_bulk_action_fetches_its_own_fields_and_runs_in_chinese(live_server, zh_context, customer):
    """Only the chosen bulk action's fields are on the page: choosing another fetches its own."""
    from customers.models import Company, Tag

    Tag.objects.create(name="重点客户")
    company, _contact = customer
    problems = ConsoleProblems()
    page = problems.watch(zh_context.new_page())
    sign_in(page, live_server.url, "meili")
    page.goto(f"{live_server.url}/customers/companies/")
    fields = page.locator("#bulk-fields")
    expect(fields.get_by_label("标签")).to_have_count(0)  # "delete"/first action: no tag field yet
    page.get_by_label("对选中项").select_option(label="添加标签")
    expect(fields.get_by_label("标签")).to_be_visible()
    fields.get_by_label("标签").select_option(label="重点客户")
    page.get_by_role("checkbox", name=re.compile("华为技术有限公司")).check()
    with page.expect_navigation():
        page.get_by_role("button", name="执行").click()
    expect(page.get_by_text("添加标签：1 条记录。")).to_be_visible()
    assert list(Company.objects.get(pk=company.pk).tags.values_list("name", flat=True)) == ["重点客户"]
    assert_accessible(page, "company list with a bulk action chosen (zh)")
    assert not problems, "console errors:\n" + "\n".join(problems)
