"""Sending a campaign through a real SMTP server (aiosmtpd): each address once, with the headers
mail providers expect; who is left out and why; resumable, pausable, cancellable; refusals."""

import re
from datetime import timedelta
from email.utils import parseaddr

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns import sending, services, tracking
from campaigns.models import Campaign, Delivery, Event, Suppression
from campaigns.tests.conftest import SITE
from campaigns.tests.factories import CampaignFactory, SegmentFactory, SuppressionFactory, email_key
from crm.tests.factories import TeamFactory, UserFactory
from customers.models import Contact, Interaction
from customers.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
Reason = Delivery.Reason


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def marketer(team):
    """Manages the team, so sees its contacts."""
    return UserFactory(marketing=True, team=team, team_role="manager", first_name="Mei", last_name="Han")


def person(marketer, **fields):
    fields.setdefault("opted_in", True)
    fields.setdefault("company__city", "上海")
    return ContactFactory(owner=marketer, team=marketer_team(marketer), **fields)


def marketer_team(marketer):
    return marketer.team_memberships.first().team if hasattr(marketer, "team_memberships") else None


def start(campaign, actor, django_capture_on_commit_callbacks):
    """Send now; the tasks run inline (CELERY_TASK_ALWAYS_EAGER) once the transaction commits."""
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_send(campaign=campaign, actor=actor)
    campaign.refresh_from_db()
    return campaign


def by_recipient(inbox) -> dict:
    received = {}
    for message in inbox.messages:
        for address in message.recipients:
            received.setdefault(address, []).append(message)
    return received


def parts(message) -> dict:
    return {
        part.get_content_type(): part.get_payload(decode=True).decode()
        for part in message.walk()
        if not part.is_multipart()
    }


@pytest.fixture
def shanghai(marketer):
    return SegmentFactory(owner=marketer, criteria={"city": "上海"})


