"""Log lines are JSON objects that say which request, user or task they belong to."""

import io
import json
import logging
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
