"""Background work on leads: thin wrappers that call the lead services."""

import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

from pipeline.leads import leads_rescore, notify_assignee

TRANSIENT_ERRORS = (ConnectionError, OperationalError, InterfaceError)
MAIL_ERRORS = (*TRANSIENT_ERRORS, smtplib.SMTPException, OSError)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def rescore_all_leads() -> int:
    """Recompute every lead's score after the scoring rules changed (idempotent: same rules, same scores)."""
    return leads_rescore()


@shared_task(acks_late=True, autoretry_for=MAIL_ERRORS, retry_backoff=True, max_retries=5)
def notify_lead_assignee(*, lead_id: int, lead_url: str = "") -> bool:
    """Tell a web-form lead's owner it arrived; retried while the mail server is away."""
    return notify_assignee(lead_id=lead_id, lead_url=lead_url)
