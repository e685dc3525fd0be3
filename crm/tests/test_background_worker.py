"""Tasks queued with `.delay()` travel through Redis to a real Celery worker."""

import time
from datetime import timedelta

import pytest
from axes.models import AccessFailureLog, AccessLog
from celery.result import EagerResult
from django.conf import settings
from django.utils import timezone

from crm.tasks import purge_login_logs

# Serialized rollback like every transaction test: a plain flush would lose the rows data
# migrations seed (roles, grades, schedules) and clash with the next serialized test.
pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def wait_until(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def make_login_record(model, *, days_ago: int, username: str):
    record = model.objects.create(username=username, ip_address="192.0.2.1", user_agent="test")
    model.objects.filter(pk=record.pk).update(attempt_time=timezone.now() - timedelta(days=days_ago))
    return record


def test_purge_login_logs_runs_on_the_worker_and_keeps_recent_records(live_celery_worker):
    too_old = settings.AUDIT_RETENTION_DAYS + 1
    make_login_record(AccessLog, days_ago=too_old, username="old-sign-in")
    make_login_record(AccessFailureLog, days_ago=too_old, username="old-failure")
    make_login_record(AccessLog, days_ago=1, username="recent-sign-in")
    make_login_record(AccessFailureLog, days_ago=1, username="recent-failure")

    result = purge_login_logs.delay()

    assert not isinstance(result, EagerResult), "the task ran inline instead of through the broker"

    assert wait_until(lambda: not AccessLog.objects.filter(username="old-sign-in").exists())
    assert wait_until(lambda: not AccessFailureLog.objects.filter(username="old-failure").exists())
    assert list(AccessLog.objects.values_list("username", flat=True)) == ["recent-sign-in"]
    assert list(AccessFailureLog.objects.values_list("username", flat=True)) == ["recent-failure"]


def test_healthz_reports_celery_ok_while_a_worker_runs(live_celery_worker, client, settings):
    settings.HEALTHZ_CHECK_CELERY = True

    response = client.get("/healthz")

    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ok"
    assert report["checks"]["celery"]["status"] == "ok"
    assert report["checks"]["celery"]["workers"] >= 1
