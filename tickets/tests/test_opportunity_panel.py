"""The deal page's Tickets panel: the tickets naming the deal (`related_ref`) that the viewer may
see, newest first and capped, with a link to the ticket list filtered by the deal; hidden from a
role that may not view tickets; in a fixed number of queries however many tickets there are.

Tickets never import pipeline, in tests too: the deal is built through the model pipeline
registered as the "pipeline.opportunity" pick source (`make_deal`) and reached by its URL."""

import pytest
from django.urls import reverse

from crm import panels, roles
from crm.services import record_share
from crm.testing import add_to_team, build_cast, make_team, make_user
from customers.tests.factories import ContactFactory
from tickets import services
from tickets.models import Message, Ticket, related_ref_for
from tickets.selectors import PANEL_LIMIT
from tickets.tests.factories import TicketFactory, make_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(db):
    """A support desk (owner, teammate, manager; outsider on another team) and a sales team whose
    deal tickets name. The desk's owner was shown the deal; so were a marketer (whose role may not
    view tickets) and a second sales rep, who sees none of the tickets."""
    cast = build_cast(rep_role=roles.SUPPORT_AGENT, manager_role=roles.SUPPORT_MANAGER)
    cast.sales = make_team()
    cast.rep = make_user(role=roles.SALES_REP)
    cast.other_rep = make_user(role=roles.SALES_REP)
    add_to_team(cast.rep, cast.sales)
    add_to_team(cast.other_rep, cast.sales)
    cast.deal = make_deal(owner=cast.rep, team=cast.sales, name="华东区年度维保合同")
    for viewer in (cast.owner, cast.marketer, cast.other_rep):
        record_share(obj=cast.deal, recipient=viewer, level="view", actor=cast.rep)
    return cast


def _about(deal, **fields) -> Ticket:
    ticket = TicketFactory(**fields)
    Ticket.objects.filter(pk=ticket.pk).update(related_ref=related_ref_for(deal.pk))
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def ours(cast):
    """The desk's ticket about the deal's customer (whose company the sales rep owns)."""
    contact = ContactFactory(owner=cast.rep, team=cast.sales, company=cast.deal.company)
    return _about(cast.deal, owner=cast.owner, team=cast.team, company=cast.deal.company, contact=contact)


@pytest.fixture
def theirs(cast, ours):
    """Another team's ticket, about another team's customer, naming the same deal (newer)."""
    return _about(cast.deal, owner=cast.outsider, team=cast.other_team)


@pytest.fixture
def unrelated(cast, ours):
    """The desk's ticket about the same customer that names no deal."""
    return TicketFactory(owner=cast.owner, team=cast.team, company=cast.deal.company, contact=ours.contact)


def _panel(client, user, deal):
    client.force_login(user)
    response = client.get(deal.get_absolute_url())
    assert response.status_code == 200
    shown = {panel.key: context for panel, context in response.context["panels"]}
    return shown.get("tickets"), response.content.decode()


def test_an_agent_sees_the_tickets_naming_the_deal_that_they_may_see(client, cast, ours, theirs, unrelated):
    panel, html = _panel(client, cast.owner, cast.deal)
    assert panel["tickets"] == [ours]
    assert f'href="{ours.get_absolute_url()}"' in html and ours.subject in html
    for hidden in (theirs, unrelated):
        assert hidden.number not in html and hidden.get_absolute_url() not in html
    list_url = reverse("tickets:ticket_list") + f"?related={cast.deal.pk}"
    assert panel["list_url"] == list_url and f'href="{list_url}"' in html
    assert 'aria-label="Tickets"' in html


def test_an_administrator_sees_every_ticket_naming_the_deal_newest_first(client, cast, ours, theirs, unrelated):
    panel, html = _panel(client, cast.admin, cast.deal)
    assert panel["tickets"] == [theirs, ours]
    assert unrelated.number not in html


def test_a_sales_rep_sees_only_the_tickets_of_their_customers(client, cast, ours, theirs):
    """The rep's role views tickets: those of the customers they own, manage or were shared."""
    panel, html = _panel(client, cast.rep, cast.deal)
    assert panel["tickets"] == [ours]
    assert theirs.number not in html


def test_a_sales_rep_who_may_see_none_of_them_sees_an_empty_panel(client, cast, ours, theirs):
    panel, html = _panel(client, cast.other_rep, cast.deal)
    assert panel["tickets"] == []
    assert "No tickets you can see." in html
    assert ours.number not in html and theirs.number not in html


def test_a_role_that_may_not_view_tickets_gets_no_panel(client, cast, ours, theirs):
    panel, html = _panel(client, cast.marketer, cast.deal)  # sees the deal through its share
    assert panel is None
    assert ours.number not in html and theirs.number not in html
    assert 'aria-label="Tickets"' not in html


