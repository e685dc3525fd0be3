"""The ticket screens: who may open and work which ticket (the whole cast, over every URL), the
queues, the company page's panel, the global search, and a fixed number of queries per page."""

import pytest
from django.urls import reverse

from crm import roles
from crm.testing import build_cast, check_permission_matrix, make_user
from customers.tests.factories import CompanyFactory, ContactFactory
from tickets.models import Message, Ticket
from tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
Status = Ticket.Status


@pytest.fixture
def desk():
    """The cast as a support desk: agents in the owner's team, its support manager, outsiders."""
    return build_cast(rep_role=roles.SUPPORT_AGENT, manager_role=roles.SUPPORT_MANAGER)


def _ticket(cast):
    return TicketFactory(owner=cast.owner, team=cast.team)


# Agents of the ticket's team work it together; shares open it; outsiders get 404 (no probing).
SEE = {
    "owner": 200,
    "teammate": 200,
    "manager": 200,
    "outsider": 404,
    "share_viewer": 200,
    "share_editor": 200,
    "marketer": 404,
    "support_agent": 404,
    "support_manager": 404,
    "auditor": 200,
    "admin": 200,
    "anonymous": 302,
}
WORK = {**SEE, "share_viewer": 403, "auditor": 403}
WORK_POST = {role: 302 if status == 200 else status for role, status in WORK.items()}
# Reassigning (and sharing): the team's managers and administrators. The assignee works the
# ticket as a member of its team and does not hand it on (crm.permissions.register_team_worked).
ASSIGN_POST = {**WORK_POST, "owner": 403, "teammate": 403, "share_editor": 403}
# Deleting: the role decides, and agents may not delete.
DELETE_POST = {**ASSIGN_POST, "owner": 403}


def test_detail(client, desk):
    check_permission_matrix(client, desk, url=lambda t: t.get_absolute_url(), make_record=_ticket, expect=SEE)


def test_edit_page(client, desk):
    check_permission_matrix(
        client, desk, url=lambda t: reverse("tickets:ticket_edit", args=[t.pk]), make_record=_ticket, expect=WORK
    )


def test_reply(client, desk):
    check_permission_matrix(
        client,
        desk,
        url=lambda t: reverse("tickets:ticket_reply", args=[t.pk]),
        make_record=_ticket,
        expect=WORK_POST,
        method="post",
        data=lambda t: {"body": "已处理", "public": "0", "status": ""},
    )


def test_status(client, desk):
    check_permission_matrix(
        client,
        desk,
        url=lambda t: reverse("tickets:ticket_status", args=[t.pk]),
        make_record=_ticket,
        expect=WORK_POST,
        method="post",
        data=lambda t: {"status": "pending"},
    )


def test_assign(client, desk):
    check_permission_matrix(
        client,
        desk,
        url=lambda t: reverse("tickets:ticket_assign", args=[t.pk]),
        make_record=_ticket,
        expect=ASSIGN_POST,
        method="post",
        data=lambda t: {"owner": ""},
    )


def test_delete(client, desk):
    check_permission_matrix(
        client,
        desk,
        url=lambda t: reverse("tickets:ticket_delete", args=[t.pk]),
        make_record=_ticket,
        expect=DELETE_POST,
        method="post",
    )


def test_a_refused_reply_changes_nothing(client, desk):
    ticket = _ticket(desk)
    client.force_login(desk.auditor)
    assert (
        client.post(reverse("tickets:ticket_reply", args=[ticket.pk]), {"body": "x", "public": "0"}).status_code == 403
    )
    client.force_login(desk.outsider)
    assert client.post(reverse("tickets:ticket_status", args=[ticket.pk]), {"status": "closed"}).status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and not Message.objects.exists()


def test_a_sales_rep_sees_the_tickets_of_their_customers_and_no_others(client, desk):
    rep = make_user(role=roles.SALES_REP, username="rep")
    company = CompanyFactory(owner=rep)
    theirs = TicketFactory(owner=desk.owner, team=desk.team, company=company, contact=None)
    other = _ticket(desk)
    client.force_login(rep)
    assert client.get(theirs.get_absolute_url()).status_code == 200
    assert client.get(other.get_absolute_url()).status_code == 404
    assert client.get(reverse("tickets:ticket_reply", args=[theirs.pk])).status_code == 405
    assert (
        client.post(reverse("tickets:ticket_reply", args=[theirs.pk]), {"body": "x", "public": "0"}).status_code == 403
    )
    listed = client.get(reverse("tickets:ticket_list")).content.decode()
    assert theirs.number in listed and other.number not in listed


