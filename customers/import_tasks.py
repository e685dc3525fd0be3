"""Background imports and exports of customers: thin tasks that take ids and call the services.

Registered through `customers.tasks`, which Celery discovers.
"""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

CHUNKS_PER_TASK = 50


@shared_task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def run_import(batch_id: int) -> bool:
    """Run (or resume) an import for a while, then queue the rest: no task holds a worker for hours."""
    from customers.importing.service import import_fail, import_run

    try:
        finished = import_run(batch_id=batch_id, max_chunks=CHUNKS_PER_TASK)
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:
        logger.exception("import %s failed", batch_id)
        import_fail(batch_id=batch_id, message=str(error))
        return True
    if not finished:
        run_import.delay(batch_id)
    return finished


@shared_task(acks_late=True, autoretry_for=(OperationalError, InterfaceError), retry_backoff=True, max_retries=5)
def run_export(job_id: int) -> None:
    """Write a large export to a file the user downloads when it is ready."""
    from customers.exporting import export_fail, export_run

    try:
        export_run(job_id=job_id)
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:
        logger.exception("export %s failed", job_id)
        export_fail(job_id=job_id, message=str(error))
