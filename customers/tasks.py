"""Background work of the customer centre: thin wrappers that take ids and call services."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from customers.grading import grade_companies

# A database or broker that is briefly away is worth retrying; a bug is not.
TRANSIENT_ERRORS = (ConnectionError, OperationalError, InterfaceError)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def grade_company(company_id: int) -> int:
    """Regrade one company after a purchase is recorded (idempotent)."""
    return grade_companies([company_id])


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def grade_all_companies() -> int:
    """Nightly: recompute every grade, so recency moves on even without new purchases.

    Idempotent: a retry or a second run recomputes the same grades and writes nothing new.
    """
    return grade_companies()
