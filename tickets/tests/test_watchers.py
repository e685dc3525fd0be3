"""Watchers: who may watch a ticket, who may add or remove others (only people they could assign
the ticket to), the "Watching" queue, the audit trail, and the SLA notices watchers receive."""

from datetime import UTC, datetime, timedelta

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from crm import roles
from crm.testing import add_to_team, build_cast, check_permission_matrix, make_team, make_user
from customers.tests.factories import ContactFactory
from tickets import services, sla_watch
from tickets.models import Ticket
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    return build_cast(rep_role=roles.SUPPORT_AGENT, manager_role=roles.SUPPORT_MANAGER)


def _ticket(cast):
    return TicketFactory(owner=cast.owner, team=cast.team)


def _watched_by_teammate(cast):
    ticket = _ticket(cast)
    ticket.watchers.add(cast.teammate)
    return ticket


def _url(name, ticket):
    return reverse(f"tickets:{name}", args=[ticket.pk])


# Watching oneself: whoever sees the ticket and whose role may view tickets; not the read-only
# auditors. What one may not see answers 404.
WATCH = {
    "owner": 302,
    "teammate": 302,
    "manager": 302,
    "outsider": 404,
    "share_viewer": 302,
    "share_editor": 302,
    "marketer": 404,
    "support_agent": 404,
    "support_manager": 404,
    "auditor": 403,
    "admin": 302,
    "anonymous": 302,
}
# Adding the teammate: only someone who works the ticket and could assign to the teammate (the
# team's manager, an administrator, the teammate themselves); another agent or an edit share may
# add only themselves (400).
ADD_TEAMMATE = {**WATCH, "owner": 400, "share_viewer": 403, "share_editor": 400}
# Taking the teammate off: whoever works the ticket, and the teammate themselves.
REMOVE_TEAMMATE = {**WATCH, "share_viewer": 403}


def test_watch(client, desk):
    check_permission_matrix(
        client, desk, url=lambda t: _url("ticket_watch", t), make_record=_ticket, expect=WATCH, method="post"
    )


def test_unwatch(client, desk):
    # Always allowed to whoever sees the ticket: it only takes mail away.
    check_permission_matrix(
        client,
        desk,
        url=lambda t: _url("ticket_unwatch", t),
        make_record=_ticket,
        expect={**WATCH, "auditor": 302},
        method="post",
    )


def test_add_watcher(client, desk):
    check_permission_matrix(
        client,
        desk,
        url=lambda t: _url("watcher_add", t),
        make_record=_ticket,
        expect=ADD_TEAMMATE,
        method="post",
        data=lambda t: {"person": str(desk.teammate.pk)},
    )


def test_remove_watcher(client, desk):
    check_permission_matrix(
        client,
        desk,
        url=lambda t: _url("watcher_remove", t),
        make_record=_watched_by_teammate,
        expect=REMOVE_TEAMMATE,
        method="post",
        data=lambda t: {"person": str(desk.teammate.pk)},
    )


def test_the_actions_are_post_only(client, desk):
    ticket = _ticket(desk)
    client.force_login(desk.manager)
    for name in ("ticket_watch", "ticket_unwatch", "watcher_add", "watcher_remove"):
        assert client.get(_url(name, ticket)).status_code == 405
    assert not ticket.watchers.exists()


def test_the_actions_need_the_csrf_token(desk):
    from django.test import Client

    ticket = _ticket(desk)
    client = Client(enforce_csrf_checks=True)
    client.force_login(desk.owner)
    assert client.post(_url("ticket_watch", ticket)).status_code == 403
    assert not ticket.watchers.exists()


def test_an_outsider_can_neither_watch_nor_add_watchers_to_a_ticket_they_cannot_see(client, desk):
    ticket = _ticket(desk)
    client.force_login(desk.outsider)
    assert client.post(_url("ticket_watch", ticket)).status_code == 404
    assert client.post(_url("watcher_add", ticket), {"person": desk.outsider.pk}).status_code == 404
    client.force_login(desk.support_manager)  # manages another team
    assert client.post(_url("watcher_add", ticket), {"person": desk.support_manager.pk}).status_code == 404
    assert not ticket.watchers.exists()
    assert client.get(reverse("tickets:ticket_list"), {"queue": "watching"}).context["rows"] == []


