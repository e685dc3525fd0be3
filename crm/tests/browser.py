"""What every browser test shares: Debian's chromium driven by Playwright against `live_server`,
the accessibility check, console-problem watching, screenshots and signing in.

Loaded as a pytest plugin by the root conftest, so `browser` and `context` are fixtures everywhere;
a browser test module sets `pytestmark = BROWSER_TEST` and imports the helpers it uses.
Screenshots land in test-artifacts/ for a human to look at.
"""

import os
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + Playwright's event loop

try:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # the browser tests skip themselves below
    Axe = expect = sync_playwright = None

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "a-long-browser-test-passphrase"

BROWSER_TEST = [
    pytest.mark.browser,
    # live_server runs in another thread, so the data must be committed.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        sync_playwright is None or not Path(CHROMIUM).exists(), reason="needs Playwright and Debian's chromium"
    ),
]


@pytest.fixture
def browser(transactional_db):
    # Start Playwright only after the database is set up: its event loop gives Django a fresh
    # connection object, which would skip the serialized rollback's reload (an empty database
    # after an earlier transactional test) and its flush without post_migrate.
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def new_context(browser, locale="en-US"):
    """A desktop-sized browser context whose pages ask for `locale` (Accept-Language)."""
    ARTIFACTS.mkdir(exist_ok=True)
    # Reduced motion turns off Bootstrap's transitions: no half-open drawers in screenshots.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale, reduced_motion="reduce")
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def context(browser):
    context = new_context(browser)
    yield context
    context.close()


@pytest.fixture
def zh_context(browser):
    """A browser set to Chinese, as most of our users' are."""
    context = new_context(browser, "zh-CN")
    yield context
    context.close()


class ConsoleProblems(list):
    """Console errors (CSP violations, failed loads, script errors) seen by a page."""

    def watch(self, page):
        page.on("console", lambda msg: msg.type == "error" and self.append(msg.text))
        page.on("pageerror", lambda error: self.append(str(error)))
        return page


def assert_accessible(page, name):
    results = Axe().run(page)
    serious = [v for v in results.response["violations"] if v["impact"] in ("critical", "serious")]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}" for v in serious
    )
    assert not serious, f"accessibility problems on {name}:\n{report}"


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def phone_fits(page):
    return page.evaluate("document.scrollingElement.scrollWidth") <= 375


def sign_in(page, base_url, username, password=PASSWORD, *, heading=None):
    """Sign in through the form and wait for the page after it (the dashboard unless `heading`)."""
    page.goto(f"{base_url}/accounts/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("#id_password").press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if heading:
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    return page
