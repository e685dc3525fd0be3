"""Celery tasks of the core: thin, idempotent doors into the same services the commands use."""

from axes.handlers.proxy import AxesProxyHandler
from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from crm.audit import audit_purge


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def purge_audit_log(older_than_days: int | None = None) -> int:
    """Delete audit entries past the retention period; running it twice deletes nothing more."""
    return audit_purge(older_than_days=older_than_days)


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def purge_login_logs() -> int:
    """Delete sign-in records (successful and failed) older than the audit retention period.

    They belong to the audit trail, so they are kept exactly as long as it is; safe to run twice.
    """
    days = settings.AUDIT_RETENTION_DAYS
    return AxesProxyHandler.reset_logs(age_days=days) + AxesProxyHandler.reset_failure_logs(age_days=days)
