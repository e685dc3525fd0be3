"""A newcomer's tour: every page the navigation reaches, and one record of each list, as each demo
role, in Chinese and in English, at desktop width and on a 375 px phone.

Each page must answer without a server error, fit the phone without sideways scrolling, pass
axe down to moderate problems, and speak one language: in Chinese no English word of our
catalogue outside user data (elements marked translate="no"), in English none of our Chinese
translations. Problems are collected over the whole tour and reported together; screenshots of
each page (once per language and width) land in test-artifacts/tour-*.png.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from crm import roles
from crm.demo import seed_demo
from crm.tests.browser import (
    BROWSER_TEST,
    MODERATE,
    PASSWORD,
    accessibility_problems,
    interface_texts,
    new_context,
    overflowing,
    phone_fits,
    shot,
    sign_in,
)
from crm.tests.test_translations import po_entries

pytestmark = [*BROWSER_TEST, pytest.mark.slow]

LANGUAGES = {"zh-hans": "zh-CN", "en": "en-US"}
# ASCII words a Chinese page may show: names of formats, products and standards.
ALLOWED = {"CRM", "CSV", "XLSX", "vCard", "URL", "ID", "CNY", "USD", "EUR", "HTTP", "IP", "API", "RFM", "SLA"}
ALLOWED |= {"Excel", "PostgreSQL", "SQLite", "Django", "Celery", "Redis", "iCalendar", "ics", "TOTP", "Outlook"}
ALLOWED |= {"English", "QQ", "WeChat"}  # the language switcher names each language in itself
ALLOWED |= {"IMAP", "SMTP", "SSL", "TLS"}  # mail protocols, as Chinese mail settings name them too
ALLOWED |= {"HTML"}  # an e-mail's HTML part, as Chinese mail tools call it
EMAIL_OR_URL = re.compile(r"\S+@\S+|https?://\S+|/\S*")
CJK = re.compile(r"[\u3400-\u9fff]")
# Routes whose pages are files or feeds, not screens.
NOT_SCREENS = re.compile(r"/(export|download|feed|ics)\b")
DETAIL = re.compile(r"/\d+/$")
ADMIN_LIST = re.compile(r"^/admin/\w+/\w+/$")
RECORD_ACTION = re.compile(r"/(share|merge)/")
MERGE_CHOICE = re.compile(r"/merge/\?other=\d+$")


def _catalogue_words():
    """English words of our interface (from the msgids) and our Chinese phrases (the msgstrs)."""
    path = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    words, phrases = set(), set()
    for _flags, msgid, plural, strs in po_entries(path):
        text = re.sub(r"%\(\w+\)\w|\{\w*\}|<[^>]+>", " ", f"{msgid} {plural or ''}")
        words.update(w.lower() for w in re.findall(r"[A-Za-z]{3,}", text))
        for msgstr in strs:
            phrase = re.sub(r"%\(\w+\)\w", "", msgstr).strip()
            if len(CJK.findall(phrase)) >= 3 and "%" not in phrase:
                phrases.add(phrase)
    return words, phrases


def _untranslated(texts, language, words, phrases, user):
    """Interface words of the other language; the signed-in user's own names are theirs."""
    found = set()
    for text in texts:
        for own in (user.get_full_name(), user.get_username(), user.first_name, user.last_name):
            text = text.replace(own, " ") if own else text
        if language == "en":
            found.update(p for p in phrases if p in text)
            continue
        for word in re.findall(r"[A-Za-z][A-Za-z'-]+", EMAIL_OR_URL.sub(" ", text)):
            if word not in ALLOWED and word.lower() in words:
                found.add(f"{word} (in “{text[:60]}”)")
    return sorted(found)


def _tour_users():
    users = []
    for role in roles.ROLES:
        group = Group.objects.get(name=role)
        user = group.user_set.filter(is_active=True).order_by("username").first()
        if user is not None:
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
            users.append(user)
    return users


def _pages(page):
    """The links of the navigation, but for files and feeds."""
    links = page.eval_on_selector_all("nav.crm-nav a.nav-link", "els => els.map(e => e.getAttribute('href'))")
    return [link for link in dict.fromkeys(links) if not NOT_SCREENS.search(link)]


def _first_record(page):
    hrefs = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))")
    return next((href for href in hrefs if DETAIL.search(href.split("?")[0])), None)


def _links(page, pattern):
    hrefs = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [href for href in dict.fromkeys(hrefs) if pattern.search(href)]


def _admin_lists(page):
    hrefs = page.eval_on_selector_all("#content-main th a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [href for href in dict.fromkeys(hrefs) if ADMIN_LIST.match(href)]


def test_every_page_as_every_role_in_both_languages(browser, live_server, settings):
    settings.HEALTHZ_CHECK_CELERY = False
    seed_demo(admin_password=PASSWORD)
    users = _tour_users()
    assert len(users) >= 6, [u.username for u in users]
    words, phrases = _catalogue_words()
    problems, seen_axe, seen_shot, visited = [], set(), set(), 0

    def check(page, url, who, language):
        nonlocal visited
        visited += 1
        response = page.goto(f"{live_server.url}{url}")
        where = f"{url} as {who.username} in {language}"
        if response is None or response.status >= 500:
            problems.append(f"{where}: HTTP {response and response.status}")
            return
        if ADMIN_LIST.match(url):
            # Django's and the packages' own change lists: we check what we declare, the columns.
            texts = page.eval_on_selector_all("#result_list thead th", "els => els.map(e => e.textContent.trim())")
            problems.extend(f"{where}: untranslated {w}" for w in _untranslated(texts, language, words, phrases, who))
            return
        for word in _untranslated(interface_texts(page), language, words, phrases, who):
            problems.append(f"{where}: untranslated {word}")
        template = re.sub(r"\d+", "N", url)
        for width in (1280, 375):
            page.set_viewport_size({"width": width, "height": 800})
            if width == 375 and not phone_fits(page):
                problems.append(f"{where}: wider than a 375 px phone: {overflowing(page)}")
            if (template, language, width) not in seen_axe:
                seen_axe.add((template, language, width))
                problems.extend(f"{where} at {width} px: {p}" for p in accessibility_problems(page, MODERATE))
            if (template, language, width) not in seen_shot:
                seen_shot.add((template, language, width))
                name = re.sub(r"[^a-z0-9]+", "-", template.lower()).strip("-") or "home"
                shot(page, f"tour-{language}-{width}-{name}")
        page.set_viewport_size({"width": 1280, "height": 800})

    for user in users:
        for language, locale in LANGUAGES.items():
            context = new_context(browser, locale)
            context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
            page = context.new_page()
            sign_in(page, live_server.url, user.username)
            pages = _pages(page)
            details = []
            for url in pages:
                check(page, url, user, language)
                record = _first_record(page)
                if record and record not in details:
                    details.append(record)
                if url == "/admin/":  # the settings screens: their column headers too
                    details.extend(_admin_lists(page))
            for url in details:
                check(page, url, user, language)
                if DETAIL.search(url):  # its sharing dialog and merge page, where it has them
                    for action in _links(page, RECORD_ACTION):
                        check(page, action, user, language)
                        details.extend(link for link in _links(page, MERGE_CHOICE)[:1] if link not in details)
            context.close()

    assert visited > 50
    assert not problems, f"{len(problems)} problems on {visited} pages:\n" + "\n".join(problems)
