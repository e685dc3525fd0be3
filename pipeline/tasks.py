"""Celery tasks of the pipeline: thin wrappers that call services and are safe to run twice."""

import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

from pipeline.reminders import send_reminders as send_reminder_emails
from pipeline.stage_totals import reconcile

# A database, broker or mail server that is briefly away is worth retrying; a bug is not.
TRANSIENT_ERRORS = (ConnectionError, OperationalError, InterfaceError, smtplib.SMTPException, OSError)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def send_reminders() -> int:
    """Run by celery beat (every 15 minutes by default): each reminder goes out once, even on retries."""
    return send_reminder_emails()


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def reconcile_stage_totals() -> int:
    """Run by celery beat nightly: recount the board's and forecast's cells from the deals."""
    return reconcile()
