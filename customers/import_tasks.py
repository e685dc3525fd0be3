"""Background imports and exports of customers: thin tasks that take ids and call the services.

Imported by `CustomersConfig.ready()`, which registers them with Celery and names them as the
runners of their kinds of job (`crm.jobs`), so the services queue them without importing them.
"""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from crm.jobs import register_job_task
from crm.outbox import queue_task
from customers import exporting
from customers.importing import running, service

logger = logging.getLogger(__name__)

CHUNKS_PER_TASK = 50


@shared_task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def run_import(batch_id: int) -> bool:
    """Run (or resume) an import for a while, then queue the rest: no task holds a worker for hours."""
    try:
        finished = running.import_run(batch_id=batch_id, max_chunks=CHUNKS_PER_TASK)
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:
        logger.exception("import %s failed", batch_id)
        running.import_fail(batch_id=batch_id, message=str(error))
        return True
    if not finished:
        queue_task(run_import, batch_id)  # waits in the database if the broker is away
    return finished


@shared_task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def run_export(job_id: int) -> None:
    """Write a large export to a file the user downloads when it is ready."""
    try:
        exporting.export_run(job_id=job_id)
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:
        logger.exception("export %s failed", job_id)
        exporting.export_fail(job_id=job_id, message=str(error))


register_job_task(service.JOB_KIND, run_import)
register_job_task(exporting.JOB_KIND, run_export)