def test_an_agent_opens_the_requester_of_a_ticket_they_work(client, desk):
    contact = ContactFactory(owner=desk.manager, team=desk.other_team)  # not the agent's customer
    ticket = TicketFactory(owner=desk.owner, team=desk.team, contact=contact, company=None)
    client.force_login(desk.teammate)
    assert client.get(contact.get_absolute_url()).status_code == 200
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)
    assert client.get(contact.get_absolute_url()).status_code == 404


def test_internal_notes_show_to_staff_only_as_notes(client, desk):
    ticket = _ticket(desk)
    Message.objects.create(ticket=ticket, kind=Message.Kind.NOTE, body="<b>内部备注</b>")
    client.force_login(desk.teammate)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert "&lt;b&gt;内部备注&lt;/b&gt;" in page and "<b>内部备注</b>" not in page


def test_queues(client, desk):
    mine = TicketFactory(owner=desk.owner, team=desk.team)
    unassigned = TicketFactory(owner=None, team=desk.team)
    pending = TicketFactory(owner=desk.teammate, team=desk.team, status=Status.PENDING)
    client.force_login(desk.owner)
    url = reverse("tickets:ticket_list")

    def numbers(queue):
        rows = client.get(url, {"queue": queue}).context["rows"]
        return {t.number for t in rows}

    assert numbers("mine") == {mine.number}
    assert numbers("unassigned") == {unassigned.number}
    assert numbers("pending") == {pending.number}
    assert numbers("team") == {mine.number, unassigned.number, pending.number}


def test_the_list_runs_a_fixed_number_of_queries(client, desk, django_assert_max_num_queries):
    for _ in range(3):
        TicketFactory(owner=desk.owner, team=desk.team)
    client.force_login(desk.owner)
    url = reverse("tickets:ticket_list")
    client.get(url)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    for _ in range(10):
        TicketFactory(owner=desk.owner, team=desk.team)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert len(response.context["rows"]) == 13


def test_the_ticket_page_runs_a_fixed_number_of_queries(client, desk, django_assert_max_num_queries):
    ticket = _ticket(desk)
    Message.objects.create(ticket=ticket, kind=Message.Kind.CUSTOMER, body="第一条")
    client.force_login(desk.owner)
    client.get(ticket.get_absolute_url())
    with django_assert_max_num_queries(60) as few:
        client.get(ticket.get_absolute_url())
    for i in range(10):
        Message.objects.create(ticket=ticket, kind=Message.Kind.CUSTOMER, body=f"第{i}条")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(ticket.get_absolute_url())


def test_the_company_page_lists_its_tickets_and_offers_a_phone_ticket(client, desk):
    ticket = _ticket(desk)
    client.force_login(desk.owner)
    page = client.get(ticket.company.get_absolute_url()).content.decode()
    assert ticket.number in page
    assert reverse("tickets:ticket_create") + f"?company={ticket.company.pk}&amp;channel=phone" in page


def test_a_phone_ticket_in_two_clicks_from_the_customer_page(client, desk):
    company = CompanyFactory(owner=desk.owner, team=desk.team)
    contact = ContactFactory(owner=desk.owner, team=desk.team, company=company)
    client.force_login(desk.owner)
    form_url = reverse("tickets:ticket_create") + f"?contact={contact.pk}&channel=phone"
    page = client.get(form_url)
    assert page.status_code == 200
    assert page.context["form"].initial["channel"] == "phone"
    response = client.post(
        form_url,
        {
            "subject": "电话：发票抬头错误",
            "contact": contact.pk,
            "channel": "phone",
            "priority": page.context["form"].initial["priority"],
        },
    )
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.company, ticket.contact) == ("phone", company, contact)


