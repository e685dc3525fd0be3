"""Who may write on a ticket by e-mail, with real servers (dovecot for IMAP, aiosmtpd for SMTP).

Ticket numbers are sequential, so a number in the subject proves nothing about the sender. An
e-mail threads onto a ticket when it answers one of the ticket's messages (In-Reply-To or
References: the sender had the conversation, a forward included), or when its subject names the
ticket and it comes from the requester, a colleague at the ticket's company or someone who
already wrote on the ticket. Anyone else opens a ticket of their own, which tells the agents
which ticket the e-mail named; the named ticket and its people hear nothing of it."""
# ruff: noqa: F811 - `desk` is test_email_intake's fixture, imported to be asked for by name

import pytest
from django.urls import reverse

from customers.models import Contact
from customers.tests.factories import CompanyFactory, ContactFactory
from tickets import intake, services
from tickets.models import InboundMail, Message, Ticket
from tickets.tests.test_email_intake import desk, mail, poll  # noqa: F401

pytestmark = pytest.mark.django_db
Status = Ticket.Status
REQUESTER = "李雷 <li.lei@customer.example>"


def _open_ticket(desk, capture, smtp_inbox, *, sender=REQUESTER) -> tuple[Ticket, str]:
    raw, message_id = mail("打印机坏了", "打印机一直显示离线。", sender=sender)
    desk["server"].deliver("support", raw)
    assert poll(desk, capture) == {"opened": 1}
    smtp_inbox.messages.clear()  # the acknowledgment
    return Ticket.objects.get(origin_message_id=message_id), message_id


def _write(desk, capture, subject, body, *, sender, headers=None) -> dict:
    raw, _id = mail(subject, body, sender=sender, headers=headers)
    desk["server"].deliver("support", raw)
    return poll(desk, capture)


def _customer_bodies(ticket) -> list[str]:
    return list(ticket.messages.filter(kind=Message.Kind.CUSTOMER).values_list("body", flat=True))


def _recipients(smtp_inbox) -> list[str]:
    return sorted(r for message in smtp_inbox.messages for r in message.recipients)


