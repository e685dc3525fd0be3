"""`resume_sends` (beat, every minute) picks up what stopped: a send whose every chain went
silent is listed again and restarted; one chain killed while another goes on is restarted alone."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from campaigns import tasks
from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_mode(settings, monkeypatch):
    """As with a broker: two chains per send; the tasks themselves are not run here."""
    from crm.celery import app

    settings.CAMPAIGN_SEND_WORKERS = 2
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    queued = []
    monkeypatch.setattr(tasks.send_campaign, "delay", lambda *args: queued.append(("send", *args)))
    monkeypatch.setattr(tasks.prepare_campaign, "delay", lambda *args: queued.append(("prepare", *args)))
    cache.clear()
    try:
        yield queued
    finally:
        app.conf.task_always_eager = eager


def test_a_killed_chain_is_restarted_while_the_other_goes_on(broker_mode):
    now = timezone.now()
    campaign = CampaignFactory(sending=True, prepared_at=now, heartbeat_at=now)  # chain 0 keeps this fresh
    tasks._chain_beat(campaign.pk, 0, now)
    tasks._chain_beat(campaign.pk, 1, now - timedelta(minutes=10))  # killed ten minutes ago

    result = tasks.resume_sends()

    assert result["resumed"] == [] and result["chains"] == [[campaign.pk, 1]]
    assert broker_mode == [("send", campaign.pk, 1)]
    assert tasks.resume_sends()["chains"] == []  # its heartbeat is fresh again: not twice


def test_a_send_silent_everywhere_is_listed_again(broker_mode):
    then = timezone.now() - timedelta(minutes=10)
    campaign = CampaignFactory(sending=True, prepared_at=then, heartbeat_at=then)

    result = tasks.resume_sends()

    assert result["resumed"] == [campaign.pk] and result["chains"] == []
    assert broker_mode == [("prepare", campaign.pk)]
    assert Campaign.objects.get(pk=campaign.pk).heartbeat_at > then