def test_global_search_finds_tickets_by_number_and_subject(client, desk):
    ticket = TicketFactory(owner=desk.owner, team=desk.team, subject="发票抬头错误")
    other = _ticket(desk)
    client.force_login(desk.outsider)
    assert ticket.number not in client.get(reverse("search"), {"q": "发票"}).content.decode()
    client.force_login(desk.owner)
    page = client.get(reverse("search"), {"q": "发票"}).content.decode()
    assert ticket.number in page and other.number not in page


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_pages_speak_the_users_language(client, desk, language):
    ticket = _ticket(desk)
    desk.owner.language = language
    desk.owner.save()
    client.force_login(desk.owner)
    detail = client.get(ticket.get_absolute_url(), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    listing = client.get(reverse("tickets:ticket_list"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    if language == "zh-hans":
        assert "对话" in detail and "服务水平" in detail
        assert "未分配" in listing
    else:
        assert "Conversation" in detail and "Unassigned" in listing


def test_bulk_actions_change_only_the_tickets_one_may_work(client, desk):
    from customers.models import Tag
    from tickets.models import Priority

    mine = TicketFactory(owner=desk.owner, team=desk.team)
    foreign = TicketFactory(owner=desk.outsider, team=desk.other_team)
    urgent = Priority.objects.get(name="紧急 Urgent")
    vip = Tag.objects.create(name="重点客户")
    client.force_login(desk.owner)
    url = reverse("tickets:ticket_list")
    for data in (
        {"action": "priority", "priority": urgent.pk},
        {"action": "add_tag", "tag": vip.pk},
        {"action": "status", "status": "pending"},
    ):
        assert client.post(url, {**data, "ids": [mine.pk, foreign.pk]}).status_code == 302
    mine.refresh_from_db()
    foreign.refresh_from_db()
    assert (mine.priority, mine.status, list(mine.tags.all())) == (urgent, Status.PENDING, [vip])
    assert mine.first_response_due is None  # pending: the clock stopped
    assert (foreign.priority != urgent, foreign.status, foreign.tags.count()) == (True, Status.NEW, 0)


def test_the_list_fixes_its_join_order_for_its_page_only(client, desk):
    from django.db import connection

    from crm import pagination
    from tickets.selectors import ticket_list

    tickets = [TicketFactory(owner=desk.owner, team=desk.team) for _ in range(3)]
    queryset = ticket_list(user=desk.admin, filters={})
    page = pagination.keyset_page(queryset, ordering=("-created_at", "-id"), size=2)
    assert [t.pk for t in page.items] == [t.pk for t in reversed(tickets)][:2]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW join_collapse_limit")
            assert cursor.fetchone()[0] == "8"  # back to the default for the next statements


def test_a_search_keeps_the_planners_join_order_and_sees_only_what_it_may(client, desk, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from crm import pagination
    from tickets.selectors import ticket_list

    mine = TicketFactory(owner=desk.owner, team=desk.team, subject="打印机离线")
    TicketFactory(owner=desk.owner, team=desk.team, subject="发票抬头")
    searched = ticket_list(user=desk.admin, filters={"q": "打印机"})
    listed = ticket_list(user=desk.admin, filters={})

    # A search's matching ids are a semi-join: a fixed join order would join the whole table first.
    assert pagination._has_semi_join(searched.query.where)
    assert not pagination._has_semi_join(listed.query.where)
    with CaptureQueriesContext(connection) as queries:
        page = pagination.keyset_page(searched, ordering=("-created_at", "-id"), size=10)
    assert [t.pk for t in page.items] == [mine.pk]
    assert not any("join_collapse_limit" in q["sql"] for q in queries.captured_queries)


def test_going_off_shift_shows_on_the_next_list(client):
    """The shift state comes with the user's cached teams, which the toggle forgets."""
    from crm import roles
    from crm.testing import add_to_team, make_team, make_user

    agent = make_user(role=roles.SUPPORT_AGENT)
    add_to_team(agent, make_team())
    client.force_login(agent)
    url = reverse("tickets:ticket_list")
    assert client.get(url).context["shift"] is True
    client.post(reverse("tickets:shift"), {"on_shift": "0"})
    assert client.get(url).context["shift"] is False
    client.post(reverse("tickets:shift"), {"on_shift": "1"})
    assert client.get(url).context["shift"] is True
