"""Log lines are JSON objects that say which request, user or task they belong to."""

import io
import json
import logging
import runpy
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from crm.celery import app as celery_app
from crm.testing import make_user


@pytest.fixture
def log_lines():
    """Collect what the configured JSON formatter and context filter write, as parsed objects."""
    options = dict(settings.LOGGING["formatters"]["json"])
    formatter = import_string(options.pop("()"))(**options)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    for name in settings.LOGGING["handlers"]["console"]["filters"]:
        handler.addFilter(import_string(settings.LOGGING["filters"][name]["()"])())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)


@pytest.mark.django_db
def test_a_request_log_line_names_the_request_and_the_user(client, log_lines):
    user = make_user()
    client.force_login(user)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    [line] = [line for line in log_lines() if line["logger"] == "django.request"]
    assert line["level"] == "WARNING"
    assert "/no-such-page/" in line["message"]
    assert line["request_id"] == response["X-Request-ID"]
    assert line["user_id"] == user.pk
    assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)


@pytest.mark.django_db
def test_an_anonymous_request_logs_no_user_and_keeps_the_proxy_request_id(client, log_lines):
    response = client.get("/no-such-page/", headers={"X-Request-ID": "edge-4f2a9c"})

    [line] = [line for line in log_lines() if line["logger"] == "django.request"]
    assert line["request_id"] == "edge-4f2a9c" == response["X-Request-ID"]
    assert line["user_id"] is None


@pytest.mark.django_db
def test_a_request_id_with_odd_characters_is_replaced(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc\u4e2d\u6587 injected"})

    assert response["X-Request-ID"] != "abc\u4e2d\u6587 injected"
    assert len(response["X-Request-ID"]) == 32


@celery_app.task(name="crm.tests.test_logging.log_something")
def log_something():
    logging.getLogger("crm.tests").warning("inside a task")


def test_a_task_log_line_carries_the_task_id(log_lines):
    result = log_something.apply()

    [line] = [line for line in log_lines() if line["message"] == "inside a task"]
    assert line["task_id"] == result.id
    assert line["request_id"] is None
    logging.getLogger("crm.tests").warning("after the task")
    assert log_lines()[-1]["task_id"] is None


def test_request_lines_lose_their_query_string():
    """A search may carry a phone number: the development server's request line keeps the path only."""
    logger = settings.LOGGING["loggers"]["django.server"]
    [handler] = logger["handlers"]
    filters = [
        import_string(settings.LOGGING["filters"][name]["()"])()
        for name in settings.LOGGING["handlers"][handler]["filters"]
    ]
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /search/?q=13800138000&page=2 HTTP/1.1", "200", "1234"),
        None,
    )
    assert all(f.filter(record) for f in filters)
    assert record.getMessage() == '"GET /search/ HTTP/1.1" 200 1234'


def test_gunicorn_access_log_leaves_out_query_strings_and_referrers():
    namespace = runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))
    assert "%(U)s" in namespace["access_log_format"]
    assert "%(r)s" not in namespace["access_log_format"] and "%(q)s" not in namespace["access_log_format"]
    assert "%(f)s" not in namespace["access_log_format"]