def test_watching_and_stopping(client, desk):
    ticket = _ticket(desk)
    client.force_login(desk.teammate)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert _url("ticket_watch", ticket) in page and _url("ticket_unwatch", ticket) not in page
    response = client.post(_url("ticket_watch", ticket), follow=True)
    assert list(ticket.watchers.all()) == [desk.teammate]
    page = response.content.decode()
    assert "You are watching this ticket." in page and _url("ticket_unwatch", ticket) in page
    client.post(_url("ticket_watch", ticket))  # twice: still once
    assert ticket.watchers.count() == 1
    client.post(_url("ticket_unwatch", ticket))
    assert not ticket.watchers.exists()


def test_an_auditor_sees_the_watchers_and_may_not_watch(client, desk):
    ticket = _watched_by_teammate(desk)
    client.force_login(desk.auditor)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert desk.teammate.username in page
    assert _url("ticket_watch", ticket) not in page and _url("watcher_add", ticket) not in page
    response = client.post(_url("ticket_watch", ticket))
    assert response.status_code == 403 and "Your role may not watch tickets." in response.content.decode()
    assert list(ticket.watchers.all()) == [desk.teammate]


def test_a_sales_rep_who_sees_the_ticket_through_their_customer_may_watch_it(client, desk):
    from customers.tests.factories import CompanyFactory

    rep = make_user(role=roles.SALES_REP, username="rep")
    ticket = TicketFactory(owner=desk.owner, team=desk.team, company=CompanyFactory(owner=rep), contact=None)
    client.force_login(rep)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert _url("ticket_watch", ticket) in page and _url("watcher_add", ticket) not in page
    assert client.post(_url("ticket_watch", ticket)).status_code == 302
    assert list(ticket.watchers.all()) == [rep]
    assert client.post(_url("watcher_add", ticket), {"person": rep.pk}).status_code == 403


def test_the_picker_offers_whom_the_user_could_assign(client, desk):
    ticket = _ticket(desk)
    client.force_login(desk.manager)
    page = client.get(ticket.get_absolute_url())
    form = page.context["watcher_form"]
    offered = set(form.fields["person"].queryset)
    assert offered == {desk.owner, desk.teammate, desk.manager}
    assert form.fields["person"].widget.source == "crm.assignable_owner"
    client.force_login(desk.teammate)
    form = client.get(ticket.get_absolute_url()).context["watcher_form"]
    assert set(form.fields["person"].queryset) == {desk.teammate}


def test_a_manager_adds_and_removes_a_member_of_their_team(client, desk):
    ticket = _ticket(desk)
    client.force_login(desk.manager)
    response = client.post(_url("watcher_add", ticket), {"person": desk.teammate.pk})
    assert response.status_code == 302
    assert list(ticket.watchers.all()) == [desk.teammate]
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert _url("watcher_remove", ticket) in page
    assert client.post(_url("watcher_remove", ticket), {"person": desk.teammate.pk}).status_code == 302
    assert not ticket.watchers.exists()


@pytest.mark.parametrize(
    "person, reason",
    [
        ("outsider", "Choose someone you could assign tickets to."),
        ("nobody", "Choose someone you could assign tickets to."),
        ("garbage", "Choose someone you could assign tickets to."),
        ("empty", "This field is required."),
    ],
)
def test_adding_someone_one_may_not_assign_is_400_with_the_reason(client, desk, person, reason):
    ticket = _ticket(desk)
    client.force_login(desk.manager)
    value = {"outsider": desk.outsider.pk, "nobody": 999999, "garbage": "x'; --", "empty": ""}[person]
    response = client.post(_url("watcher_add", ticket), {"person": value})
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not ticket.watchers.exists()


def test_an_administrator_may_not_add_someone_who_cannot_see_the_ticket(client, desk):
    ticket = _ticket(desk)
    client.force_login(desk.admin)
    response = client.post(_url("watcher_add", ticket), {"person": desk.outsider.pk})
    assert response.status_code == 400
    assert f"{desk.outsider} cannot see this ticket." in response.content.decode()
    assert not ticket.watchers.exists()


def test_removing_someone_who_does_not_watch_is_400(client, desk):
    ticket = _ticket(desk)
    client.force_login(desk.manager)
    response = client.post(_url("watcher_remove", ticket), {"person": desk.teammate.pk})
    assert response.status_code == 400
    assert "That person does not watch this ticket." in response.content.decode()


def test_every_change_is_audited_with_its_actor(client, desk):
    ticket = _ticket(desk)
    client.force_login(desk.manager)
    client.post(_url("watcher_add", ticket), {"person": desk.teammate.pk})
    client.force_login(desk.teammate)
    client.post(_url("ticket_unwatch", ticket))
    entries = LogEntry.objects.get_for_object(ticket).filter(changes__has_key="watchers").order_by("pk")
    assert [(e.actor, e.changes["watchers"]["operation"], e.changes["watchers"]["objects"]) for e in entries] == [
        (desk.manager, "add", [str(desk.teammate)]),
        (desk.teammate, "delete", [str(desk.teammate)]),
    ]
    history = client.get(ticket.get_absolute_url()).context["history"]
    assert any(change.field == "watchers" for row in history.rows for change in row.changes)


