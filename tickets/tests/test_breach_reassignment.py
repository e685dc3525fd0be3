"""Reassignment on a missed resolution target: the SLA policy keeps the assignee (the default),
moves the ticket to its team's unassigned queue, or hands it to the team's manager. The SLA watch
applies it once, when its escalation records the breach; the change is audited and the ticket says
so in its conversation and its history."""

from datetime import UTC, datetime, timedelta

import pytest
from auditlog.models import LogEntry

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from customers.tests.factories import ContactFactory
from tickets import services, sla_watch
from tickets.models import Message, SlaPolicy, Ticket

pytestmark = pytest.mark.django_db
Action = SlaPolicy.BreachAction
MONDAY_10 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def ticket(settings):
    settings.TICKET_SLA_WARNING_MINUTES = 60
    team = make_team("一线")
    lead = make_user(role=roles.SUPPORT_MANAGER, username="lead", email="lead@example.com")
    agent = make_user(role=roles.SUPPORT_AGENT, username="agent", email="agent@example.com")
    add_to_team(lead, team, manager=True)
    add_to_team(agent, team)
    contact = ContactFactory(owner=agent, team=team, email="kehu@example.com")
    ticket = services.ticket_create(actor=agent, owner=agent, team=team, subject="x", contact=contact, now=MONDAY_10)
    # Answered in time: only the resolution target is left to miss.
    services.ticket_reply(ticket=ticket, actor=agent, body="收到", now=MONDAY_10 + timedelta(hours=1))
    ticket.refresh_from_db()
    return ticket


def _policy(action: str) -> None:
    # A queryset update: the policy's save would queue a recompute of every open ticket.
    SlaPolicy.objects.update(on_resolution_breach=action)


def _breach(ticket, capture, minutes: int = 1) -> dict:
    with capture(execute=True):
        return sla_watch.watch(now=ticket.resolution_due + timedelta(minutes=minutes))


def _notes(ticket) -> list[str]:
    return list(ticket.messages.filter(kind=Message.Kind.NOTE).values_list("body", flat=True))


def test_the_default_keeps_the_assignee(ticket, django_capture_on_commit_callbacks):
    assert SlaPolicy.objects.get().on_resolution_breach == Action.KEEP
    agent = ticket.owner
    assert _breach(ticket, django_capture_on_commit_callbacks)["escalated"] == 1
    ticket.refresh_from_db()
    assert ticket.resolution_breached and ticket.owner == agent and _notes(ticket) == []


def test_moved_to_the_unassigned_queue_once_audited_and_said(ticket, smtp_inbox, django_capture_on_commit_callbacks):
    _policy(Action.UNASSIGN)
    agent, team = ticket.owner, ticket.team
    assert _breach(ticket, django_capture_on_commit_callbacks)["escalated"] == 1
    ticket.refresh_from_db()
    assert ticket.owner is None and ticket.team == team and ticket.resolution_breached
    (note,) = _notes(ticket)
    assert "unassigned queue" in note and "标准 Standard" in note
    (entry,) = LogEntry.objects.get_for_object(ticket).filter(additional_data__event=services.BREACH_EVENT)
    assert entry.actor is None and entry.changes["owner"] == [str(agent.pk), "None"]
    # The escalation reaches the managers (the ticket is unassigned now) and the former assignee.
    assert sorted(r for m in smtp_inbox.messages for r in m.recipients) == ["agent@example.com", "lead@example.com"]

    # Once: later runs change nothing, also after the agent took the ticket back.
    services.ticket_take(ticket=ticket, actor=agent)
    assert _breach(ticket, django_capture_on_commit_callbacks, minutes=30) == {"warned": 0, "escalated": 0}
    ticket.refresh_from_db()
    assert ticket.owner == agent and len(_notes(ticket)) == 1
    assert LogEntry.objects.get_for_object(ticket).filter(additional_data__event=services.BREACH_EVENT).count() == 1


def test_handed_to_the_team_manager(ticket, django_capture_on_commit_callbacks):
    _policy(Action.MANAGER)
    _breach(ticket, django_capture_on_commit_callbacks)
    ticket.refresh_from_db()
    assert ticket.owner.username == "lead"
    (note,) = _notes(ticket)
    assert "lead" in note


def test_a_team_without_a_manager_keeps_its_assignee(ticket, django_capture_on_commit_callbacks):
    from crm.models import TeamMembership

    _policy(Action.MANAGER)
    TeamMembership.objects.filter(team=ticket.team, role=TeamMembership.Role.MANAGER).delete()
    agent = ticket.owner
    assert _breach(ticket, django_capture_on_commit_callbacks)["escalated"] == 1
    ticket.refresh_from_db()
    assert ticket.owner == agent and _notes(ticket) == []


def test_a_missed_first_response_does_not_reassign(settings, django_capture_on_commit_callbacks):
    _policy(Action.UNASSIGN)
    team = make_team("二线")
    agent = make_user(role=roles.SUPPORT_AGENT, username="agent2", email="agent2@example.com")
    add_to_team(agent, team)
    contact = ContactFactory(owner=agent, team=team)
    ticket = services.ticket_create(actor=agent, owner=agent, team=team, subject="y", contact=contact, now=MONDAY_10)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_watch.watch(now=ticket.first_response_due + timedelta(minutes=1))["escalated"] == 1
    ticket.refresh_from_db()
    assert ticket.first_response_breached and not ticket.resolution_breached and ticket.owner == agent


def test_the_ticket_page_says_so(client, ticket, django_capture_on_commit_callbacks):
    _policy(Action.UNASSIGN)
    _breach(ticket, django_capture_on_commit_callbacks)
    lead = ticket.team.members.get(username="lead")
    client.force_login(lead)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "Reassigned on a missed resolution target" in page
    assert "The resolution target was missed" in page


def test_the_admin_offers_the_choice(admin_client):
    from django.urls import reverse

    policy = SlaPolicy.objects.get()
    page = admin_client.get(reverse("admin:tickets_slapolicy_change", args=[policy.pk])).content.decode()
    assert 'name="on_resolution_breach"' in page and 'value="manager"' in page
    assert Ticket.objects.count() == 0
