"""Tasks queued while the broker is away wait in the database and go once it answers again.

The broker's refusal is simulated here (kombu raises OperationalError when Redis refuses the
connection); test_service_restarts.py does the same against a real Redis that is stopped.
"""

from datetime import timedelta

import pytest
from axes.models import AccessLog
from django.utils import timezone
from kombu.exceptions import OperationalError

from crm.celery import app
from crm.models import PendingTask
from crm.outbox import pending_tasks_publish, queue_task
from crm.tasks import purge_login_logs

pytestmark = pytest.mark.django_db


class Broker:
    """Stands in for `apply_async`: takes messages while up, refuses them while down."""

    def __init__(self):
        self.up = True
        self.messages = []

    def __call__(self, args=None, kwargs=None, **options):
        if not self.up:
            raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.messages.append(tuple(args or ()))


@pytest.fixture
def broker(monkeypatch):
    """A broker in place of the inline mode the test settings use."""
    broker = Broker()
    monkeypatch.setattr(purge_login_logs, "apply_async", broker)
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield broker
    finally:
        app.conf.task_always_eager = eager


def test_without_a_broker_the_task_runs_after_commit_and_nothing_waits(django_capture_on_commit_callbacks):
    old = AccessLog.objects.create(username="old", ip_address="192.0.2.1", user_agent="test")
    AccessLog.objects.filter(pk=old.pk).update(attempt_time=timezone.now() - timedelta(days=3650))

    with django_capture_on_commit_callbacks(execute=True):
        queue_task(purge_login_logs)
        assert AccessLog.objects.filter(pk=old.pk).exists()  # not before the commit

    assert not AccessLog.objects.filter(pk=old.pk).exists()
    assert not PendingTask.objects.exists()


def test_a_task_handed_over_leaves_nothing_waiting(broker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        queue_task(purge_login_logs, 7)
        assert PendingTask.objects.count() == 1  # written with the work that queued it

    assert broker.messages == [(7,)]
    assert not PendingTask.objects.exists()


def test_a_task_queued_while_the_broker_is_down_waits_and_goes_when_it_is_back(
    broker, django_capture_on_commit_callbacks
):
    broker.up = False
    with django_capture_on_commit_callbacks(execute=True):
        queue_task(purge_login_logs, 7)  # no error reaches the request

    assert broker.messages == []
    assert list(PendingTask.objects.values_list("task", "args")) == [("crm.tasks.purge_login_logs", [7])]

    assert pending_tasks_publish(older_than=timedelta(0)) == 0  # still down: it keeps waiting
    assert PendingTask.objects.count() == 1

    broker.up = True
    assert pending_tasks_publish(older_than=timedelta(minutes=1)) == 0  # too fresh: maybe in flight
    assert pending_tasks_publish(older_than=timedelta(0)) == 1

    assert broker.messages == [(7,)]
    assert not PendingTask.objects.exists()


def test_a_waiting_task_no_worker_knows_is_left_in_place(broker):
    PendingTask.objects.create(task="crm.tasks.no_such_task", args=[1])

    assert pending_tasks_publish(older_than=timedelta(0)) == 0
    assert PendingTask.objects.count() == 1


def test_beat_hands_waiting_tasks_over_every_minute():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="crm.tasks.publish_pending_tasks")
    assert (task.interval.every, task.interval.period, task.enabled) == (1, "minutes", True)
