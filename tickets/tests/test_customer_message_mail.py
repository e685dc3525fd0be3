"""When the customer writes on an existing ticket (through the status link, by e-mail, or merged
in from a duplicate), the assignee — unassigned, the team's managers — and the watchers are
mailed once each, in their language, with the start of the message and the ticket's address.
Internal notes, agents' replies, new tickets and automatic mail tell nobody; people who left or
lost sight of the ticket are not told; a mail server that is away delays the mail, not the message."""

import pytest
from celery import current_app
from django.utils import translation
from django.utils.translation import trans_real

from crm import roles
from crm.models import TeamMembership
from crm.testing import add_to_team, make_team, make_user
from customers.tests.factories import ContactFactory
from tickets import imap, intake, mailing, services
from tickets.models import Mailbox, Message, Ticket
from tickets.tests.factories import TicketFactory
from tickets.tests.test_email_intake import mail

pytestmark = pytest.mark.django_db
SITE = "https://crm.example"


class Desk:
    def __init__(self):
        self.team = make_team("二线支持")
        self.other_team = make_team("一线支持")
        self.lead = make_user(role=roles.SUPPORT_MANAGER, username="lead", email="lead@crm.example")
        self.agent = make_user(role=roles.SUPPORT_AGENT, username="agent", email="agent@crm.example")
        self.colleague = make_user(role=roles.SUPPORT_AGENT, username="colleague", email="colleague@crm.example")
        add_to_team(self.lead, self.team, manager=True)
        add_to_team(self.agent, self.team)
        add_to_team(self.colleague, self.team)
        self.contact = ContactFactory(
            owner=self.agent, team=self.team, family_name="李", given_name="雷", email="li.lei@customer.example"
        )

    def ticket(self, *, owner="agent", watchers=("colleague",)) -> Ticket:
        ticket = TicketFactory(
            owner=getattr(self, owner) if owner else None,
            team=self.team,
            contact=self.contact,
            company=None,
            subject="打印机离线",
        )
        for name in watchers:
            services.ticket_watch(ticket=ticket, actor=getattr(self, name))
        return ticket


@pytest.fixture
def desk(settings):
    settings.SITE_URL = SITE
    settings.TICKET_FROM_EMAIL = "support@crm.example"
    return Desk()


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[-1].partition("/")[2]


def _recipients(inbox) -> list[str]:
    return sorted(r for message in inbox.messages for r in message.recipients)


def _status_reply(client, ticket, body, capture):
    with capture(execute=True):
        response = client.post(_path(intake.status_url(ticket)), {"body": body})
    assert response.status_code == 302
    return response


def test_a_reply_through_the_status_link_tells_the_assignee_and_the_watcher_once_each(
    client, desk, smtp_inbox, django_capture_on_commit_callbacks
):
    ticket = desk.ticket(watchers=("colleague", "agent"))  # the assignee watching too: still one mail
    _status_reply(client, ticket, "抬头是：星河科技有限公司\n\n请尽快处理。", django_capture_on_commit_callbacks)
    assert _recipients(smtp_inbox) == ["agent@crm.example", "colleague@crm.example"]
    url = f"{SITE}{ticket.get_absolute_url()}"
    for message in smtp_inbox.messages:
        assert smtp_inbox.subject(message) == f"[{ticket.number}] New message from 李雷: 打印机离线"
        body = smtp_inbox.body(message).replace("\r\n", "\n")
        assert "抬头是：星河科技有限公司\n\n请尽快处理。" in body and url in body
        assert message["Auto-Submitted"] == "auto-generated"
    assert "li.lei@customer.example" not in _recipients(smtp_inbox)


def test_a_reply_by_email_tells_the_assignee_and_the_watcher_and_a_new_ticket_or_an_auto_reply_nobody(
    desk, imap_server, smtp_inbox, django_capture_on_commit_callbacks
):
    mailbox = Mailbox.objects.create(
        name="support",
        host=imap_server.host,
        port=imap_server.port,
        use_ssl=False,
        username="support",
        password="secret",
        contact_owner=desk.lead,
        team=desk.team,
    )
    services.set_on_shift(actor=desk.lead, on_shift=False)
    services.set_on_shift(actor=desk.colleague, on_shift=False)

    def poll():
        with django_capture_on_commit_callbacks(execute=True):
            return imap.poll(Mailbox.objects.get(pk=mailbox.pk))

    raw, _id = mail("打印机坏了", "打印机一直显示离线。")
    imap_server.deliver("support", raw)
    assert poll() == {"opened": 1}
    ticket = Ticket.objects.get()
    assert ticket.owner == desk.agent
    assert _recipients(smtp_inbox) == ["li.lei@customer.example"]  # the acknowledgment only
    services.ticket_watch(ticket=ticket, actor=desk.colleague)
    smtp_inbox.messages.clear()

    raw, _id = mail(f"回复：[{ticket.number}] 打印机坏了", "重启后还是不行。\n\n> 打印机一直显示离线。")
    imap_server.deliver("support", raw)
    assert poll() == {"threaded": 1}
    assert _recipients(smtp_inbox) == ["agent@crm.example", "colleague@crm.example"]
    for message in smtp_inbox.messages:
        assert smtp_inbox.subject(message) == f"[{ticket.number}] New message from 李雷: 打印机坏了"
        body = smtp_inbox.body(message)
        assert "重启后还是不行。" in body and "> 打印机一直显示离线" not in body
        assert f"{SITE}{ticket.get_absolute_url()}" in body
    smtp_inbox.messages.clear()

    out_of_office = {"Auto-Submitted": "auto-replied"}
    raw, _id = mail(f"自动回复：[{ticket.number}] 打印机坏了", "我正在休假。", headers=out_of_office)
    imap_server.deliver("support", raw)
    assert poll() == {"automatic": 1}
    assert smtp_inbox.messages == []