def test_a_segment_is_mailed_once_per_address_with_list_headers(
    marketer, shanghai, smtp_inbox, settings, django_capture_on_commit_callbacks
):
    settings.CAMPAIGN_UNSUBSCRIBE_MAILTO = "unsubscribe@mail.example.com"
    people = [person(marketer, given_name=f"客户{n}", email=f"c{n}@example.com") for n in range(3)]
    person(marketer, company__city="北京")  # not in the segment
    campaign = CampaignFactory(owner=marketer, segment=shanghai)

    campaign = start(campaign, marketer, django_capture_on_commit_callbacks)

    received = by_recipient(smtp_inbox)
    assert sorted(received) == sorted(p.email for p in people)
    assert all(len(messages) == 1 for messages in received.values())
    for contact in people:
        message = received[contact.email][0]
        delivery = Delivery.objects.get(campaign=campaign, contact=contact)
        signature = tracking.message_id_signature(campaign.pk, delivery.pk)
        assert message["Message-ID"] == f"<campaign-{campaign.pk}-{delivery.pk}-{signature}@mail.example.com>"
        assert delivery.message_id == message["Message-ID"]
        unsubscribe = tracking.unsubscribe_url(delivery.pk)
        assert unsubscribe.startswith(f"{SITE}/marketing/r/u/")
        targets = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
        assert targets[0] == unsubscribe
        assert (
            targets[1] == f"mailto:unsubscribe@mail.example.com?subject=unsubscribe-{tracking.token_for(delivery.pk)}"
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert parseaddr(message["From"])[1] == "news@example.com"
        assert smtp_inbox.subject(message) == f"{contact.given_name}，春季新品上市"
        body = parts(message)
        assert set(body) == {"text/plain", "text/html"}
        assert contact.display_name in body["text/html"] and contact.display_name in body["text/plain"]
        assert tracking.open_url(delivery.pk) in body["text/html"]
        assert tracking.click_url(delivery.pk, 0) in body["text/html"]
        assert "shop.example.com" not in body["text/html"]
        assert unsubscribe in body["text/plain"]
    # The end of the send: counters, status, audit, timelines.
    assert campaign.status == Campaign.Status.SENT and campaign.finished_at is not None
    assert (campaign.recipient_count, campaign.sent_count, campaign.failed_count, campaign.suppressed_count) == (
        3,
        3,
        0,
        0,
    )
    assert campaign.links == ["https://shop.example.com/spring?utm=mail&id=1", "https://example.com/about"]
    assert Event.objects.filter(campaign=campaign, kind=Event.Kind.SENT).count() == 3
    started = LogEntry.objects.get_for_object(campaign).filter(additional_data__event="campaign_send_started")
    assert started.count() == 1 and started.get().actor == marketer
    for contact in people:
        entries = Interaction.objects.filter(contact=contact, kind=Interaction.Kind.CAMPAIGN)
        assert entries.count() == 1
        assert campaign.name in entries.get().summary
        assert entries.get().source_ref == f"campaigns.campaign:{campaign.pk}"


def test_without_the_mailto_setting_list_unsubscribe_is_the_https_link_only(
    marketer, shanghai, smtp_inbox, django_capture_on_commit_callbacks
):
    person(marketer)
    campaign = start(CampaignFactory(owner=marketer, segment=shanghai), marketer, django_capture_on_commit_callbacks)

    (message,) = smtp_inbox.messages
    delivery = campaign.deliveries.get()
    assert message["List-Unsubscribe"].strip() == f"<{tracking.unsubscribe_url(delivery.pk)}>"


def test_who_is_left_out_and_why(marketer, shanghai, smtp_inbox, django_capture_on_commit_callbacks):
    ok = person(marketer, email="ok@example.com")
    no_email = person(marketer, email="")
    no_consent = person(marketer, opted_in=False)
    unsubscribed = person(marketer, opted_out=True)
    do_not_contact = person(marketer, do_not_contact=True)
    bounced = person(marketer, email="Bounced@Example.com")
    SuppressionFactory(email="bounced@example.com")
    unsubscribed_elsewhere = person(marketer, email="gone@example.com")
    SuppressionFactory(email="gone@example.com", reason=Suppression.Reason.UNSUBSCRIBED)
    first, second = person(marketer, email="same@example.com"), person(marketer, email="SAME@example.com ")
    excluded = person(marketer, tags=[])
    left_out = SegmentFactory(owner=marketer, contacts=[excluded])
    other_team = ContactFactory(opted_in=True, company__city="上海")  # out of the marketer's reach
    campaign = CampaignFactory(owner=marketer, segment=shanghai, exclude=[left_out])

    campaign = start(campaign, marketer, django_capture_on_commit_callbacks)

    assert sorted(by_recipient(smtp_inbox)) == ["ok@example.com", "same@example.com"]
    deliveries = {d.contact_id: d for d in campaign.deliveries.all()}
    expected = {
        ok: ("sent", ""),
        no_email: ("suppressed", Reason.NO_EMAIL),
        no_consent: ("suppressed", Reason.NO_CONSENT),
        unsubscribed: ("suppressed", Reason.UNSUBSCRIBED),
        do_not_contact: ("suppressed", Reason.DO_NOT_CONTACT),
        bounced: ("suppressed", Reason.BOUNCED),
        unsubscribed_elsewhere: ("suppressed", Reason.UNSUBSCRIBED),
        first: ("sent", ""),
        second: ("suppressed", Reason.DUPLICATE),
        excluded: ("suppressed", Reason.EXCLUDED),
    }
    assert {c.pk: (deliveries[c.pk].status, deliveries[c.pk].reason) for c in expected} == {
        c.pk: value for c, value in expected.items()
    }
    assert other_team.pk not in deliveries  # a dynamic segment is read within the owner's reach
    assert (campaign.recipient_count, campaign.sent_count, campaign.suppressed_count) == (10, 2, 8)
    assert campaign.status == Campaign.Status.SENT


def test_static_members_out_of_the_owners_reach_are_recorded_and_never_mailed(
    marketer, smtp_inbox, django_capture_on_commit_callbacks
):
    visible = person(marketer)
    hidden = ContactFactory(opted_in=True)
    segment = SegmentFactory(owner=marketer, contacts=[visible, hidden])

    campaign = start(CampaignFactory(owner=marketer, segment=segment), marketer, django_capture_on_commit_callbacks)

    assert list(by_recipient(smtp_inbox)) == [visible.email]
    row = campaign.deliveries.get(contact=hidden)
    assert (row.status, row.reason, row.email) == (Delivery.Status.SUPPRESSED, Reason.NOT_VISIBLE, "")
    assert (campaign.recipient_count, campaign.sent_count, campaign.suppressed_count) == (2, 1, 1)


def sending_campaign(marketer, segment):
    """A campaign started as the service starts it, without running its tasks."""
    campaign = CampaignFactory(owner=marketer, segment=segment)
    services.campaign_send(campaign=campaign, actor=marketer)  # the queued task never runs: no commit
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING
    return campaign


def test_preparing_and_sending_twice_sends_nothing_more(marketer, shanghai, smtp_inbox):
    for n in range(4):
        person(marketer, email=f"twice{n}@example.com")
    campaign = sending_campaign(marketer, shanghai)

    assert sending.prepare(campaign) == 4
    assert sending.send_some(campaign.pk)["sent"] == 4
    assert sending.prepare(campaign) == 0
    assert sending.send_some(campaign.pk) == {
        "sent": 0,
        "failed": 0,
        "retry": 0,
        "suppressed": 0,
        "postponed": 0,
        "more": False,
    }
    assert sending.finish_if_done(campaign) is True
    assert sending.finish_if_done(campaign) is False

    assert len(smtp_inbox.messages) == 4
    assert campaign.deliveries.count() == 4
    campaign.refresh_from_db()
    assert (campaign.recipient_count, campaign.sent_count) == (4, 4)


def test_a_contact_added_after_a_crash_is_listed_once(marketer, shanghai, smtp_inbox):
    person(marketer)
    campaign = sending_campaign(marketer, shanghai)
    sending.prepare(campaign)
    sending.send_some(campaign.pk)
    late = person(marketer, email="late@example.com")

    assert sending.prepare(campaign) == 1
    sending.send_some(campaign.pk)

    assert [m.recipients for m in smtp_inbox.messages][-1] == ["late@example.com"]
    assert len(smtp_inbox.messages) == 2
    assert campaign.deliveries.get(contact=late).status == Delivery.Status.SENT


def test_pause_stops_resume_continues(marketer, shanghai, smtp_inbox, django_capture_on_commit_callbacks):
    for n in range(5):
        person(marketer, email=f"p{n}@example.com")
    campaign = sending_campaign(marketer, shanghai)
    sending.prepare(campaign)
    assert sending.send_some(campaign.pk, limit=2) == {
        "sent": 2,
        "failed": 0,
        "retry": 0,
        "suppressed": 0,
        "postponed": 0,
        "more": True,
    }

    services.campaign_pause(campaign=campaign, actor=marketer)
    assert sending.send_some(campaign.pk)["sent"] == 0
    assert len(smtp_inbox.messages) == 2
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED and campaign.sent_count == 2

    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_resume(campaign=campaign, actor=marketer)

    assert sorted(by_recipient(smtp_inbox)) == [f"p{n}@example.com" for n in range(5)]
    assert len(smtp_inbox.messages) == 5
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT and campaign.sent_count == 5


def test_cancel_stops_for_good(marketer, shanghai, smtp_inbox, django_capture_on_commit_callbacks):
    for n in range(4):
        person(marketer, email=f"x{n}@example.com")
    campaign = sending_campaign(marketer, shanghai)
    sending.prepare(campaign)
    sending.send_some(campaign.pk, limit=1)

    services.campaign_cancel(campaign=campaign, actor=marketer)
    with django_capture_on_commit_callbacks(execute=True):
        from campaigns.tasks import prepare_campaign, send_campaign

        prepare_campaign.delay(campaign.pk)
        send_campaign.delay(campaign.pk)
    assert sending.send_some(campaign.pk)["sent"] == 0
    with pytest.raises(Exception, match="paused"):
        services.campaign_resume(campaign=campaign, actor=marketer)

    assert len(smtp_inbox.messages) == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED and campaign.finished_at is not None
    assert (campaign.sent_count, campaign.remaining) == (1, 3)


def test_a_recipient_who_unsubscribes_while_the_send_waits_is_not_mailed(marketer, shanghai, smtp_inbox):
    stays, leaves, bounces = (person(marketer, email=f"{n}@example.com") for n in ("stays", "leaves", "bounces"))
    withdraws = person(marketer, email="withdraws@example.com")
    campaign = sending_campaign(marketer, shanghai)
    sending.prepare(campaign)
    services.campaign_pause(campaign=campaign, actor=marketer)
    # Meanwhile, another campaign's unsubscribe link, a hard bounce elsewhere, consent withdrawn.
    tracking.suppress_address(email_key=leaves.email_bidx, reason=Suppression.Reason.UNSUBSCRIBED)
    SuppressionFactory(email=bounces.email)
    Contact.objects.filter(pk=withdraws.pk).update(email_opt_in=False)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)

    sending.send_some(campaign.pk)

    assert list(by_recipient(smtp_inbox)) == [stays.email]
    reasons = dict(campaign.deliveries.values_list("contact_id", "reason"))
    assert reasons == {
        stays.pk: "",
        leaves.pk: Reason.UNSUBSCRIBED,
        bounces.pk: Reason.BOUNCED,
        withdraws.pk: Reason.NO_CONSENT,
    }
    assert sending.finish_if_done(campaign)
    campaign.refresh_from_db()
    assert (campaign.sent_count, campaign.suppressed_count) == (1, 3)


