"""Background work on tickets: thin wrappers that call the services, safe to run twice."""

import smtplib

from celery import shared_task
from django.db import InterfaceError, OperationalError

from tickets import attachments, imap, mailing, sla_watch

TRANSIENT_ERRORS = (ConnectionError, OperationalError, InterfaceError)
MAIL_ERRORS = (*TRANSIENT_ERRORS, smtplib.SMTPException, OSError)


@shared_task(acks_late=True, autoretry_for=MAIL_ERRORS, retry_backoff=True, max_retries=8)
def mail_reply(*, message_id: int) -> bool:
    """Mail an agent's public reply to the requester; retried while the mail server is away."""
    return mailing.send_reply(message_id=message_id)


@shared_task(acks_late=True, autoretry_for=MAIL_ERRORS, retry_backoff=True, max_retries=8)
def mail_acknowledgement(*, ticket_id: int) -> bool:
    """Confirm a request that came by e-mail, with its number and status link."""
    return mailing.send_acknowledgement(ticket_id=ticket_id)


@shared_task(acks_late=True, autoretry_for=MAIL_ERRORS, retry_backoff=True, max_retries=8)
def mail_feedback_request(*, ticket_id: int) -> bool:
    return mailing.send_feedback_request(ticket_id=ticket_id)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def poll_mailboxes() -> dict:
    """Read new mail of every active mailbox into tickets (scheduled by beat)."""
    return imap.poll_all()


@shared_task(acks_late=True, autoretry_for=MAIL_ERRORS, retry_backoff=True, max_retries=8)
def mail_sla_notice(*, ticket_id: int, escalate: bool, former_owner_id: int | None = None) -> int:
    return mailing.send_sla_notice(ticket_id=ticket_id, escalate=escalate, former_owner_id=former_owner_id)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def watch_sla() -> dict:
    """Warn before a due time and escalate after it, each once per due time (scheduled by beat)."""
    return sla_watch.watch()


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def recompute_open_tickets() -> int:
    """Recompute every active ticket's due times after the SLA configuration changed."""
    return sla_watch.recompute_open()


@shared_task(acks_late=True, autoretry_for=MAIL_ERRORS, retry_backoff=True, max_retries=8)
def mail_customer_message_notice(*, message_id: int, skip_user_id: int | None = None) -> int:
    """Tell the assignee and the watchers that the customer wrote; retried while the mail server is away."""
    return mailing.send_customer_message_notice(message_id=message_id, skip_user_id=skip_user_id)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def sweep_attachment_files() -> dict:
    """Delete attachment files no row names, left by rolled-back transactions (scheduled by beat)."""
    return attachments.sweep_orphan_files()
