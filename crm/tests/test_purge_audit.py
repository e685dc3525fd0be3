"""Purging old audit entries: never below the legal floor, only old rows, in batches."""

from datetime import timedelta
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from django.utils import timezone

from crm.audit import audit_purge, log_event
from crm.tasks import purge_audit_log
from crm.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries():
    """Three entries 400 days old, two 200 days old, one from today."""
    user = make_user()
    LogEntry.objects.all().delete()
    now = timezone.now()
    made = {}
    for age in (400, 400, 400, 200, 200, 0):
        entry = log_event(user, actor=user, event="export")
        entry.timestamp = now - timedelta(days=age)
        entry.save(update_fields=["timestamp"])
        made.setdefault(age, []).append(entry.pk)
    return made


def run(*args):
    out = StringIO()
    call_command("purge_audit", *args, stdout=out)
    return out.getvalue()


def test_refuses_less_than_the_legal_floor(entries):
    with pytest.raises(CommandError, match="180"):
        run("--older-than-days", "179")
    assert LogEntry.objects.count() == 6


def test_dry_run_counts_and_deletes_nothing(entries):
    assert "3" in run("--older-than-days", "365", "--dry-run")
    assert LogEntry.objects.count() == 6


def test_removes_only_older_entries_in_batches(entries):
    assert audit_purge(older_than_days=365, batch_size=2) == 3
    assert set(LogEntry.objects.values_list("pk", flat=True)) == set(entries[200] + entries[0])


def test_defaults_to_the_retention_setting_and_reports_the_count(entries, settings):
    settings.AUDIT_RETENTION_DAYS = 180
    output = run()
    assert "Removed 5" in output
    assert list(LogEntry.objects.values_list("pk", flat=True)) == entries[0]


def test_the_celery_task_calls_the_same_purge_and_is_idempotent(entries, settings):
    settings.AUDIT_RETENTION_DAYS = 365
    purge_audit_log.delay()
    purge_audit_log.delay()
    assert LogEntry.objects.count() == 3


def test_a_daily_schedule_exists():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="crm.tasks.purge_audit_log")
    assert (task.crontab.hour, task.crontab.minute, task.enabled) == ("3", "0", True)
