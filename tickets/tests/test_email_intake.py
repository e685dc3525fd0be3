"""E-mail to ticket and back, with real servers: dovecot serves the support mailbox over IMAP
(tickets/tests/imap_server.py) and aiosmtpd receives what the CRM sends (crm/tests/smtp.py).

A customer writes; the ticket opens with a number, lands with the right team by rule, and the
customer gets an acknowledgment threaded under their mail; the agent answers from the ticket
page and the answer threads too; the customer's reply to it threads onto the same ticket and
restarts the clock; nothing is handled twice, and automatic replies never loop."""

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.urls import reverse
from django.utils import timezone

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from customers.models import Contact, Interaction
from tickets import imap
from tickets.models import AssignmentRule, Category, InboundMail, Mailbox, Message, Ticket

pytestmark = pytest.mark.django_db
Status = Ticket.Status


def mail(subject, body, *, sender="李雷 <li.lei@customer.example>", headers=None, attachments=()) -> tuple[bytes, str]:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@crm.example"
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message_id = make_msgid(domain="customer.example")
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content_type, content in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(message), message_id


@pytest.fixture
def desk(imap_server, settings):
    settings.TICKET_FROM_EMAIL = "support@crm.example"
    team = make_team("二线支持")
    lead = make_user(role=roles.SUPPORT_MANAGER, username="lead", email="lead@crm.example")
    agent = make_user(role=roles.SUPPORT_AGENT, username="agent", email="agent@crm.example")
    add_to_team(lead, team, manager=True)
    add_to_team(agent, team)
    from tickets.services import set_on_shift

    set_on_shift(actor=lead, on_shift=False)
    fault = Category.objects.get(name="故障 Fault")
    AssignmentRule.objects.create(name="故障 → 二线", category=fault, team=team)
    mailbox = Mailbox.objects.create(
        name="support",
        host=imap_server.host,
        port=imap_server.port,
        use_ssl=False,
        username="support",
        password="secret",
        category=fault,
        contact_owner=lead,
        team=team,
    )
    return {"server": imap_server, "mailbox": mailbox, "team": team, "agent": agent, "lead": lead}


def poll(desk, capture):
    with capture(execute=True):
        return imap.poll(Mailbox.objects.get(pk=desk["mailbox"].pk))


