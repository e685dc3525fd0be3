"""Bounces: delivery status notifications (RFC 3464) read from a real IMAP bounce mailbox
(dovecot) or posted to the webhook, matched to our deliveries by Message-ID; hard ones suppress
the address for later campaigns, soft ones do not; nothing else in a mailbox is mistaken for one."""

import json

import pytest
from django.urls import reverse

from campaigns import bounces, sending, tasks
from campaigns.models import Delivery, Event, Suppression
from campaigns.tests.factories import DeliveryFactory, email_key
from tickets.tests.imap_server import imap_server_fixture  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
TOKEN = "a-webhook-secret-for-tests"


def dsn(delivery, *, action="failed", status="5.1.1", diagnostic="smtp; 550 5.1.1 <x>: User unknown") -> bytes:
    """A bounce as Postfix writes it: a report with the status part and the returned headers."""
    message_id = sending.message_id_for(delivery)
    return f"""From: MAILER-DAEMON@mx.example.net
To: news@example.com
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host mx.example.net. I'm sorry to have to inform you that your
message could not be delivered to one or more recipients.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
Arrival-Date: Sat,  5 Dec 2026 10:00:00 +0800 (CST)

Final-Recipient: rfc822; {delivery.email}
Original-Recipient: rfc822;{delivery.email}
Action: {action}
Status: {status}
Diagnostic-Code: {diagnostic}

--B
Content-Type: text/rfc822-headers

From: news@example.com
To: {delivery.email}
Subject: =?utf-8?b?5pil5a2j5paw5ZOB?=
Message-ID: {message_id}

--B--
""".replace("\n", "\r\n").encode()


@pytest.fixture
def delivery():
    return DeliveryFactory(sent=True, message_id="")


def test_a_hard_bounce_is_read_and_suppresses_the_address(delivery):
    found = bounces.parse_bounce(dsn(delivery))

    assert [(b.recipient, b.hard) for b in found] == [(delivery.email, True)]
    assert bounces.apply(found) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.BOUNCED and delivery.bounced_at is not None
    assert Suppression.objects.get(email_key=delivery.email_key).reason == Suppression.Reason.BOUNCED
    assert bounces.apply(found) == 1  # again: nothing more changes
    assert Event.objects.filter(delivery=delivery, kind=Event.Kind.BOUNCE).count() == 1


@pytest.mark.parametrize(("action", "status"), [("delayed", "4.4.1"), ("failed", "4.2.2")])
def test_a_soft_bounce_is_an_event_only(delivery, action, status):
    bounces.apply(bounces.parse_bounce(dsn(delivery, action=action, status=status, diagnostic="mailbox full")))

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT and delivery.bounced_at is None
    assert not Suppression.objects.exists()
    assert Event.objects.filter(delivery=delivery, kind=Event.Kind.BOUNCE).count() == 1


def test_a_successful_delivery_report_and_other_mail_are_not_bounces(delivery):
    assert bounces.parse_bounce(dsn(delivery, action="delivered", status="2.0.0")) == []
    assert bounces.parse_bounce(b"From: a@example.com\r\nSubject: Out of office\r\n\r\nBack on Monday.") == []
    assert bounces.parse_bounce(b"\x00\xff not mail at all") == []
    other = dsn(delivery).replace(sending.message_id_for(delivery).encode(), b"<someone-else@example.org>")
    assert bounces.parse_bounce(other) == []


def test_a_report_about_another_address_leaves_our_delivery_alone(delivery):
    found = bounces.parse_bounce(dsn(delivery).replace(delivery.email.encode(), b"someone@else.example"))
    assert bounces.apply(found) == 0
    assert not Suppression.objects.exists()


def test_the_bounce_mailbox_is_read_over_imap_and_each_message_flagged(delivery, imap_server, settings):
    import imaplib

    settings.CAMPAIGN_BOUNCE_IMAP_HOST, settings.CAMPAIGN_BOUNCE_IMAP_PORT = imap_server.host, imap_server.port
    settings.CAMPAIGN_BOUNCE_IMAP_SSL = False
    settings.CAMPAIGN_BOUNCE_IMAP_USER, settings.CAMPAIGN_BOUNCE_IMAP_PASSWORD = "support", "secret"
    other = DeliveryFactory(sent=True)
    imap_server.deliver("support", dsn(delivery))
    imap_server.deliver("support", dsn(other, action="delayed", status="4.4.1"))
    imap_server.deliver("support", b"From: boss@example.com\r\nSubject: lunch?\r\n\r\nNoon.\r\n")

    assert tasks.poll_bounces() == {"read": 3, "bounces": 2}
    assert tasks.poll_bounces() == {"read": 0, "bounces": 0}  # all flagged seen

    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.BOUNCED
    assert Delivery.objects.get(pk=other.pk).status == Delivery.Status.SENT
    assert list(Suppression.objects.values_list("email_key", flat=True)) == [email_key(delivery.email)]
    with imaplib.IMAP4(imap_server.host, imap_server.port) as connection:
        connection.login("support", "secret")
        connection.select("INBOX")
        assert connection.search(None, "UNSEEN")[1] == [b""]


