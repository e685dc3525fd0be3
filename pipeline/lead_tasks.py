"""Background work on leads: thin wrappers that call the lead services."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from pipeline.leads import leads_rescore

TRANSIENT_ERRORS = (ConnectionError, OperationalError, InterfaceError)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def rescore_all_leads() -> int:
    """Recompute every lead's score after the scoring rules changed (idempotent: same rules, same scores)."""
    return leads_rescore()
