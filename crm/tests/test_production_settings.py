"""Production settings pass Django's deployment checklist and send the security headers."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

from crm.sentry import scrub_event
from crm.testing import make_user

# What an operator sets; everything else must default to a safe production value.
_PASSED_THROUGH = ("DATABASE_URL", "REDIS_URL", "FIELD_ENCRYPTION_KEYS", "FIELD_BLIND_INDEX_KEY", "PATH", "LANG")


@pytest.mark.slow
def test_deploy_check_passes_with_production_environment():
    environment = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
    environment.update(
        DJANGO_SETTINGS_MODULE="crm.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="crm.example.com",
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


@pytest.mark.django_db
def test_pages_send_a_strict_content_security_policy(client):
    client.force_login(make_user())

    response = client.get("/")

    assert response.status_code == 200
    policy = dict(
        directive.strip().split(" ", 1) for directive in response["Content-Security-Policy"].split(";") if directive
    )
    assert policy["script-src"].split() == ["'self'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert policy["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_the_sign_in_page_sends_the_policy_too(client):
    response = client.get("/accounts/login/")

    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_error_reports_carry_no_cookies_credentials_or_form_data():
    event = {
        "request": {
            "url": "https://crm.example.com/customers/?q=13800138000",
            "method": "POST",
            "query_string": "q=13800138000",
            "cookies": {"sessionid": "abc", "csrftoken": "def"},
            "data": {"phone": "13800138000", "name": "张三"},
            "headers": {
                "Cookie": "sessionid=abc",
                "Authorization": "Basic dXNlcjpwYXNz",
                "X-Forwarded-For": "10.1.2.3",
                "User-Agent": "Mozilla/5.0",
                "X-Request-ID": "edge-1",
            },
            "env": {"REMOTE_ADDR": "10.1.2.3"},
        },
        "user": {"id": 7, "email": "li@example.com", "ip_address": "10.1.2.3"},
    }

    scrubbed = scrub_event(event, {})

    assert scrubbed["request"] == {
        "url": "https://crm.example.com/customers/",
        "method": "POST",
        "headers": {"User-Agent": "Mozilla/5.0", "X-Request-ID": "edge-1"},
    }
    assert scrubbed["user"] == {"id": 7}
