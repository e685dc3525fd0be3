"""Every string a user can read has a Chinese translation, and Chinese pages use it."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from crm import roles
from crm.testing import make_user

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdfr]")


def po_entries(path):
    """(flags, msgid, msgid_plural, [msgstr...]) for each entry but the header."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        flags, fields, current = "", {}, None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags += line
            elif line.startswith("#"):
                continue
            elif match := re.match(r'(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', line):
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            strs = [value for key, value in fields.items() if key.startswith("msgstr")]
            entries.append((flags, fields["msgid"], fields.get("msgid_plural"), strs))
    return entries


def test_every_string_has_a_chinese_translation():
    entries = po_entries(CATALOGUE)
    assert len(entries) > 100
    untranslated = [msgid for flags, msgid, _, strs in entries if not strs or not all(strs)]
    fuzzy = [msgid for flags, msgid, _, _ in entries if "fuzzy" in flags]
    assert not untranslated, "untranslated (run `make messages` and fill them in):\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy (check and confirm them):\n" + "\n".join(fuzzy)


def test_translations_keep_their_placeholders():
    for _flags, msgid, plural, strs in po_entries(CATALOGUE):
        wanted = set(PLACEHOLDER.findall(msgid)) | set(PLACEHOLDER.findall(plural or ""))
        for msgstr in strs:
            assert set(PLACEHOLDER.findall(msgstr)) == wanted, msgid


@pytest.mark.django_db
def test_a_chinese_browser_sees_chinese_navigation(client):
    client.force_login(make_user(role=roles.SALES_REP))
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    nav = page[page.index('<nav class="crm-nav') : page.index("</nav>")]
    assert "客户" in nav
    assert "公司" in nav
    assert "Companies" not in nav


@pytest.mark.django_db
def test_sign_in_form_errors_are_in_chinese(client):
    response = client.post(
        reverse("login"), {"username": "nobody", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "请输入一个正确的" in response.content.decode()  # Django's own zh_Hans catalogue
