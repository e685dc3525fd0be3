"""Background work of the customer centre: thin wrappers that take ids and call services."""

from celery import shared_task

from customers.grading import grade_companies


@shared_task(acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=True, max_retries=5)
def grade_company(company_id: int) -> int:
    """Regrade one company after a purchase is recorded (idempotent)."""
    return grade_companies([company_id])


@shared_task(acks_late=True)
def grade_all_companies() -> int:
    """Nightly: recompute every grade, so recency moves on even without new purchases."""
    return grade_companies()
