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


SERIOUS = ("critical", "serious")
MODERATE = ("critical", "serious", "moderate")


def accessibility_problems(page, impacts=SERIOUS) -> list[str]:
    """axe's violations of at least the given impacts, one line each."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v["impact"] in impacts
    ]


def assert_accessible(page, name, impacts=SERIOUS):
    problems = accessibility_problems(page, impacts)
    assert not problems, f"accessibility problems on {name}:\n" + "\n".join(problems)


# The visible and hidden interface text of a page, without what users typed: elements marked
# translate="no" (user data: names, notes, summaries), form values, code and scripts.
_INTERFACE_TEXT_JS = """() => {
  const skip = "script, style, noscript, template, code, pre, kbd, samp, textarea, select, [translate=no]";
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (text && !node.parentElement.closest(skip)) texts.push(text);
  }
  // A form control's label may hold the record it acts on ("Select 华为"): only its placeholder counts.
  for (const el of document.querySelectorAll("[title], [aria-label], [placeholder], img[alt]")) {
    if (el.closest(skip)) continue;
    if (el.matches("input") && el.hasAttribute("aria-label") && !el.hasAttribute("placeholder")) continue;
    for (const attr of ["title", "aria-label", "placeholder", "alt"]) {
      const value = (el.getAttribute(attr) || "").trim();
      if (value) texts.push(value);
    }
  }
  return texts;
}"""


def interface_texts(page) -> list[str]:
    """Every piece of interface text on the page (see _INTERFACE_TEXT_JS)."""
    return page.evaluate(_INTERFACE_TEXT_JS)


def shot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def phone_fits(page):
    # Two frames let resize observers (Chart.js) catch up with a viewport just made narrower.
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    return page.evaluate("document.scrollingElement.scrollWidth") <= 375


def overflowing(page) -> list[str]:
    """The elements that reach past the viewport's right edge outside any scroll box, innermost
    first: the culprit is usually the first one named."""
    return page.evaluate("""() => {
      const width = document.documentElement.clientWidth, found = [];
      const sticksOut = (el) => el.getBoundingClientRect().right > width + 1;
      for (const el of document.body.querySelectorAll("*")) {
        if (!sticksOut(el) || [...el.children].some(sticksOut)) continue;
        let parent = el.parentElement, scrolled = false;
        for (; parent && parent !== document.body; parent = parent.parentElement) {
          if (getComputedStyle(parent).overflowX !== "visible") { scrolled = true; break; }
        }
        const classes = typeof el.className === "string" ? el.className.trim().split(/\\s+/).join(".") : "";
        const name = `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}.${classes}`;
        if (!scrolled) found.push(`${name}: ${el.textContent.slice(0, 40)}`);
      }
      return found.slice(0, 3);
    }""")


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