class Refusing:
    """An RCPT hook refusing some addresses with a fixed reply."""

    def __init__(self, replies: dict):
        self.replies = replies
        self.attempts: list[str] = []

    async def __call__(self, server, session, envelope, address, rcpt_options):
        self.attempts.append(address)
        if address in self.replies:
            return self.replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_permanent_refusal_fails_the_delivery_and_suppresses_the_address(marketer, shanghai, smtp_inbox):
    good, unknown = person(marketer, email="good@example.com"), person(marketer, email="nobody@example.com")
    twin = ContactFactory(email="Nobody@example.com", owner=marketer)
    smtp_inbox.handle_RCPT = Refusing({"nobody@example.com": "550 5.1.1 user unknown"})
    campaign = sending_campaign(marketer, shanghai)
    sending.prepare(campaign)

    result = sending.send_some(campaign.pk)

    assert result == {"sent": 1, "failed": 1, "retry": 0, "suppressed": 0, "postponed": 0, "more": False}
    assert list(by_recipient(smtp_inbox)) == [good.email]
    failed = campaign.deliveries.get(contact=unknown)
    assert failed.status == Delivery.Status.FAILED and "5.1.1" in failed.error and failed.attempts == 1
    assert Event.objects.filter(delivery=failed, kind=Event.Kind.FAILED).count() == 1
    suppression = Suppression.objects.get(email_key=email_key("nobody@example.com"))
    assert suppression.reason == Suppression.Reason.BOUNCED and suppression.campaign == campaign
    assert set(Contact.objects.filter(pk__in=[unknown.pk, twin.pk]).values_list("unsubscribed", flat=True)) == {True}
    assert sending.finish_if_done(campaign)
    campaign.refresh_from_db()
    assert (campaign.sent_count, campaign.failed_count, campaign.status) == (1, 1, Campaign.Status.SENT)