def test_the_panel_is_capped(client, cast):
    tickets = [
        _about(cast.deal, owner=cast.owner, team=cast.team, subject=f"第{i}个问题") for i in range(PANEL_LIMIT + 2)
    ]
    panel, _html = _panel(client, cast.owner, cast.deal)
    assert panel["tickets"] == tickets[::-1][:PANEL_LIMIT]


def test_a_deal_no_ticket_names_shows_an_empty_panel(client, cast, ours):
    other = make_deal(owner=cast.rep, team=cast.sales, name="西南区扩容项目")
    record_share(obj=other, recipient=cast.owner, level="view", actor=cast.rep)
    panel, html = _panel(client, cast.owner, other)
    assert panel["tickets"] == [] and ours.number not in html


# Pinned: the deal page with its Tickets panel, as an agent who was shown the deal.
PAGE_QUERIES = 12
# What the panel adds to it: the tickets (the viewer's shared tickets and contacts, which
# `visible_tickets` scopes by, come from the cache).
PANEL_QUERIES = 1


def test_the_page_runs_a_fixed_number_of_queries(client, cast, ours, django_assert_num_queries):
    client.force_login(cast.owner)
    url = cast.deal.get_absolute_url()
    client.get(url)  # per-process caches
    with django_assert_num_queries(PAGE_QUERIES):
        assert client.get(url).status_code == 200
    for i in range(5):
        _about(cast.deal, owner=cast.owner, team=cast.team, subject=f"追加问题 {i}")
    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(url)
    shown = {panel.key: context for panel, context in response.context["panels"]}
    assert len(shown["tickets"]["tickets"]) == 6


def test_what_the_panel_costs(client, cast, ours, monkeypatch, django_assert_num_queries):
    client.force_login(cast.owner)
    url = cast.deal.get_absolute_url()
    client.get(url)
    others = [p for p in panels._panels["pipeline.opportunity"] if p.key != "tickets"]
    monkeypatch.setitem(panels._panels, "pipeline.opportunity", others)
    with django_assert_num_queries(PAGE_QUERIES - PANEL_QUERIES):
        response = client.get(url)
    assert "tickets" not in {p.key for p, _c in response.context["panels"]}


# --- The list filtered by the deal -----------------------------------------------------------


def _listed(client, user, deal) -> str:
    client.force_login(user)
    response = client.get(reverse("tickets:ticket_list"), {"related": deal.pk})
    assert response.status_code == 200
    return response.content.decode()


def test_the_list_filtered_by_the_deal_shows_the_tickets_naming_it(client, cast, ours, theirs, unrelated):
    html = _listed(client, cast.owner, cast.deal)
    assert ours.number in html
    assert theirs.number not in html and unrelated.number not in html
    html = _listed(client, cast.admin, cast.deal)
    assert ours.number in html and theirs.number in html and unrelated.number not in html


def test_a_deal_the_viewer_may_not_see_is_an_ignored_filter(client, cast, ours, unrelated):
    client.force_login(cast.teammate)  # works the desk's tickets, was not shown the deal
    response = client.get(reverse("tickets:ticket_list"), {"related": cast.deal.pk})
    assert response.status_code == 200
    assert response.context["filter_form"].errors["related"]
    html = response.content.decode()
    assert cast.deal.name not in html
    assert ours.number in html and unrelated.number in html  # the filter is ignored, not applied


def test_the_split_ticket_shows_on_the_deal_page(client, cast, ours):
    message = Message.objects.create(ticket=ours, kind=Message.Kind.CUSTOMER, body="另外，发票抬头要改")
    new = services.ticket_split(message=message, actor=cast.owner)
    panel, _html = _panel(client, cast.owner, cast.deal)
    assert panel["tickets"] == [new, ours]


def test_the_list_reads_the_viewers_deals_only_when_filtered_by_one(client, cast, ours):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(cast.owner)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("tickets:ticket_list"))
    assert response.status_code == 200 and "related" not in response.context["filter_form"].fields
    assert not any("pipeline_opportunity" in q["sql"] for q in queries.captured_queries)

    response = client.get(reverse("tickets:ticket_list"), {"related": cast.deal.pk})
    assert "related" in response.context["filter_form"].fields


def test_the_demo_names_a_deal_on_an_open_request(db):
    from crm.demo import seed_demo
    from crm.pickers import record_source_model
    from tickets.models import RELATED_SOURCE

    seed_demo()
    named = Ticket.objects.exclude(related_ref="")
    (ticket,) = named
    deal = record_source_model(RELATED_SOURCE)._default_manager.get(pk=ticket.related_pk)
    assert ticket.is_active and deal.company_id == (ticket.company_id or ticket.contact.company_id)
