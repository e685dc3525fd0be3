"""Background work of campaign sends: thin doors into campaigns.sending, safe to run twice.

`prepare_campaign` lists the recipients and starts CAMPAIGN_SEND_WORKERS chains of
`send_campaign`; each chain sends batches for up to SEND_BUDGET seconds, then queues its own
successor, so one send never holds a worker for hours and a paused or cancelled campaign stops
within a batch. `resume_sends` (beat, every minute) starts the scheduled campaigns that are due
and picks up a send whose workers went silent (killed, restarted).
"""

from __future__ import annotations

import time
from contextlib import suppress
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.utils import timezone

from campaigns import bounces, sending, services
from campaigns.models import Campaign
from crm.cache import REDIS_AWAY
from crm.celery import app

TRANSIENT_ERRORS = (ConnectionError, OperationalError, InterfaceError)
SEND_BUDGET = 50.0  # seconds a chain link sends before handing over to its successor
SILENT_AFTER = timedelta(minutes=3)
RETRY_STALLED = timedelta(minutes=1)


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def prepare_campaign(campaign_id: int) -> int:
    campaign = Campaign.objects.select_related("owner", "segment").get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING:
        return 0
    added = sending.prepare(campaign)
    for slot in range(_chains()):
        _chain_beat(campaign_id, slot, timezone.now())
        send_campaign.delay(campaign_id, slot)
    return added


def _chains() -> int:
    """How many chains share a send: CAMPAIGN_SEND_WORKERS, or one inline (no broker)."""
    return 1 if app.conf.task_always_eager else max(1, settings.CAMPAIGN_SEND_WORKERS)


def _chain_key(campaign_id: int, slot: int) -> str:
    return f"campaign-chain:{campaign_id}:{slot}"


def _chain_beat(campaign_id: int, slot: int, when) -> None:
    """A chain's own heartbeat (in the shared cache), so that one killed chain is replaced even
    while another keeps the campaign's heartbeat fresh."""
    with suppress(*REDIS_AWAY):
        cache.set(_chain_key(campaign_id, slot), when.timestamp(), timeout=24 * 3600)


def _silent_chains(campaign_id: int, now) -> list[int]:
    silent = []
    for slot in range(_chains()):
        try:
            beat = cache.get(_chain_key(campaign_id, slot))
        except REDIS_AWAY:
            return []  # the cache is away: the campaign's own heartbeat decides
        if beat is None or beat < (now - SILENT_AFTER).timestamp():
            silent.append(slot)
    return silent


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=5)
def send_campaign(campaign_id: int, slot: int = 0) -> int:
    """Send batches until the budget is spent, then hand over; finish the send when nothing is queued.
    `slot` numbers the chain (0 … CAMPAIGN_SEND_WORKERS - 1), each with its own heartbeat."""
    started, total = time.monotonic(), 0
    sending.decide_subject_test(campaign_id)
    while True:
        _chain_beat(campaign_id, slot, timezone.now())
        result = sending.send_some(campaign_id)
        total += result["sent"]
        if result.get("stalled"):
            # The mail server is away: try again in a minute (inline, `resume_sends` will).
            _wait_until(campaign_id, timezone.now() + RETRY_STALLED, slot)
            return total
        if not result["more"]:
            break
        if time.monotonic() - started > SEND_BUDGET and not app.conf.task_always_eager:
            send_campaign.delay(campaign_id, slot)
            return total
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING:
        return total
    retry_at = sending.next_retry(campaign)
    decision = campaign.ab_decision_due()
    if retry_at is None and decision is None:
        sending.finish_if_done(campaign)
    else:
        # A message waits to be tried again, or the rest wait for the subject test's winner.
        _wait_until(campaign_id, max(min(t for t in (retry_at, decision) if t is not None), timezone.now()), slot)
    return total


def _wait_until(campaign_id: int, when, slot: int = 0) -> None:
    """Send again at `when`. The heartbeats are set to then, so that `resume_sends` does not take
    the wait for a dead worker; inline (no broker) the retry is left to `resume_sends`."""
    Campaign.objects.filter(pk=campaign_id).update(heartbeat_at=when)
    _chain_beat(campaign_id, slot, when)
    if not app.conf.task_always_eager:
        send_campaign.apply_async((campaign_id, slot), eta=when)


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
    for pk in (
        Campaign.objects.filter(status=Campaign.Status.SENDING, ab_winner="")
        .exclude(subject_b="")
        .values_list("pk", flat=True)
    ):
        if sending.decide_subject_test(pk):
            send_campaign.delay(pk)
    silent = Campaign.objects.filter(status=Campaign.Status.SENDING).filter(
        Q(heartbeat_at__lt=now - SILENT_AFTER) | Q(heartbeat_at=None, started_at__lt=now - SILENT_AFTER)
    )
    resumed = []
    for campaign in silent:
        Campaign.objects.filter(pk=campaign.pk).update(heartbeat_at=now)
        prepare_campaign.delay(campaign.pk)
        resumed.append(campaign.pk)
    # A chain killed while another of the same send goes on: the campaign's heartbeat is fresh,
    # its own is not. Restart just that chain.
    chains = []
    running = Campaign.objects.filter(status=Campaign.Status.SENDING, prepared_at__isnull=False).exclude(pk__in=resumed)
    for pk in running.values_list("pk", flat=True):
        for slot in _silent_chains(pk, now):
            _chain_beat(pk, slot, now)
            send_campaign.delay(pk, slot)
            chains.append([pk, slot])
    return {"started": started, "resumed": resumed, "chains": chains}


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=True, max_retries=3)
def poll_bounces() -> dict:
    """Every five minutes: apply the bounces the bounce mailbox received (when one is configured)."""
    return bounces.poll_mailbox()