def test_a_stranger_naming_a_ticket_opens_a_ticket_of_their_own_with_a_note(
    client, desk, smtp_inbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ticket, _first = _open_ticket(desk, capture, smtp_inbox)
    services.ticket_set_status(ticket=ticket, actor=desk["agent"], status=Status.PENDING)

    outcome = _write(
        desk,
        capture,
        f"回复：[{ticket.number}] 打印机坏了",
        "我们公司的发票请寄到新地址：<script>alert(1)</script>",
        sender="Mallory <mallory@evil.example>",
    )

    assert outcome == {"opened": 1}
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING and _customer_bodies(ticket) == []
    new = Ticket.objects.exclude(pk=ticket.pk).get()
    assert new.contact == Contact.objects.get(email="mallory@evil.example") != ticket.contact
    assert InboundMail.objects.get(sender="mallory@evil.example").ticket == new
    (note,) = new.messages.filter(kind=Message.Kind.NOTE)
    assert ticket.number in note.body and "mallory@evil.example" in note.body
    # Only the stranger hears of it: the acknowledgment of their own ticket, not the named one's people.
    assert _recipients(smtp_inbox) == ["mallory@evil.example"]
    assert new.number in smtp_inbox.subject(smtp_inbox.messages[0])
    # The agents read the note and the stranger's words as text; the stranger's status page has no note.
    client.force_login(desk["agent"])
    page = client.get(new.get_absolute_url()).content.decode()
    assert note.body in page and "<script>alert(1)</script>" not in page
    client.logout()
    status_page = client.get(reverse("tickets:status", args=[intake.status_token(new)])).content.decode()
    assert "mallory@evil.example" not in status_page


def test_the_requester_threads_by_the_number_in_the_subject(desk, smtp_inbox, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    # The contact's address differs in case from the one the mail comes from: the blind index matches.
    Contact.objects.create(
        family_name="李", given_name="雷", email="Li.Lei@Customer.example", owner=desk["lead"], team=desk["team"]
    )
    ticket, _first = _open_ticket(desk, capture, smtp_inbox, sender="李雷 <LI.LEI@customer.EXAMPLE>")
    services.ticket_set_status(ticket=ticket, actor=desk["agent"], status=Status.PENDING)

    outcome = _write(
        desk, capture, f"[{ticket.number}] 打印机坏了", "重启后还是不行。", sender="李雷 <li.lei@customer.example>"
    )

    assert outcome == {"threaded": 1}
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and _customer_bodies(ticket) == ["重启后还是不行。"]
    assert Ticket.objects.count() == 1 and not ticket.messages.filter(kind=Message.Kind.NOTE).exists()


def test_a_forwarded_conversation_threads_by_in_reply_to_from_another_address(
    desk, smtp_inbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ticket, first_id = _open_ticket(desk, capture, smtp_inbox)
    with capture(execute=True):
        services.ticket_reply(ticket=ticket, actor=desk["agent"], body="请重启打印机后再试。", status="pending")
    (answer,) = smtp_inbox.messages
    forwarded = "韩梅梅 <han.meimei@partner.example>"

    outcome = _write(
        desk,
        capture,
        "Re: Fwd: 打印机坏了",  # no number at all: the headers alone tie it to the conversation
        "我是李雷的同事，重启也没用。",
        sender=forwarded,
        headers={"In-Reply-To": answer["Message-ID"], "References": f"{first_id} {answer['Message-ID']}"},
    )

    assert outcome == {"threaded": 1}
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and _customer_bodies(ticket) == ["我是李雷的同事，重启也没用。"]
    # Having written on the ticket, that address may name it by its number from now on.
    assert _write(desk, capture, f"[{ticket.number}] 补充", "型号是 HP M404。", sender=forwarded) == {"threaded": 1}
    # A stranger's made-up In-Reply-To does not help: the number alone decides, and the note says so.
    outcome = _write(
        desk,
        capture,
        f"[{ticket.number}] 补充",
        "请改寄新地址。",
        sender="Mallory <mallory@evil.example>",
        headers={"In-Reply-To": "<guess@crm.example>"},
    )
    assert outcome == {"opened": 1}
    assert _customer_bodies(ticket) == ["我是李雷的同事，重启也没用。", "型号是 HP M404。"]
    assert Ticket.objects.count() == 2


def test_a_colleague_at_the_tickets_company_threads_and_another_companys_contact_does_not(
    desk, smtp_inbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    owned = {"owner": desk["lead"], "team": desk["team"]}
    company = CompanyFactory(**owned, name="星河科技有限公司")
    ContactFactory(**owned, company=company, family_name="李", given_name="雷", email="li.lei@customer.example")
    ContactFactory(**owned, company=company, family_name="韩", given_name="梅梅", email="han.meimei@customer.example")
    ContactFactory(**owned, company=CompanyFactory(**owned), email="wang.fang@other.example")
    ticket, _first = _open_ticket(desk, capture, smtp_inbox)
    assert ticket.company == company

    colleague = "韩梅梅 <HAN.MEIMEI@customer.example>"
    assert _write(desk, capture, f"[{ticket.number}] 打印机坏了", "我这边也离线。", sender=colleague) == {"threaded": 1}
    assert _customer_bodies(ticket) == ["我这边也离线。"]

    outsider = "王芳 <wang.fang@other.example>"
    assert _write(desk, capture, f"[{ticket.number}] 打印机坏了", "我们也有问题。", sender=outsider) == {"opened": 1}
    assert _customer_bodies(ticket) == ["我这边也离线。"]
    new = Ticket.objects.exclude(pk=ticket.pk).get()
    assert new.contact.email == "wang.fang@other.example" and Contact.objects.count() == 3
    assert ticket.number in new.messages.get(kind=Message.Kind.NOTE).body


def test_the_requester_naming_a_closed_ticket_opens_a_new_one_without_a_note(
    desk, smtp_inbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ticket, _first = _open_ticket(desk, capture, smtp_inbox)
    services.ticket_set_status(ticket=ticket, actor=desk["agent"], status=Status.CLOSED)

    assert _write(desk, capture, f"[{ticket.number}] 又坏了", "又离线了。", sender=REQUESTER) == {"opened": 1}

    new = Ticket.objects.exclude(pk=ticket.pk).get()
    assert new.contact == ticket.contact and not new.messages.filter(kind=Message.Kind.NOTE).exists()


def test_the_requesters_address_forged_by_another_server_opens_a_new_ticket(
    desk, smtp_inbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    ticket, _first = _open_ticket(desk, capture, smtp_inbox)
    services.ticket_set_status(ticket=ticket, actor=desk["agent"], status=Status.PENDING)
    # The receiving server's verdict comes first; the forger's own "pass" below it counts for nothing.
    forged = {
        "Authentication-Results": "mx.crm.example; spf=fail smtp.mailfrom=customer.example; dmarc=fail",
    }

    outcome = _write(
        desk, capture, f"[{ticket.number}] 打印机坏了", "请把退款打到新账户。", sender=REQUESTER, headers=forged
    )

    assert outcome == {"opened": 1}
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING and _customer_bodies(ticket) == []
    new = Ticket.objects.exclude(pk=ticket.pk).get()
    note = new.messages.get(kind=Message.Kind.NOTE).body
    assert ticket.number in note and "SPF/DKIM/DMARC" in note


@pytest.mark.parametrize(
    ("results", "forged"),
    [
        ([], False),
        (["mx.example; spf=pass; dkim=pass; dmarc=pass"], False),
        (["mx.example; dmarc=fail (p=none)"], True),
        (["mx.example; spf=softfail smtp.mailfrom=a.example"], True),
        (["mx.example; spf=fail; dkim=pass header.d=a.example"], False),
        # A signature of another domain, or a result inside a property, vouches for nothing.
        (["mx.example; spf=fail; dkim=pass header.d=evil.example"], True),
        (["mx.example; spf=fail smtp.mailfrom=dkim=pass@x.example"], True),
        (["mx.example; spf=softfail (dkim=pass) header.d=a.example"], True),
        (["mx.example; spf=fail; dkim=pass header.d=example"], False),
        (["mx.example; SPF=Fail"], True),
        # Only the topmost header, the receiving server's, is read.
        (["mx.example; spf=pass; dmarc=pass", "forger; dmarc=fail"], False),
        (["mx.example; dmarc=fail", "forger; dmarc=pass"], True),
    ],
)
def test_the_receiving_servers_authentication_verdict(results, forged):
    from tickets.mail import parse_message

    headers = "".join(f"Authentication-Results: {value}\r\n" for value in results)
    raw = f"{headers}From: a@a.example\r\nSubject: x\r\nMessage-ID: <1@a.example>\r\n\r\nbody\r\n".encode()

    assert parse_message(raw).sender_forged is forged


def test_a_lookalike_of_the_requesters_address_is_not_the_requester(
    desk, smtp_inbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    Contact.objects.create(
        family_name="李", given_name="雷", email="li.lei@customer.example", owner=desk["lead"], team=desk["team"]
    )
    ticket, _first = _open_ticket(desk, capture, smtp_inbox)

    assert intake.writes_on(ticket, "li.lei@customer.example")
    # The e-mail blind index folds these into the requester's address; threading must not.
    for lookalike in ("li.lei@ｃustomer.example", "li.lei@customer.example\u2003", " li.lei@customer.example"):
        assert not intake.writes_on(ticket, lookalike)


def test_a_copy_of_the_opening_message_id_cannot_take_the_conversation(
    desk, smtp_inbox, django_capture_on_commit_callbacks
):
    from tickets.mail import InboundMessage

    capture = django_capture_on_commit_callbacks
    Contact.objects.create(
        family_name="李", given_name="雷", email="li.lei@customer.example", owner=desk["lead"], team=desk["team"]
    )
    ticket, first = _open_ticket(desk, capture, smtp_inbox)
    # A later ticket carrying the same id (sent to another mailbox by someone who saw it).
    copy = services.ticket_create(actor=None, subject="copy", team=desk["team"], origin_message_id=first)

    requester = InboundMessage(
        message_id="<r@customer.example>", references=[first], from_address="li.lei@customer.example"
    )
    stranger = InboundMessage(message_id="<s@evil.example>", references=[first], from_address="mallory@evil.example")

    assert intake._thread_of(requester) == (ticket, None)  # the oldest ticket with the id, from its requester
    assert intake._thread_of(stranger) == (None, ticket)  # an id the customer chose is no proof: a new ticket
    assert copy.pk != ticket.pk
