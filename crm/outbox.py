"""Celery tasks queued through the database, so that none is lost while the broker is away.

    queue_task(grade_company, company.pk)   # instead of on_commit(lambda: grade_company.delay(company.pk))

`queue_task` writes a `PendingTask` row in the caller's transaction and hands the message to
the broker once that transaction commits, deleting the row when the broker has it. When the
broker (Redis) is down or restarting, the hand-over fails quietly: the request that queued the
task succeeds, the row stays, and `pending_tasks_publish`, run every minute by beat, hands it
over once the broker answers again. Tasks are idempotent, so the rare double hand-over (the
broker took the message but the row could not be deleted) is harmless.

With `CELERY_TASK_ALWAYS_EAGER` (no Redis: development and most tests) there is no broker to
wait for, and the task simply runs after commit, as `.delay()` would.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Task
from django.db import DatabaseError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from crm.cache import REDIS_AWAY
from crm.celery import app
from crm.models import PendingTask

logger = logging.getLogger(__name__)

# What publishing raises while the broker is down, refusing or restarting: kombu wraps most
# connection errors in its OperationalError after its own few retries.
BROKER_AWAY = (KombuOperationalError, ConnectionError, *REDIS_AWAY)


def queue_task(task: Task, *args, **kwargs) -> None:
    """Run `task(*args, **kwargs)` in a worker once the current transaction commits (at once
    outside one). Arguments are ids and plain values: they are stored as JSON meanwhile.

    Whatever happens to the hand-over, the work that queued the task stays committed and the
    request succeeds (the callback is `robust`: an unexpected error is logged, and the row waits).
    """
    if task.app.conf.task_always_eager:
        transaction.on_commit(lambda: task.delay(*args, **kwargs), robust=True)
        return
    pending = PendingTask.objects.create(task=task.name, args=list(args), kwargs=kwargs)
    transaction.on_commit(lambda: _hand_over(pending.pk, task, args, kwargs), robust=True)


def _hand_over(pending_id: int, task: Task, args, kwargs) -> None:
    try:
        task.apply_async(args, kwargs)
    except BROKER_AWAY as error:
        logger.warning(
            "broker unavailable (%s): task %s waits in the database until it answers",
            type(error).__name__,
            task.name,
        )
        return
    try:
        PendingTask.objects.filter(pk=pending_id).delete()
    except DatabaseError:
        # The broker has the message; at worst beat hands it over a second time.
        logger.warning("could not clear pending task %s after handing it over", pending_id, exc_info=True)


def pending_tasks_publish(*, older_than: timedelta, limit: int = 500) -> int:
    """Hand the broker the tasks still waiting after `older_than`; returns how many went."""
    sent = []
    with transaction.atomic():
        waiting = list(
            PendingTask.objects.select_for_update(skip_locked=True)
            .filter(created_at__lte=timezone.now() - older_than)
            .order_by("created_at", "pk")[:limit]
        )
        for pending in waiting:
            task = app.tasks.get(pending.task)
            if task is None:
                logger.error("pending task %s names no known task %r; left in place", pending.pk, pending.task)
                continue
            try:
                task.apply_async(pending.args, pending.kwargs)
            except BROKER_AWAY:
                logger.warning("broker still unavailable: %d tasks wait for it", len(waiting) - len(sent))
                break
            sent.append(pending.pk)
        PendingTask.objects.filter(pk__in=sent).delete()
    if sent:
        logger.info("handed %d waiting tasks to the broker", len(sent))
    return len(sent)