def test_the_whole_round_trip(client, desk, smtp_inbox, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    raw, first_id = mail("打印机坏了", "打印机一直显示离线，请帮忙。\n\n李雷")
    desk["server"].deliver("support", raw)
    assert poll(desk, capture) == {"opened": 1}

    ticket = Ticket.objects.get()
    assert ticket.number.startswith(f"T-{timezone.localdate().year}-")
    assert (ticket.channel, ticket.team, ticket.owner) == ("email", desk["team"], desk["agent"])
    assert ticket.origin_message_id == first_id
    contact = Contact.objects.get(email="li.lei@customer.example")
    assert ticket.contact == contact and contact.display_name == "李雷"
    assert ticket.first_response_due is not None

    (ack,) = smtp_inbox.messages
    assert ack.recipients == ["li.lei@customer.example"]
    assert ticket.number in smtp_inbox.subject(ack)
    assert ack["In-Reply-To"] == first_id and ack["Auto-Submitted"] == "auto-replied"
    assert "/service/status/" in smtp_inbox.body(ack)

    client.force_login(desk["agent"])
    with capture(execute=True):
        response = client.post(
            reverse("tickets:ticket_reply", args=[ticket.pk]),
            {"body": "请重启打印机后再试。", "public": "1", "status": "pending"},
        )
    assert response.status_code == 302
    answer = smtp_inbox.messages[-1]
    assert "请重启打印机后再试。" in smtp_inbox.body(answer)
    assert answer["In-Reply-To"] == first_id
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING and ticket.resolution_due is None

    raw, reply_id = mail(
        "回复：" + smtp_inbox.subject(answer),
        "重启后好了，谢谢！\n\n> 请重启打印机后再试。",
        headers={"In-Reply-To": answer["Message-ID"], "References": f"{first_id} {answer['Message-ID']}"},
    )
    desk["server"].deliver("support", raw)
    assert poll(desk, capture) == {"threaded": 1}
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.resolution_due is not None
    customer_message = ticket.messages.get(kind=Message.Kind.CUSTOMER)
    assert customer_message.body == "重启后好了，谢谢！"
    assert customer_message.message_id == reply_id
    assert Ticket.objects.count() == 1
    assert Interaction.objects.filter(contact=contact, kind=Interaction.Kind.TICKET).count() >= 3


def test_each_message_is_handled_once(desk, smtp_inbox, django_capture_on_commit_callbacks):
    raw, _id = mail("VPN 断线", "每十分钟断一次")
    desk["server"].deliver("support", raw)
    assert poll(desk, django_capture_on_commit_callbacks) == {"opened": 1}
    assert poll(desk, django_capture_on_commit_callbacks) == {}
    # The same message again, as after a crash between acting on it and flagging it seen.
    desk["server"].deliver("support", raw)
    assert poll(desk, django_capture_on_commit_callbacks) == {"already": 1}
    assert Ticket.objects.count() == 1 and len(smtp_inbox.messages) == 1


@pytest.mark.parametrize(
    "headers,sender",
    [
        ({"Auto-Submitted": "auto-replied"}, "李雷 <li.lei@customer.example>"),
        ({"X-Autoreply": "yes"}, "李雷 <li.lei@customer.example>"),
        ({"Return-Path": "<>"}, "Mail Delivery System <MAILER-DAEMON@customer.example>"),
    ],
)
def test_automatic_replies_and_bounces_open_nothing_and_get_no_answer(
    desk, smtp_inbox, django_capture_on_commit_callbacks, headers, sender
):
    raw, _id = mail("自动回复：我正在休假", "我将于下周一返回。", headers=headers, sender=sender)
    desk["server"].deliver("support", raw)
    assert poll(desk, django_capture_on_commit_callbacks) == {"automatic": 1}
    assert not Ticket.objects.exists() and smtp_inbox.messages == []
    assert InboundMail.objects.get().outcome == InboundMail.Outcome.AUTOMATIC


def test_a_known_sender_is_not_duplicated_and_attachments_are_downloads_only(
    client, desk, smtp_inbox, django_capture_on_commit_callbacks
):
    existing = Contact.objects.create(
        family_name="李", given_name="雷", email="Li.Lei@Customer.example", owner=desk["lead"], team=desk["team"]
    )
    html = b"<script>alert(document.cookie)</script>"
    raw, _id = mail(
        "截图",
        "见附件",
        attachments=[("报错.html", "text/html", html), ("log.txt", "text/plain", b"error 23")],
    )
    desk["server"].deliver("support", raw)
    poll(desk, django_capture_on_commit_callbacks)
    ticket = Ticket.objects.get()
    assert ticket.contact == existing and Contact.objects.count() == 1
    files = {a.filename: a for a in ticket.attachments.all()}
    assert set(files) == {"报错.html", "log.txt"}
    client.force_login(desk["agent"])
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert files["报错.html"].get_absolute_url() in page
    response = client.get(files["报错.html"].get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == html
    outsider = make_user(role=roles.SUPPORT_AGENT, username="outsider")
    client.force_login(outsider)
    assert client.get(files["log.txt"].get_absolute_url()).status_code == 404
    client.logout()
    assert client.get(files["log.txt"].get_absolute_url()).status_code == 302


def test_a_mailbox_that_cannot_be_reached_is_reported_and_the_others_go_on(desk, django_capture_on_commit_callbacks):
    Mailbox.objects.create(
        name="broken", host="127.0.0.1", port=1, use_ssl=False, username="x", password="y", contact_owner=desk["lead"]
    )
    raw, _id = mail("发票", "请重开发票")
    desk["server"].deliver("support", raw)
    with django_capture_on_commit_callbacks(execute=True):
        results = imap.poll_all()
    assert results["support"] == {"opened": 1}
    assert "error" in results["broken"]
    assert Mailbox.objects.get(name="broken").last_error


def test_a_message_that_cannot_be_taken_is_recorded_and_the_next_one_is_read(
    desk, smtp_inbox, django_capture_on_commit_callbacks
):
    bad, _id = mail("求助", "打印机坏了", sender="root <root@intranet>")
    good, _id2 = mail("求助", "打印机坏了", sender="王芳 <wang.fang@customer.example>")
    desk["server"].deliver("support", bad)
    desk["server"].deliver("support", good)
    assert poll(desk, django_capture_on_commit_callbacks) == {"refused": 1, "opened": 1}
    refused = InboundMail.objects.get(outcome=InboundMail.Outcome.REFUSED)
    assert refused.sender == "root@intranet" and refused.detail
    assert poll(desk, django_capture_on_commit_callbacks) == {}  # both flagged seen
    assert Ticket.objects.count() == 1


def test_a_message_too_large_is_recorded_and_left_behind(desk, settings, django_capture_on_commit_callbacks):
    settings.TICKET_MAIL_MAX_BYTES = 2000
    big, _id = mail("日志", "见附件", attachments=[("log.txt", "text/plain", b"x" * 5000)])
    desk["server"].deliver("support", big)
    assert poll(desk, django_capture_on_commit_callbacks) == {"refused": 1}
    assert "larger" in InboundMail.objects.get().detail
    assert not Ticket.objects.exists()
    assert poll(desk, django_capture_on_commit_callbacks) == {}