def test_the_watching_queue_lists_the_active_tickets_one_watches(client, desk):
    watched = _watched_by_teammate(desk)
    done = _watched_by_teammate(desk)
    Ticket.objects.filter(pk=done.pk).update(status=Ticket.Status.CLOSED)
    _ticket(desk)
    client.force_login(desk.teammate)
    url = reverse("tickets:ticket_list")
    rows = client.get(url, {"queue": "watching"}).context["rows"]
    assert [t.number for t in rows] == [watched.number]
    assert "queue=watching" in client.get(url).content.decode()
    client.force_login(desk.owner)
    assert client.get(url, {"queue": "watching"}).context["rows"] == []


def test_the_ticket_page_runs_a_fixed_number_of_queries_whatever_its_watchers(
    client, desk, django_assert_max_num_queries
):
    ticket = _ticket(desk)
    ticket.watchers.add(desk.teammate)
    client.force_login(desk.manager)
    client.get(ticket.get_absolute_url())
    with django_assert_max_num_queries(60) as few:
        client.get(ticket.get_absolute_url())
    for number in range(5):
        person = make_user(role=roles.SUPPORT_AGENT, username=f"watcher{number}")
        add_to_team(person, desk.team)
        ticket.watchers.add(person)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(ticket.get_absolute_url())
    assert len(page.context["watchers"]) == 6


# --- Mail: watchers receive the SLA notices the assignee receives ---------------------------------

MONDAY_10 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture
def sla_ticket(settings):
    settings.TICKET_SLA_WARNING_MINUTES = 60
    team = make_team("二线")
    lead = make_user(role=roles.SUPPORT_MANAGER, username="lead", email="lead@example.com")
    agent = make_user(role=roles.SUPPORT_AGENT, username="agent", email="agent@example.com")
    colleague = make_user(role=roles.SUPPORT_AGENT, username="colleague", email="colleague@example.com")
    for person in (agent, colleague):
        add_to_team(person, team)
    add_to_team(lead, team, manager=True)
    contact = ContactFactory(owner=agent, team=team)
    return services.ticket_create(actor=agent, owner=agent, team=team, subject="x", contact=contact, now=MONDAY_10)


def _recipients(inbox) -> list[str]:
    return sorted(r for message in inbox.messages for r in message.recipients)


def test_a_watcher_receives_the_warning_and_the_escalation_once_each(
    sla_ticket, smtp_inbox, django_capture_on_commit_callbacks
):
    members = {user.username: user for user in sla_ticket.team.members.all()}
    agent, lead, colleague = members["agent"], members["lead"], members["colleague"]
    services.ticket_watch(ticket=sla_ticket, actor=colleague)
    services.ticket_watch(ticket=sla_ticket, actor=agent)  # the assignee watching too: still one mail
    services.ticket_watcher_add(ticket=sla_ticket, actor=lead, person=lead)
    due = sla_ticket.first_response_due
    with django_capture_on_commit_callbacks(execute=True):
        sla_watch.watch(now=due - timedelta(minutes=30))
    assert _recipients(smtp_inbox) == ["agent@example.com", "colleague@example.com", "lead@example.com"]
    smtp_inbox.messages.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sla_watch.watch(now=due + timedelta(minutes=1))
        sla_watch.watch(now=due + timedelta(minutes=5))
    assert _recipients(smtp_inbox) == ["agent@example.com", "colleague@example.com", "lead@example.com"]


def test_a_watcher_who_no_longer_sees_the_ticket_or_has_left_gets_nothing(
    sla_ticket, smtp_inbox, django_capture_on_commit_callbacks
):
    from crm.models import TeamMembership

    colleague = sla_ticket.team.members.get(username="colleague")
    services.ticket_watch(ticket=sla_ticket, actor=colleague)
    former = make_user(role=roles.SUPPORT_AGENT, username="former", email="former@example.com")
    add_to_team(former, sla_ticket.team)
    services.ticket_watch(ticket=sla_ticket, actor=former)
    TeamMembership.objects.filter(user=colleague).delete()  # moved to another desk
    former.is_active = False
    former.save()
    with django_capture_on_commit_callbacks(execute=True):
        sla_watch.watch(now=sla_ticket.first_response_due - timedelta(minutes=30))
    assert _recipients(smtp_inbox) == ["agent@example.com"]