def test_a_temporary_refusal_is_tried_again_later(marketer, shanghai, smtp_inbox, settings):
    person(marketer, email="busy@example.com")
    refusing = Refusing({"busy@example.com": "451 4.7.1 try again later"})
    smtp_inbox.handle_RCPT = refusing
    campaign = sending_campaign(marketer, shanghai)
    sending.prepare(campaign)

    assert sending.send_some(campaign.pk) == {
        "sent": 0,
        "failed": 0,
        "retry": 1,
        "suppressed": 0,
        "postponed": 0,
        "more": False,
    }

    delivery = campaign.deliveries.get()
    assert delivery.status == Delivery.Status.QUEUED and delivery.attempts == 1
    assert timezone.now() + timedelta(minutes=1) < delivery.next_attempt_at < timezone.now() + timedelta(minutes=3)
    assert sending.next_retry(campaign) == delivery.next_attempt_at
    assert not sending.finish_if_done(campaign)
    # Not before its time...
    assert sending.send_some(campaign.pk)["retry"] == 0 and refusing.attempts == ["busy@example.com"]
    # ...then it goes through.
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    refusing.replies.clear()
    assert sending.send_some(campaign.pk)["sent"] == 1
    assert list(by_recipient(smtp_inbox)) == ["busy@example.com"]
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 2