def test_internal_notes_and_agents_replies_tell_nobody(desk, smtp_inbox, django_capture_on_commit_callbacks):
    ticket = desk.ticket()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=ticket, actor=desk.agent, body="内部：等备件", public=False)
        services.ticket_reply(ticket=ticket, actor=desk.agent, body="请重启设备。")
    assert _recipients(smtp_inbox) == ["li.lei@customer.example"]  # the public reply, to the customer


def test_an_unassigned_ticket_tells_the_teams_manager_and_the_watchers(
    client, desk, smtp_inbox, django_capture_on_commit_callbacks
):
    ticket = desk.ticket(owner=None)
    _status_reply(client, ticket, "有人吗？", django_capture_on_commit_callbacks)
    assert _recipients(smtp_inbox) == ["colleague@crm.example", "lead@crm.example"]


def test_people_who_left_or_lost_sight_of_the_ticket_are_not_told(
    client, desk, smtp_inbox, django_capture_on_commit_callbacks
):
    ticket = desk.ticket(watchers=("colleague", "lead"))
    TeamMembership.objects.filter(user=desk.colleague).delete()
    add_to_team(desk.colleague, desk.other_team)  # moved to another desk
    desk.lead.is_active = False
    desk.lead.save()
    _status_reply(client, ticket, "还在吗？", django_capture_on_commit_callbacks)
    assert _recipients(smtp_inbox) == ["agent@crm.example"]


def test_a_deactivated_assignee_is_not_told(client, desk, smtp_inbox, django_capture_on_commit_callbacks):
    ticket = desk.ticket()
    desk.agent.is_active = False
    desk.agent.save()
    _status_reply(client, ticket, "还在吗？", django_capture_on_commit_callbacks)
    assert _recipients(smtp_inbox) == ["colleague@crm.example"]


def test_a_merged_request_tells_the_survivors_people_but_not_who_merged_it(
    desk, smtp_inbox, django_capture_on_commit_callbacks
):
    survivor = desk.ticket(watchers=("colleague",))
    duplicate = desk.ticket(watchers=())
    duplicate.description = "打印机还是离线"
    duplicate.save(update_fields=["description"])
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_merge(survivor=survivor, merged=duplicate, actor=desk.colleague)
    (notice,) = smtp_inbox.messages
    assert notice.recipients == ["agent@crm.example"]
    assert "打印机还是离线" in smtp_inbox.body(notice)


def test_each_person_reads_it_in_their_language_and_header_fields_stay_on_one_line(
    desk, smtp_inbox, django_capture_on_commit_callbacks, monkeypatch
):
    catalog = trans_real.translation("zh-hans")._catalog._catalogs[0]
    monkeypatch.setitem(
        catalog,
        "[%(number)s] New message from %(customer)s: %(subject)s",
        "[%(number)s] %(customer)s 发来新消息：%(subject)s",
    )
    desk.colleague.language = "zh-hans"
    desk.colleague.save(update_fields=["language"])
    ticket = desk.ticket()
    with django_capture_on_commit_callbacks(execute=True), translation.override("en"):
        services.customer_message(ticket=ticket, body="x" * 600, author_name="Mallory\r\nBcc: all@crm.example")
    by_person = {message.recipients[0]: message for message in smtp_inbox.messages}
    assert set(by_person) == {"agent@crm.example", "colleague@crm.example"}
    assert smtp_inbox.subject(by_person["agent@crm.example"]) == (
        f"[{ticket.number}] New message from Mallory Bcc: all@crm.example: 打印机离线"
    )
    assert smtp_inbox.subject(by_person["colleague@crm.example"]) == (
        f"[{ticket.number}] Mallory Bcc: all@crm.example 发来新消息：打印机离线"
    )
    for message in smtp_inbox.messages:
        assert message["Bcc"] is None
        body = smtp_inbox.body(message)
        assert "x" * 500 + "…" in body and "x" * 501 not in body


def test_a_mail_server_away_delays_the_mail_not_the_customers_message(
    client, desk, smtp_inbox, django_capture_on_commit_callbacks, settings, monkeypatch
):
    ticket = desk.ticket()
    real_port, attempts = settings.EMAIL_PORT, []
    send = mailing.send_customer_message_notice

    def flaky(**kwargs):
        # The first attempt finds the server away (nothing listens on port 1); it is back for the retry.
        settings.EMAIL_PORT = 1 if not attempts else real_port
        attempts.append(kwargs)
        return send(**kwargs)

    monkeypatch.setattr(mailing, "send_customer_message_notice", flaky)
    # As a worker does: a failed attempt is retried, not raised to whoever queued the task.
    propagates = current_app.conf.task_eager_propagates
    current_app.conf.task_eager_propagates = False
    try:
        _status_reply(client, ticket, "打印机又离线了", django_capture_on_commit_callbacks)
    finally:
        current_app.conf.task_eager_propagates = propagates
    assert ticket.messages.filter(kind=Message.Kind.CUSTOMER, body="打印机又离线了").exists()
    assert len(attempts) == 2
    assert _recipients(smtp_inbox) == ["agent@crm.example", "colleague@crm.example"]


def test_the_status_page_reply_is_refused_without_mail_when_the_ticket_is_closed(
    client, desk, smtp_inbox, django_capture_on_commit_callbacks
):
    ticket = desk.ticket()
    Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CLOSED)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_path(intake.status_url(ticket)), {"body": "还有问题"})
    assert response.status_code == 400
    assert smtp_inbox.messages == []