def test_without_a_mailbox_the_poll_does_nothing(settings):
    settings.CAMPAIGN_BOUNCE_IMAP_HOST = ""
    assert tasks.poll_bounces() == {"configured": False}


def post(client, body, content_type, token=TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(reverse("campaigns:bounce_webhook"), body, content_type=content_type, **headers)


def test_the_webhook_takes_json_events_with_its_secret(client, delivery, settings):
    settings.CAMPAIGN_BOUNCE_WEBHOOK_TOKEN = TOKEN
    events = {"events": [{"message_id": sending.message_id_for(delivery), "recipient": delivery.email, "type": "hard"}]}

    assert post(client, json.dumps(events), "application/json", token="wrong").status_code == 401
    assert post(client, json.dumps(events), "application/json", token="").status_code == 401
    response = post(client, json.dumps(events), "application/json")

    assert response.status_code == 200 and response.json() == {"received": 1, "recorded": 1}
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.BOUNCED


def test_the_webhook_takes_a_bounce_message_as_is(client, delivery, settings):
    settings.CAMPAIGN_BOUNCE_WEBHOOK_TOKEN = TOKEN
    response = post(client, dsn(delivery), "message/rfc822")
    assert response.json() == {"received": 1, "recorded": 1}


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("not json", "application/json", 400),
        ('{"events": "x"}', "application/json", 400),
        ('{"events": [{"message_id": 5}]}', "application/json", 400),
        ('{"events": [{"message_id": "<a@b>", "type": "maybe"}]}', "application/json", 400),
        ("<xml/>", "application/xml", 415),
    ],
)
def test_the_webhook_refuses_what_it_cannot_read_with_a_reason(client, settings, body, content_type, status):
    settings.CAMPAIGN_BOUNCE_WEBHOOK_TOKEN = TOKEN
    response = post(client, body, content_type)
    assert response.status_code == status and "error" in response.json()


def test_the_webhook_is_off_without_a_secret(client, settings):
    settings.CAMPAIGN_BOUNCE_WEBHOOK_TOKEN = ""
    assert post(client, "{}", "application/json").status_code == 404


def test_the_envelope_sender_is_the_bounce_address_when_set(smtp_inbox, settings):
    from campaigns.tests.factories import CampaignFactory

    settings.CAMPAIGN_RETURN_PATH = "bounces@mail.example.com"
    delivery = DeliveryFactory(campaign=CampaignFactory(sending=True, from_name="市场部"))
    sending.send_some(delivery.campaign_id)

    (message,) = smtp_inbox.messages
    assert message.envelope_from == "bounces@mail.example.com"
    assert "news@example.com" in message["From"] and len(message.get_all("From")) == 1


def test_a_forged_report_cannot_bounce_anyone(delivery):
    """The bounce address is public: a report must name our real, signed Message-ID in the
    returned headers and the address we mailed."""
    real = dsn(delivery)
    guessed = f"<campaign-{delivery.campaign_id}-{delivery.pk}-{'0' * 20}@mail.example.com>"
    assert (
        bounces.apply(bounces.parse_bounce(real.replace(sending.message_id_for(delivery).encode(), guessed.encode())))
        == 0
    )
    no_recipient = real.replace(f"Final-Recipient: rfc822; {delivery.email}".encode(), b"Final-Recipient: rfc822;")
    no_recipient = no_recipient.replace(f"Original-Recipient: rfc822;{delivery.email}".encode(), b"")
    assert bounces.apply(bounces.parse_bounce(no_recipient)) == 0
    in_the_text_only = (
        b"From: someone@evil.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\n" + sending.message_id_for(delivery).encode() + b"\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
        b"Final-Recipient: rfc822; " + delivery.email.encode() + b"\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n"
    )
    assert bounces.apply(bounces.parse_bounce(in_the_text_only)) == 0
    assert not Suppression.objects.exists()


def test_an_unknown_charset_is_read_as_utf8_not_a_server_error(client, delivery, settings):
    settings.CAMPAIGN_BOUNCE_WEBHOOK_TOKEN = TOKEN
    body = dsn(delivery).replace(b"Content-Type: text/plain", b"Content-Type: text/plain; charset=x-bogus")
    response = post(client, body, "message/rfc822")
    assert response.status_code == 200 and response.json()["recorded"] == 1
