"""Background work of campaign sends: thin doors into campaigns.sending, safe to run twice.

`prepare_campaign` lists the recipients and starts CAMPAIGN_SEND_WORKERS chains of
`send_campaign`; each chain sends batches for up to SEND_BUDGET seconds, then queues its own
successor, so one send never holds a worker for hours and a paused or cancelled campaign stops
within a batch. `resume_sends` (beat, every minute) starts the scheduled campaigns that are due
and picks up a send whose workers went silent (killed, restarted).
"""

from __future__ import annotations

import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.utils import timezone

from campaigns import sending, services
from campaigns.models import Campaign
from crm.celery import app

TRANSIENT_ERRORS = (ConnectionError, OperationalError, InterfaceError)
SEND_BUDGET = 50.0  # seconds a chain link sends before handing over to its successor
SILENT_AFTER = timedelta(minutes=3)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def prepare_campaign(campaign_id: int) -> int:
    campaign = Campaign.objects.select_related("owner", "segment").get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING:
        return 0
    added = sending.prepare(campaign)
    for _worker in range(1 if app.conf.task_always_eager else max(1, settings.CAMPAIGN_SEND_WORKERS)):
        send_campaign.delay(campaign_id)
    return added


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def send_campaign(campaign_id: int) -> int:
    """Send batches until the budget is spent, then hand over; finish the send when nothing is queued."""
    started, total = time.monotonic(), 0
    while True:
        result = sending.send_some(campaign_id)
        total += result["sent"]
        if not result["more"]:
            break
        if time.monotonic() - started > SEND_BUDGET and not app.conf.task_always_eager:
            send_campaign.delay(campaign_id)
            return total
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING:
        return total
    retry_at = sending.next_retry(campaign)
    if retry_at is None:
        sending.finish_if_done(campaign)
    elif not app.conf.task_always_eager:
        # Inline (no broker) the retries wait for `resume_sends`, as a send would after a restart.
        send_campaign.apply_async((campaign_id,), eta=max(retry_at, timezone.now()))
    return total


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def resume_sends() -> dict:
    """Every minute: start due scheduled campaigns; pick up sends that went silent."""
    now = timezone.now()
    started = [
        pk
        for pk in Campaign.objects.filter(status=Campaign.Status.SCHEDULED, scheduled_at__lte=now).values_list(
            "pk", flat=True
        )
        if services.start_scheduled(campaign_id=pk)
    ]
    silent = Campaign.objects.filter(status=Campaign.Status.SENDING).filter(
        Q(heartbeat_at__lt=now - SILENT_AFTER) | Q(heartbeat_at=None, started_at__lt=now - SILENT_AFTER)
    )
    resumed = []
    for campaign in silent:
        Campaign.objects.filter(pk=campaign.pk).update(heartbeat_at=now)
        prepare_campaign.delay(campaign.pk)
        resumed.append(campaign.pk)
    return {"started": started, "resumed": resumed}
