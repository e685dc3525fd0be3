"""Celery tasks of the core: thin, idempotent doors into the same services the commands use."""

from datetime import timedelta
from importlib import import_module

from axes.handlers.proxy import AxesProxyHandler
from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from crm import storage
from crm.audit import audit_purge
from crm.outbox import pending_tasks_publish


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


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def publish_pending_tasks() -> int:
    """Every minute: hand the broker the tasks queued while it was away (crm.outbox)."""
    return pending_tasks_publish(older_than=timedelta(seconds=settings.TASK_OUTBOX_GRACE))


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def purge_expired_sessions() -> None:
    """Nightly: delete expired sessions from the database, as `manage.py clearsessions` does, and
    the records of the sessions that ended by time (crm.signin)."""
    from crm.signin import ended_sessions_purge

    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    ended_sessions_purge()


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def purge_expired_files() -> int:
    """Hourly: delete uploaded import files and export files older than IMPORT_EXPORT_RETENTION_DAYS."""
    return storage.purge_expired_files()
