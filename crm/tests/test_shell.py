"""The layout every page shares: navigation, user menu, messages, language, error pages."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse

from crm import roles, views
from crm.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep_client(client):
    client.force_login(make_user(role=roles.SALES_REP, first_name="Meili", last_name="Wang"))
    return client


def test_dashboard_greets_the_user_and_lists_what_they_may_open(rep_client):
    page = rep_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(r"Welcome, <[^>]*>Meili Wang<", page), "the name is marked as user data inside the sentence"
    assert 'aria-label="Main navigation"' in page
    assert reverse("customers:company_list") in page
    assert "Audit log" not in page  # a sales rep may not read the audit trail


def test_pages_render_in_chinese_for_a_chinese_browser(rep_client):
    page = rep_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "工作台" in page
    assert "客户" in page
    assert "公司" in page
    assert "退出登录" in page


def test_language_switcher_offers_the_other_language_in_its_own_name(client):
    english = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'value="zh-hans"' in english and "简体中文" in english
    assert 'value="en"' in chinese and "English" in chinese
    assert reverse("set_language") in english


def test_switching_language_keeps_the_user_on_their_page(rep_client):
    path = reverse("customers:company_list")
    response = rep_client.post(reverse("set_language"), {"language": "zh-hans", "next": path})
    assert response.status_code == 302
    assert response["Location"] == path
    assert "公司" in rep_client.get(path).content.decode()


def test_sign_in_page_has_no_navigation_and_sign_out_is_a_post(rep_client):
    login = Client().get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Main navigation" not in login
    assert 'autocomplete="current-password"' in login
    page = rep_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'<form method="post" action="{reverse("logout")}">' in page


def test_flash_messages_can_be_dismissed(rep_client):
    rep_client.post(reverse("profile"), {"first_name": "Meili", "last_name": "Wang", "email": "", "language": ""})
    page = rep_client.get(reverse("profile"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your profile was saved." in page
    assert 'data-bs-dismiss="alert"' in page


def test_pages_carry_no_inline_script_or_style(rep_client):
    """The CSP allows scripts and styles from our own files only."""
    for response in (rep_client.get(reverse("home")), Client().get(reverse("login"))):
        page = response.content.decode()
        assert "script-src 'self'" in response["Content-Security-Policy"]
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
        assert " style=" not in page
        assert "<style" not in page
        assert '"allowEval": false' in page
        assert "X-CSRFToken" in page  # htmx requests send the CSRF token


def test_missing_page_is_friendly(rep_client):
    response = rep_client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "Back to the dashboard" in response.content.decode()


def test_server_error_page_needs_nothing_but_the_template():
    response = views.server_error(RequestFactory().get("/"))
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page or "出错了" in page
    assert f"{settings.STATIC_URL}css/error.css".lstrip("/") in page
    assert " style=" not in page


VENDOR = Path(settings.BASE_DIR) / "static" / "vendor"


def test_vendored_libraries_are_pinned_and_present():
    manifest = json.loads((VENDOR / "VERSIONS.json").read_text())["packages"]
    assert manifest["htmx.org"]["version"].startswith("2.0.")
    assert manifest["bootstrap"]["version"].startswith("5.3.")
    for spec in manifest.values():
        assert spec["integrity"].startswith("sha512-")
        for target in spec["files"].values():
            path = VENDOR / spec["dest"] / target
            assert path.is_file(), path
            if path.suffix in (".js", ".css"):
                # Maps are not shipped; a dangling reference breaks collectstatic.
                assert b"sourceMappingURL" not in path.read_bytes(), path


@pytest.mark.django_db
def test_language_switcher_wins_over_the_profile_language(client):
    from crm.testing import make_user

    user = make_user(language="zh-hans")
    client.force_login(user)
    assert client.get("/").wsgi_request.LANGUAGE_CODE == "zh-hans"
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert client.get("/").wsgi_request.LANGUAGE_CODE == "en"