def test_a_temporary_refusal_fails_after_the_last_attempt(marketer, shanghai, smtp_inbox, settings):
    settings.CAMPAIGN_MAX_ATTEMPTS = 2
    person(marketer, email="busy@example.com")
    smtp_inbox.handle_RCPT = Refusing({"busy@example.com": "452 4.2.2 mailbox full"})
    campaign = sending_campaign(marketer, shanghai)
    sending.prepare(campaign)
    sending.send_some(campaign.pk)
    Delivery.objects.filter(campaign=campaign).update(next_attempt_at=timezone.now())

    assert sending.send_some(campaign.pk)["failed"] == 1

    delivery = campaign.deliveries.get()
    assert delivery.status == Delivery.Status.FAILED
    assert not Suppression.objects.exists()  # a full mailbox is not an unknown user


def test_an_smtp_server_that_is_down_leaves_the_messages_queued(marketer, shanghai, settings):
    person(marketer)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    campaign = sending_campaign(marketer, shanghai)
    sending.prepare(campaign)

    assert sending.send_some(campaign.pk)["more"] is True

    delivery = campaign.deliveries.get()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.QUEUED, 0)


def test_a_send_inline_stops_waiting_for_a_mail_server_that_is_down(
    marketer, shanghai, settings, django_capture_on_commit_callbacks
):
    """No broker (development): the send waits for `resume_sends` instead of trying forever."""
    person(marketer)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    campaign = start(CampaignFactory(owner=marketer, segment=shanghai), marketer, django_capture_on_commit_callbacks)

    assert campaign.status == Campaign.Status.SENDING
    assert campaign.deliveries.get().status == Delivery.Status.QUEUED
    assert campaign.heartbeat_at > timezone.now()  # resume_sends leaves it alone until then


def test_without_site_url_the_send_takes_the_address_it_was_started_from(marketer, shanghai, smtp_inbox, settings):
    settings.SITE_URL = ""
    person(marketer)
    campaign = CampaignFactory(owner=marketer, segment=shanghai)
    with pytest.raises(ValidationError, match="SITE_URL"):
        services.campaign_send(campaign=campaign, actor=marketer)

    services.campaign_send(campaign=campaign, actor=marketer, link_base="http://crm.intranet:8000/")
    campaign.refresh_from_db()
    sending.prepare(campaign)
    sending.send_some(campaign.pk)

    (message,) = smtp_inbox.messages
    assert message["List-Unsubscribe"].strip().startswith("<http://crm.intranet:8000/marketing/r/u/")
    assert "http://crm.intranet:8000/marketing/r/o/" in parts(message)["text/html"]


def test_every_message_sent_is_on_the_recipients_timeline_once(marketer, shanghai, smtp_inbox):
    people = [person(marketer) for _ in range(3)]
    campaign = sending_campaign(marketer, shanghai)
    sending.prepare(campaign)
    sending.send_some(campaign.pk)
    sending.send_some(campaign.pk)

    entries = Interaction.objects.filter(kind=Interaction.Kind.CAMPAIGN, source_ref=f"campaigns.campaign:{campaign.pk}")
    assert sorted(entries.values_list("contact_id", flat=True)) == sorted(p.pk for p in people)


def test_a_domain_gets_no_more_than_its_share_a_minute(marketer, shanghai, smtp_inbox, settings):
    from django.core.cache import cache

    cache.clear()
    settings.CAMPAIGN_DOMAIN_RATES = {"qq.example": 2}
    for n in range(5):
        person(marketer, email=f"qq{n}@qq.example")
    for n in range(3):
        person(marketer, email=f"other{n}@mail.example")
    campaign = sending_campaign(marketer, shanghai)
    sending.prepare(campaign)

    result = sending.send_some(campaign.pk)

    received = [m.recipients[0].rpartition("@")[2] for m in smtp_inbox.messages]
    assert received.count("qq.example") == 2 and received.count("mail.example") == 3
    assert result["postponed"] == 3 and result["more"] is False
    waiting = campaign.deliveries.filter(status=Delivery.Status.QUEUED)
    assert waiting.count() == 3
    for delivery in waiting:
        assert delivery.attempts == 0 and delivery.next_attempt_at > timezone.now()
        assert delivery.next_attempt_at.second == 0
