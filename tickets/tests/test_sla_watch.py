"""The SLA watch: the assignee is warned before a due time, the assignee and the team's managers
are told once it passes; each once per due time, and again only when the due time moves."""

from datetime import UTC, datetime, timedelta

import pytest

from crm import roles
from crm.testing import add_to_team, make_team, make_user
from tickets import services, sla_watch
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
Status = Ticket.Status
MONDAY_10 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def ticket(settings):
    settings.TICKET_SLA_WARNING_MINUTES = 60
    team = make_team("一线")
    lead = make_user(role=roles.SUPPORT_MANAGER, username="lead", email="lead@example.com")
    agent = make_user(role=roles.SUPPORT_AGENT, username="agent", email="agent@example.com")
    add_to_team(lead, team, manager=True)
    add_to_team(agent, team)
    from customers.tests.factories import ContactFactory

    contact = ContactFactory(owner=agent, team=team)
    # Normal priority: first response within 4 business hours, due 15:00 Shanghai (07:00 UTC).
    return services.ticket_create(actor=agent, owner=agent, team=team, subject="x", contact=contact, now=MONDAY_10)


def test_warning_then_escalation_each_once(ticket, smtp_inbox, django_capture_on_commit_callbacks):
    due = ticket.first_response_due
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_watch.watch(now=due - timedelta(hours=2)) == {"warned": 0, "escalated": 0}
        assert sla_watch.watch(now=due - timedelta(minutes=30)) == {"warned": 1, "escalated": 0}
        assert sla_watch.watch(now=due - timedelta(minutes=20)) == {"warned": 0, "escalated": 0}
    (warning,) = smtp_inbox.messages
    assert warning.recipients == ["agent@example.com"] and ticket.number in smtp_inbox.subject(warning)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_watch.watch(now=due + timedelta(minutes=1)) == {"warned": 0, "escalated": 1}
        assert sla_watch.watch(now=due + timedelta(minutes=10)) == {"warned": 0, "escalated": 0}
    escalation = smtp_inbox.messages[1:]
    assert sorted(r for m in escalation for r in m.recipients) == ["agent@example.com", "lead@example.com"]
    ticket.refresh_from_db()
    assert ticket.first_response_breached and ticket.escalated_at is not None


def test_a_pending_ticket_is_not_watched_and_a_moved_due_time_is_watched_again(
    ticket, smtp_inbox, django_capture_on_commit_callbacks
):
    due = ticket.first_response_due
    with django_capture_on_commit_callbacks(execute=True):
        sla_watch.watch(now=due - timedelta(minutes=30))
    assert len(smtp_inbox.messages) == 1
    services.ticket_set_status(
        ticket=ticket, actor=ticket.owner, status=Status.PENDING, now=due - timedelta(minutes=25)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_watch.watch(now=due + timedelta(hours=5)) == {"warned": 0, "escalated": 0}
    # Back from pending a day later: the due time moved, the warning may come again.
    services.customer_message(ticket=ticket, body="在", now=due + timedelta(days=1))
    ticket.refresh_from_db()
    assert ticket.warned_at is None and ticket.first_response_due > due + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_watch.watch(now=ticket.first_response_due - timedelta(minutes=10))["warned"] == 1


def test_changing_the_business_hours_recomputes_the_open_tickets_only(ticket, django_capture_on_commit_callbacks):
    from tickets.models import BusinessHours

    closed = services.ticket_create(
        actor=ticket.owner, owner=ticket.owner, team=ticket.team, subject="y", contact=ticket.contact, now=MONDAY_10
    )
    services.ticket_set_status(ticket=closed, actor=ticket.owner, status=Status.CLOSED, now=MONDAY_10)
    closed.refresh_from_db()
    before_closed = closed.resolution_due
    hours = BusinessHours.objects.get()
    hours.weekly_hours = "mon-sun 00:00-24:00"
    with django_capture_on_commit_callbacks(execute=True):
        hours.save()
    ticket.refresh_from_db()
    closed.refresh_from_db()
    # Around the clock now: four real hours from Monday 10:00.
    assert ticket.first_response_due == MONDAY_10 + timedelta(hours=4)
    assert closed.resolution_due == before_closed


def test_a_recomputation_audits_what_the_trail_keeps_and_writes_the_rest_in_one_statement(ticket):
    from auditlog.models import LogEntry
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.models import BusinessHours

    moved = services.ticket_create(
        actor=ticket.owner, owner=ticket.owner, team=ticket.team, subject="y", contact=ticket.contact, now=MONDAY_10
    )
    # Hours around the clock move both tickets' due times (left out of the trail); `ticket` also
    # carries a stale breach flag (audited).
    BusinessHours.objects.filter(pk=moved.sla_policy.hours_id).update(weekly_hours="mon-sun 00:00-24:00")
    Ticket.objects.filter(pk=ticket.pk).update(resolution_breached=True)
    entries = LogEntry.objects.get_for_object(ticket).count()
    moved_entries = LogEntry.objects.get_for_object(moved).count()

    with CaptureQueriesContext(connection) as queries:
        assert sla_watch.recompute_open(now=MONDAY_10) == 2
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "tickets_ticket"')]

    ticket.refresh_from_db()
    moved.refresh_from_db()
    assert moved.first_response_due == MONDAY_10 + timedelta(hours=4)
    assert not ticket.resolution_breached
    assert LogEntry.objects.get_for_object(ticket).count() == entries + 1  # the flag, audited
    assert LogEntry.objects.get_for_object(moved).count() == moved_entries  # due times only
    assert len(updates) == 2  # one save, one statement for the rest of the batch

    # Run again: nothing is new, nothing is written.
    with CaptureQueriesContext(connection) as queries:
        assert sla_watch.recompute_open(now=MONDAY_10) == 2
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]


def test_a_late_first_response_does_not_hide_the_resolution_breach(
    ticket, smtp_inbox, django_capture_on_commit_callbacks
):
    response_due = ticket.first_response_due
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_watch.watch(now=response_due + timedelta(minutes=1))["escalated"] == 1
    # The agent answers late; the resolution target is the next one, and it is watched too.
    services.ticket_reply(ticket=ticket, actor=ticket.owner, body="在处理", now=response_due + timedelta(hours=1))
    ticket.refresh_from_db()
    assert ticket.first_response_breached and ticket.next_due() == ticket.resolution_due
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_watch.watch(now=ticket.resolution_due - timedelta(minutes=30))["warned"] == 1
        assert sla_watch.watch(now=ticket.resolution_due + timedelta(minutes=1))["escalated"] == 1
    ticket.refresh_from_db()
    assert ticket.resolution_breached
