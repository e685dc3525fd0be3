"""A person signs in, finds their way around in English and Chinese, on a desktop and a phone,
and signs out; every page passes an automated accessibility check and breaks no CSP rule.

Screenshots land in test-artifacts/ for a human to look at.
"""

import re

from crm import roles
from crm.testing import make_user
from crm.tests.browser import BROWSER_TEST, PASSWORD, ConsoleProblems, assert_accessible, expect, phone_fits, shot

pytestmark = BROWSER_TEST


def test_sign_in_switch_language_and_sign_out(live_server, context):
    make_user(role=roles.SALES_REP, username="meili", password=PASSWORD, first_name="Meili", last_name="Wang")
    problems = ConsoleProblems()
    page = problems.watch(context.new_page())

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_accessible(page, "login page")
    shot(page, "login-en-desktop")

    page.get_by_label("Username").fill("meili")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Welcome, Meili Wang")).to_be_visible()
    htmx_config = page.evaluate("({eval: htmx.config.allowEval, styles: htmx.config.includeIndicatorStyles})")
    assert htmx_config == {"eval": False, "styles": False}, "htmx must run without eval under our CSP"
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    navigation = page.get_by_role("navigation", name="Main navigation")
    expect(navigation.get_by_role("link", name="Companies")).to_be_visible()
    assert_accessible(page, "dashboard")
    shot(page, "dashboard-en-desktop")

    navigation.get_by_role("link", name="Companies").click()
    expect(page.get_by_role("heading", name="Companies")).to_be_visible()
    assert_accessible(page, "company list")
    shot(page, "companies-en-desktop")

    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(re.compile(r"/customers/companies/$"))
    navigation = page.get_by_role("navigation", name="主导航")
    expect(navigation.get_by_text("客户", exact=True)).to_be_visible()
    expect(navigation.get_by_role("link", name="公司")).to_be_visible()
    assert_accessible(page, "company list in Chinese")
    shot(page, "companies-zh-desktop")

    page.goto(f"{live_server.url}/")
    assert_accessible(page, "dashboard in Chinese")
    shot(page, "dashboard-zh-desktop")

    page.goto(f"{live_server.url}/no-such-page/")
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    assert_accessible(page, "page not found")
    shot(page, "not-found-zh-desktop")
    problems.remove(next(p for p in problems if "404" in p))  # the browser reports the 404 itself

    page.set_viewport_size({"width": 375, "height": 740})
    for path, name in (("/", "dashboard"), ("/customers/companies/", "companies")):
        page.goto(f"{live_server.url}{path}")
        assert phone_fits(page), f"{name} scrolls sideways on a phone"
        shot(page, f"{name}-zh-phone")
    page.get_by_role("button", name="打开菜单").click()
    drawer = page.get_by_role("dialog", name="菜单")
    expect(drawer.get_by_role("link", name="公司")).to_be_visible()
    shot(page, "menu-zh-phone")
    drawer.get_by_role("button", name="关闭").click()
    expect(drawer).to_be_hidden()

    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Account menu for meili").click()
    page.get_by_role("link", name="Change password").click()
    expect(page.get_by_label("Old password")).to_be_visible()
    assert_accessible(page, "password change")
    shot(page, "password-change-en-desktop")

    page.set_viewport_size({"width": 375, "height": 740})
    page.get_by_role("button", name="Account menu for meili").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert phone_fits(page)
    assert_accessible(page, "login page on a phone")
    shot(page, "login-en-phone")

    assert not problems, "console errors:\n" + "\n".join(problems)
