"""A person signs in, finds their way around in English and Chinese, on a desktop and a phone,
and signs out; every page passes an automated accessibility check and breaks no CSP rule.

Screenshots land in test-artifacts/ for a human to look at.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

from crm import roles
from crm.testing import make_user

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + Playwright's event loop

playwright_api = pytest.importorskip("playwright.sync_api")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")
expect = playwright_api.expect

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
PASSWORD = "a-long-browser-test-passphrase"

pytestmark = [
    pytest.mark.browser,
    # live_server runs in another thread, so the data must be committed; reload the
    # migrations' data (roles) that an earlier transactional test may have flushed.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


@pytest.fixture
def browser(transactional_db):
    # Start Playwright only after the database is set up: its event loop gives Django a fresh
    # connection object, which would skip the serialized rollback's reload (an empty database
    # after an earlier transactional test) and its flush without post_migrate.
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def context(browser):
    ARTIFACTS.mkdir(exist_ok=True)
    # Reduced motion turns off Bootstrap's transitions: no half-open drawers in screenshots.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US", reduced_motion="reduce")
    context.set_default_timeout(10_000)
    yield context
    context.close()


class ConsoleProblems(list):
    """Console errors (CSP violations, failed loads, script errors) seen by a page."""

    def watch(self, page):
        page.on("console", lambda msg: msg.type == "error" and self.append(msg.text))
        page.on("pageerror", lambda error: self.append(str(error)))
        return page


def assert_accessible(page, name):
    results = axe_module.Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("critical", "serious")]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}" for v in serious
    )
    assert not serious, f"accessibility problems on {name}:\n{report}"


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def phone_fits(page):
    return page.evaluate("document.scrollingElement.scrollWidth") <= 375


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
