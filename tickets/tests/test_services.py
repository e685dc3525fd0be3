"""The ticket services: numbers, assignment by rule and rotation, the SLA clock through the
status workflow, replies and the customer's messages, and what reaches the customer's timeline."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from customers.models import Interaction
from customers.tests.factories import CompanyFactory, ContactFactory
from tickets import services
from tickets.models import AssignmentRule, BusinessHours, Category, Message, Priority, SlaPolicy, SlaTarget, Ticket
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
Status = Ticket.Status

# Monday 2 March 2026, 10:00 in Shanghai (a working day of the default office hours).
MONDAY_10 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def desk():
    """A support team: a manager and two agents on shift, and a customer of theirs."""
    team = make_team("一线支持")
    manager = make_user(role=roles.SUPPORT_MANAGER, username="lead", email="lead@example.com")
    agents = [make_user(role=roles.SUPPORT_AGENT, username=f"agent{i}", email=f"a{i}@example.com") for i in (1, 2)]
    add_to_team(manager, team, manager=True)
    for agent in agents:
        add_to_team(agent, team)
    company = CompanyFactory(owner=agents[0], team=team, name="星河科技")
    contact = ContactFactory(owner=agents[0], team=team, company=company, email="li@example.com")
    return {"team": team, "manager": manager, "agents": agents, "company": company, "contact": contact}


def _standard_target(priority_name="普通 Normal"):
    return SlaTarget.objects.get(policy__name="标准 Standard", priority__name=priority_name)


def test_numbers_are_gap_free_per_year(desk):
    first = services.ticket_create(actor=desk["agents"][0], subject="A", contact=desk["contact"], now=MONDAY_10)
    second = services.ticket_create(actor=desk["agents"][0], subject="B", contact=desk["contact"], now=MONDAY_10)
    assert first.number == "T-2026-000001"
    assert second.number == "T-2026-000002"
    with pytest.raises(ValidationError):
        services.ticket_create(actor=desk["agents"][0], subject="", contact=desk["contact"], now=MONDAY_10)
    third = services.ticket_create(actor=desk["agents"][0], subject="C", contact=desk["contact"], now=MONDAY_10)
    assert third.number == "T-2026-000003", "a refused ticket gives its number back"
    next_year = services.ticket_create(
        actor=desk["agents"][0], subject="D", contact=desk["contact"], now=datetime(2027, 1, 1, 1, tzinfo=UTC)
    )
    assert next_year.number == "T-2027-000001"


def test_a_new_ticket_goes_by_rule_to_the_team_and_round_robin_skips_agents_off_shift(desk):
    fault = Category.objects.get(name="故障 Fault")
    AssignmentRule.objects.create(name="故障", category=fault, team=desk["team"])
    one, two = desk["agents"]
    picked = [
        services.ticket_create(actor=None, subject=f"#{i}", contact=desk["contact"], category=fault, channel="email")
        for i in range(4)
    ]
    assert [t.team for t in picked] == [desk["team"]] * 4
    # The manager works tickets too (their role may); the rotation goes by user id.
    rotation = [t.owner for t in picked]
    assert rotation[0] != rotation[1] and rotation[:3] == sorted(rotation[:3], key=lambda u: u.pk)
    assert rotation[3] == rotation[0]
    services.set_on_shift(actor=one, on_shift=False)
    later = [services.ticket_create(actor=None, subject="x", contact=desk["contact"], category=fault) for _ in range(3)]
    assert one not in [t.owner for t in later]
    assert all(t.status == Status.NEW for t in later)


def test_least_loaded_picks_the_agent_with_fewest_active_tickets(desk):
    one, two = desk["agents"]
    services.set_on_shift(actor=desk["manager"], on_shift=False)
    AssignmentRule.objects.create(name="all", team=desk["team"], method=AssignmentRule.Method.LEAST_LOADED)
    for _ in range(2):
        TicketFactory(owner=one, team=desk["team"])
    chosen = services.ticket_create(actor=None, subject="x", contact=desk["contact"])
    assert chosen.owner == two


def test_without_a_rule_or_agents_the_ticket_waits_unassigned_in_the_team(desk, settings):
    settings.TICKET_DEFAULT_TEAM = desk["team"].name
    for person in (desk["manager"], *desk["agents"]):
        services.set_on_shift(actor=person, on_shift=False)
    ticket = services.ticket_create(actor=None, subject="x", contact=desk["contact"])
    assert ticket.team == desk["team"] and ticket.owner is None
    assert ticket.status == Status.NEW


def test_sla_due_times_follow_business_hours_and_pause_while_pending(desk):
    agent = desk["agents"][0]
    ticket = services.ticket_create(
        actor=agent, owner=agent, team=desk["team"], subject="x", contact=desk["contact"], now=MONDAY_10
    )
    target = _standard_target()
    assert ticket.sla_policy == target.policy
    # Normal: first response in 4 business hours (10:00 + 2h to 12:00, lunch 12-13, then 2h to 15:00).
    assert ticket.first_response_due == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    # Resolution in 40 business hours = 5 working days of 8 hours: next Monday 10:00.
    assert ticket.resolution_due == datetime(2026, 3, 9, 2, 0, tzinfo=UTC)

    # Waiting on the customer from Monday 11:00 to Tuesday 11:00: 8 business hours paused.
    services.ticket_set_status(ticket=ticket, actor=agent, status=Status.PENDING, now=MONDAY_10 + timedelta(hours=1))
    ticket.refresh_from_db()
    assert ticket.first_response_due is None and ticket.resolution_due is None
    assert ticket.next_due() is None
    services.customer_message(ticket=ticket, body="补充信息", now=MONDAY_10 + timedelta(days=1, hours=1))
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.first_response_due == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    assert ticket.resolution_due == datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


def test_holidays_of_the_business_hours_stop_the_clock(desk):
    hours = BusinessHours.objects.get()
    hours.holidays = "2026-03-02 holiday"
    hours.save()
    agent = desk["agents"][0]
    ticket = services.ticket_create(
        actor=agent, owner=agent, team=desk["team"], subject="x", contact=desk["contact"], now=MONDAY_10
    )
    # Tuesday 09:00-12:00 and 13:00-14:00 in Shanghai.
    assert ticket.first_response_due == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)


def test_a_grade_policy_wins_over_the_standard_one_and_priority_changes_move_the_clock(desk):
    desk["company"].grade = "A"
    desk["company"].save(update_fields=["grade"])
    hours = BusinessHours.objects.get()
    vip = SlaPolicy.objects.create(name="VIP", order=0, customer_grade="A", hours=hours)
    SlaPolicy.objects.filter(name="标准 Standard").update(order=10)
    urgent = Priority.objects.get(name="紧急 Urgent")
    normal = Priority.objects.get(name="普通 Normal")
    SlaTarget.objects.create(policy=vip, priority=normal, first_response_minutes=60, resolution_minutes=480)
    SlaTarget.objects.create(policy=vip, priority=urgent, first_response_minutes=15, resolution_minutes=120)
    agent = desk["agents"][0]
    ticket = services.ticket_create(
        actor=agent, owner=agent, team=desk["team"], subject="x", contact=desk["contact"], now=MONDAY_10
    )
    assert ticket.sla_policy == vip
    assert ticket.first_response_due == MONDAY_10 + timedelta(hours=1)
    services.ticket_update(ticket=ticket, actor=agent, priority=urgent)
    ticket.refresh_from_db()
    assert ticket.first_response_due == MONDAY_10 + timedelta(minutes=15)


def test_a_public_reply_is_the_first_response_mailed_in_the_thread(
    desk, smtp_inbox, django_capture_on_commit_callbacks
):
    agent = desk["agents"][0]
    ticket = services.ticket_create(
        actor=agent, owner=agent, team=desk["team"], subject="打印机离线", contact=desk["contact"], now=MONDAY_10
    )
    Message.objects.create(
        ticket=ticket, kind=Message.Kind.CUSTOMER, body="原始邮件", message_id="<orig@customer.example>"
    )
    with django_capture_on_commit_callbacks(execute=True):
        reply = services.ticket_reply(
            ticket=ticket, actor=agent, body="请重启设备。", now=MONDAY_10 + timedelta(hours=1)
        )
    ticket.refresh_from_db()
    assert ticket.first_responded_at == MONDAY_10 + timedelta(hours=1)
    assert ticket.status == Status.OPEN and not ticket.first_response_breached
    (mail,) = smtp_inbox.messages
    assert mail.recipients == ["li@example.com"]
    assert ticket.number in smtp_inbox.subject(mail)
    assert "请重启设备。" in smtp_inbox.body(mail)
    reply.refresh_from_db()
    assert reply.mailed_at is not None
    assert mail["Message-ID"] == reply.message_id
    assert mail["In-Reply-To"] == "<orig@customer.example>"
    assert "<orig@customer.example>" in mail["References"]


def test_an_internal_note_is_never_mailed_and_is_not_a_response(desk, smtp_inbox, django_capture_on_commit_callbacks):
    agent = desk["agents"][0]
    ticket = TicketFactory(owner=agent, team=desk["team"], contact=desk["contact"], company=desk["company"])
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_reply(ticket=ticket, actor=agent, body="内部：客户是 VIP", public=False)
    ticket.refresh_from_db()
    assert ticket.first_responded_at is None
    assert smtp_inbox.messages == []
    assert not Interaction.objects.filter(body__contains="VIP").exists()


def test_a_reply_needs_a_requester_with_an_address_and_changes_nothing_when_refused(desk):
    agent = desk["agents"][0]
    ticket = TicketFactory(owner=agent, team=desk["team"], contact=None, company=desk["company"])
    with pytest.raises(ValidationError):
        services.ticket_reply(ticket=ticket, actor=agent, body="hello")
    assert not ticket.messages.exists()
    with pytest.raises(ValidationError):
        services.ticket_reply(ticket=ticket, actor=agent, body="   ", public=False)


def test_status_workflow_refuses_impossible_moves(desk):
    agent = desk["agents"][0]
    ticket = TicketFactory(owner=agent, team=desk["team"])
    services.ticket_set_status(ticket=ticket, actor=agent, status=Status.CLOSED)
    with pytest.raises(ValidationError):
        services.ticket_set_status(ticket=ticket, actor=agent, status=Status.PENDING)
    services.ticket_set_status(ticket=ticket, actor=agent, status=Status.OPEN)
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.closed_at is None and ticket.resolved_at is None


def test_a_customer_reply_reopens_a_recently_resolved_ticket_but_not_an_old_one(desk, settings):
    settings.TICKET_REOPEN_DAYS = 7
    agent = desk["agents"][0]
    recent, old = (TicketFactory(owner=agent, team=desk["team"]) for _ in range(2))
    for ticket in (recent, old):
        services.ticket_set_status(ticket=ticket, actor=agent, status=Status.RESOLVED, now=MONDAY_10)
    services.customer_message(ticket=recent, body="又坏了", now=MONDAY_10 + timedelta(days=2))
    services.customer_message(ticket=old, body="又坏了", now=MONDAY_10 + timedelta(days=30))
    recent.refresh_from_db()
    old.refresh_from_db()
    assert recent.status == Status.OPEN and recent.resolved_at is None
    assert old.status == Status.RESOLVED


def test_events_reach_the_customer_timeline(desk):
    agent = desk["agents"][0]
    ticket = services.ticket_create(actor=agent, owner=agent, team=desk["team"], subject="x", contact=desk["contact"])
    services.ticket_set_status(ticket=ticket, actor=agent, status=Status.RESOLVED)
    summaries = list(
        Interaction.objects.filter(company=desk["company"], kind=Interaction.Kind.TICKET).values_list(
            "summary", flat=True
        )
    )
    assert any(ticket.number in s and "opened" in s.lower() or "已创建" in s for s in summaries)
    assert any("resolved" in s.lower() or "已解决" in s for s in summaries)


def test_take_and_assign(desk):
    one, two = desk["agents"]
    ticket = TicketFactory(owner=None, team=desk["team"])
    services.ticket_take(ticket=ticket, actor=one)
    ticket.refresh_from_db()
    assert ticket.owner == one and ticket.status == Status.OPEN
    with pytest.raises(PermissionDenied):
        services.ticket_take(ticket=ticket, actor=two)  # only the manager hands it on
    services.ticket_assign(ticket=ticket, actor=desk["manager"], owner=two)
    ticket.refresh_from_db()
    assert ticket.owner == two
    outsider = make_user(role=roles.SUPPORT_AGENT, username="elsewhere")
    with pytest.raises(PermissionDenied):
        services.ticket_take(ticket=ticket, actor=outsider)


def test_a_customer_the_agent_may_not_see_is_refused(desk):
    stranger = make_user(role=roles.SUPPORT_AGENT, username="stranger")
    add_to_team(stranger, make_team())
    with pytest.raises(PermissionDenied):
        services.ticket_create(actor=stranger, subject="x", contact=desk["contact"])
    assert not Ticket.objects.exists()
