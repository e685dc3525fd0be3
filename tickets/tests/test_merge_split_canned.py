"""Merging two tickets of one customer, splitting a message into a ticket of its own, canned
responses with merge fields, and files sent with a reply (kept, mailed, within the limit)."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm import roles
from crm.testing import build_cast
from customers.tests.factories import ContactFactory
from tickets import services
from tickets.models import CannedResponse, Message, Ticket
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
Status = Ticket.Status


@pytest.fixture
def cast(db):
    return build_cast(rep_role=roles.SUPPORT_AGENT, manager_role=roles.SUPPORT_MANAGER)


@pytest.fixture
def pair(cast):
    first = TicketFactory(owner=cast.owner, team=cast.team, description="打印机离线")
    second = TicketFactory(
        owner=cast.owner, team=cast.team, company=first.company, contact=first.contact, description="打印机还是离线"
    )
    Message.objects.create(ticket=second, kind=Message.Kind.CUSTOMER, body="补充截图")
    return first, second


def test_merge_moves_the_conversation_and_closes_the_duplicate(client, cast, pair):
    survivor, duplicate = pair
    client.force_login(cast.teammate)
    page = client.get(duplicate.get_absolute_url()).content.decode()
    assert survivor.number in page  # offered as the target
    response = client.post(reverse("tickets:ticket_merge", args=[duplicate.pk]), {"into": survivor.pk})
    assert response.status_code == 302 and response["Location"] == survivor.get_absolute_url()
    duplicate.refresh_from_db()
    assert duplicate.status == Status.CLOSED
    bodies = list(survivor.messages.values_list("body", flat=True))
    assert "打印机还是离线" in bodies and "补充截图" in bodies
    assert any(duplicate.number in body for body in bodies)
    assert duplicate.messages.filter(kind=Message.Kind.NOTE, body__contains=survivor.number).exists()


def test_merge_refuses_another_customers_ticket_and_itself(cast, pair):
    survivor, _duplicate = pair
    stranger = TicketFactory(owner=cast.owner, team=cast.team)
    with pytest.raises(ValidationError):
        services.ticket_merge(survivor=survivor, merged=stranger, actor=cast.owner)
    with pytest.raises(ValidationError):
        services.ticket_merge(survivor=survivor, merged=survivor, actor=cast.owner)
    stranger.refresh_from_db()
    assert stranger.status == Status.NEW and not stranger.messages.exists()


def test_a_ticket_one_may_not_work_is_no_merge_target(client, cast, pair):
    survivor, duplicate = pair
    client.force_login(cast.outsider)
    assert client.post(reverse("tickets:ticket_merge", args=[duplicate.pk]), {"into": survivor.pk}).status_code == 404
    client.force_login(cast.auditor)
    assert client.post(reverse("tickets:ticket_merge", args=[duplicate.pk]), {"into": survivor.pk}).status_code == 403
    duplicate.refresh_from_db()
    assert duplicate.status == Status.NEW


def test_split_makes_a_customer_message_a_ticket_of_its_own(client, cast, pair):
    _first, ticket = pair
    message = ticket.messages.get(body="补充截图")
    client.force_login(cast.owner)
    response = client.post(reverse("tickets:message_split", args=[message.pk]))
    assert response.status_code == 302
    new = Ticket.objects.exclude(pk__in=[t.pk for t in pair]).get()
    assert (new.subject, new.contact, new.company, new.owner) == (
        "补充截图",
        ticket.contact,
        ticket.company,
        cast.owner,
    )
    message.refresh_from_db()
    assert message.ticket == new
    assert ticket.messages.filter(kind=Message.Kind.NOTE, body__contains=new.number).exists()
    note = ticket.messages.filter(kind=Message.Kind.NOTE).first()
    with pytest.raises(ValidationError):
        services.ticket_split(message=note, actor=cast.owner)


def test_a_canned_response_fills_the_reply_with_its_merge_fields(client, cast):
    contact = ContactFactory(owner=cast.owner, team=cast.team, family_name="李", given_name="雷")
    ticket = TicketFactory(owner=cast.owner, team=cast.team, contact=contact, company=None, subject="发票")
    canned = CannedResponse.objects.create(
        title="已收到", body="{customer}您好，工单 {number}（{subject}）已收到。{unknown} —— {agent}"
    )
    client.force_login(cast.owner)
    form = client.get(ticket.get_absolute_url(), {"canned": canned.pk}).context["reply_form"]
    assert form.initial["body"] == f"李雷您好，工单 {ticket.number}（发票）已收到。{{unknown}} —— {cast.owner}"
    assert client.get(ticket.get_absolute_url(), {"canned": "abc"}).status_code == 200


def test_files_sent_with_a_public_reply_are_kept_and_mailed(
    client, cast, smtp_inbox, django_capture_on_commit_callbacks, settings
):
    ticket = TicketFactory(owner=cast.owner, team=cast.team)
    ticket.contact.email = "li@customer.example"
    ticket.contact.save()
    client.force_login(cast.owner)
    url = reverse("tickets:ticket_reply", args=[ticket.pk])
    guide = SimpleUploadedFile("重启步骤.pdf", b"%PDF-1.4 steps", content_type="application/pdf")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"body": "见附件", "public": "1", "files": [guide]})
    assert response.status_code == 302
    reply = ticket.messages.get(kind=Message.Kind.REPLY)
    assert [a.filename for a in reply.attachments.all()] == ["重启步骤.pdf"]
    (mail,) = smtp_inbox.messages
    names = [part.get_filename() for part in mail.walk() if part.get_filename()]
    assert names == ["重启步骤.pdf"]
    settings.TICKET_ATTACHMENT_MAX_BYTES = 10
    too_big = SimpleUploadedFile("big.bin", b"x" * 11)
    response = client.post(url, {"body": "再发一次", "public": "0", "files": [too_big]})
    assert response.status_code == 400
    assert ticket.messages.count() == 1
