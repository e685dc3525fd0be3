"""What a newcomer reads on the first start: the sign-in address actually served, and manage.py
naming a missing setting instead of printing a traceback."""

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils import translation

from crm.devenv import BASE_DIR, explain_settings_error, serving_address
from crm.testing import make_user

EVERY_INTERFACE = "0.0.0.0"  # noqa: S104 - an address to print, not to bind


@pytest.mark.parametrize(
    ("host", "port", "address"),
    [
        (None, None, "http://127.0.0.1:8000"),
        ("localhost", "8123", "http://localhost:8123"),
        (EVERY_INTERFACE, "9000", "http://127.0.0.1:9000"),  # the browser uses the loopback
        ("::", "9000", "http://[::1]:9000"),
        ("crm.lan", None, "http://crm.lan:8000"),
    ],
)
def test_the_address_follows_host_and_port(monkeypatch, host, port, address):
    for name, value in (("HOST", host), ("PORT", port)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)

    assert serving_address() == address


def test_seed_demo_names_the_address_make_run_serves(db, monkeypatch):
    monkeypatch.setenv("HOST", EVERY_INTERFACE)
    monkeypatch.setenv("PORT", "8731")
    make_user(username="admin")  # the demo is there already: only the reminder is printed
    out = StringIO()

    with translation.override("en"):
        call_command("seed_demo", "--if-empty", stdout=out)

    assert "Sign in at http://127.0.0.1:8731" in out.getvalue()


def test_a_missing_secret_is_named_with_what_to_do(tmp_path):
    error = ImproperlyConfigured("Set the SECRET_KEY environment variable")

    without_file = explain_settings_error(error, tmp_path / ".env")
    (tmp_path / ".env").write_text("DEBUG=false\n")
    with_file = explain_settings_error(error, tmp_path / ".env")

    assert without_file.startswith("manage.py: Set the SECRET_KEY environment variable.")
    assert "make run" in without_file and "python -m crm.devenv" in without_file
    assert str(tmp_path / ".env") in with_file


@pytest.mark.skipif((BASE_DIR / ".env").exists(), reason="this checkout's .env supplies the secrets")
def test_manage_py_without_settings_says_what_is_missing():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DJANGO_SETTINGS_MODULE")}
    env["DEBUG"] = "false"

    result = subprocess.run(  # noqa: S603
        [sys.executable, str(BASE_DIR / "manage.py"), "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "SECRET_KEY" in result.stderr
    assert "make run" in result.stderr
