"""Which Celery task runs each kind of background `Job`.

A service that starts background work creates the Job and calls `job_queue(job)`; the app's task
module names the task for that kind when it is imported (from the app's `AppConfig.ready()`).
So the arrow runs one way, tasks -> services: a service never imports the task that calls it.

    register_job_task("customers.export", run_export)   # customers/import_tasks.py
    job_queue(job)                                       # customers/exporting.py
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from crm.outbox import queue_task

_tasks: dict[str, object] = {}


def register_job_task(kind: str, task) -> None:
    """Run Jobs of `kind` with `task`, a Celery task taking the job's id."""
    _tasks[kind] = task


def job_queue(job) -> None:
    """Queue the task for `job` once the current transaction commits (at once outside one).

    Through the outbox: if the broker is away the job stays queued and starts when it is back.
    """
    try:
        task = _tasks[job.kind]
    except KeyError:
        raise ImproperlyConfigured(f"No task runs background jobs of kind {job.kind!r}.") from None
    queue_task(task, job.pk)
