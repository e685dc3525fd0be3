"""A ticket's related opportunity: the deal a support case is about, named by reference
("pipeline.opportunity:<pk>") so that tickets never import pipeline. Chosen on the ticket form
among the deals the editor may see, shown on the ticket page to those who may see the deal,
audited, and kept through a merge.

The import contract (pyproject.toml) holds for tests too, so these build deals without importing
pipeline: through the model pipeline registered as the "pipeline.opportunity" pick source, the
one way tickets' own code reaches it, in the default pipeline's first open stage (seeded)."""

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import roles
from crm.services import record_share
from crm.testing import add_to_team, build_cast, make_team, make_user
from customers.tests.factories import CompanyFactory, ContactFactory
from tickets import services
from tickets.forms import RELATED_FIELD, TicketForm
from tickets.models import Message, Priority, Ticket
from tickets.tests.factories import TicketFactory, make_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    """A support desk (agents, their manager) and a sales team whose deal a ticket is about."""
    cast = build_cast(rep_role=roles.SUPPORT_AGENT, manager_role=roles.SUPPORT_MANAGER)
    cast.sales = make_team()
    cast.rep = make_user(role=roles.SALES_REP)
    cast.sales_manager = make_user(role=roles.SALES_MANAGER)
    add_to_team(cast.rep, cast.sales)
    add_to_team(cast.sales_manager, cast.sales, manager=True)
    cast.deal = make_deal(owner=cast.rep, team=cast.sales, name="华东区年度维保合同")
    # The agent who works the ticket was shown the deal; their teammate was not.
    record_share(obj=cast.deal, recipient=cast.owner, level="view", actor=cast.rep)
    # Another sales team's deal nobody on the desk may see.
    other_sales, other_rep = make_team(), make_user(role=roles.SALES_REP)
    add_to_team(other_rep, other_sales)
    cast.foreign_deal = make_deal(owner=other_rep, team=other_sales, name="西南区扩容项目")
    return cast


@pytest.fixture
def ticket(desk):
    """A ticket of the deal's customer, worked by the desk's agent."""
    contact = ContactFactory(owner=desk.rep, team=desk.sales, company=desk.deal.company)
    return TicketFactory(owner=desk.owner, team=desk.team, company=desk.deal.company, contact=contact)


def _ref(deal) -> str:
    return f"pipeline.opportunity:{deal.pk}"


def _edit_url(ticket) -> str:
    return reverse("tickets:ticket_edit", args=[ticket.pk])


def _form_data(client, url: str, **changes) -> dict:
    """What the edit form posts when nothing is touched, with `changes` typed in."""
    form = client.get(url).context["form"]
    data = {}
    for bound in form:
        value = bound.value()
        data[bound.name] = [str(v) for v in value] if isinstance(value, list) else ("" if value is None else value)
    return {**data, **changes}


# --- The form -------------------------------------------------------------------------------------


def test_the_form_offers_the_field_as_a_scoped_picker(client, desk, ticket):
    client.force_login(desk.owner)
    page = client.get(_edit_url(ticket)).content.decode()
    assert 'name="related_opportunity"' in page
    assert reverse("crm:pick", args=["pipeline.opportunity"]) in page
    form = TicketForm(instance=ticket, user=desk.owner)
    assert list(form.fields[RELATED_FIELD].queryset) == [desk.deal]


def test_set_and_clear_on_edit(client, desk, ticket):
    client.force_login(desk.owner)
    url = _edit_url(ticket)
    response = client.post(url, _form_data(client, url, related_opportunity=str(desk.deal.pk)))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.related_ref == _ref(desk.deal)
    # The form opens with the stored deal chosen and named.
    assert client.get(url).context["form"][RELATED_FIELD].value() == desk.deal.pk
    assert desk.deal.name in client.get(url).content.decode()

    response = client.post(url, _form_data(client, url, related_opportunity=""))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.related_ref == ""


def test_set_on_create(client, desk):
    client.force_login(desk.owner)
    company = CompanyFactory(owner=desk.owner, team=desk.team)
    url = reverse("tickets:ticket_create")
    data = {
        "subject": "维保合同里的打印机",
        "description": "",
        "company": company.pk,
        "channel": "phone",
        "priority": Priority.objects.get(is_default=True).pk,
        "related_opportunity": desk.deal.pk,
    }
    assert client.post(url, data).status_code == 302
    assert Ticket.objects.get(subject="维保合同里的打印机").related_ref == _ref(desk.deal)

    assert client.post(url, {**data, "subject": "没有商机", "related_opportunity": ""}).status_code == 302
    assert Ticket.objects.get(subject="没有商机").related_ref == ""


@pytest.mark.parametrize("value", ["foreign", "abc", "-1", "1.5", "99999999999999999999", "１２"])
def test_a_deal_the_editor_may_not_see_or_a_malformed_id_is_a_form_error(client, desk, ticket, value):
    client.force_login(desk.owner)
    url = _edit_url(ticket)
    chosen = str(desk.foreign_deal.pk) if value == "foreign" else value
    response = client.post(url, _form_data(client, url, related_opportunity=chosen))
    assert response.status_code == 400
    errors = response.context["form"].errors[RELATED_FIELD]
    assert errors and all(error.strip() for error in errors)
    page = response.content.decode()
    assert desk.foreign_deal.name not in page  # refused, and not named either
    ticket.refresh_from_db()
    assert ticket.related_ref == ""


def test_the_teammate_cannot_name_a_deal_they_do_not_see(client, desk, ticket):
    client.force_login(desk.teammate)
    url = _edit_url(ticket)
    response = client.post(url, _form_data(client, url, related_opportunity=str(desk.deal.pk)))
    assert response.status_code == 400
    assert response.context["form"].errors[RELATED_FIELD] == ["No opportunity you can see has that number."]


def test_a_stored_deal_the_editor_no_longer_sees_survives_a_save(client, desk, ticket):
    services.ticket_update(ticket=ticket, actor=desk.owner, related_ref=_ref(desk.deal))
    client.force_login(desk.teammate)  # works the ticket, does not see the deal
    url = _edit_url(ticket)
    page = client.get(url).content.decode()
    assert desk.deal.name not in page  # the picker does not name what the editor may not see
    response = client.post(url, _form_data(client, url, subject="改过的主题"))
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.subject, ticket.related_ref) == ("改过的主题", _ref(desk.deal))


def test_the_service_refuses_a_deal_the_actor_may_not_see_and_a_malformed_ref(desk, ticket):
    for ref in (_ref(desk.foreign_deal), "pipeline.opportunity:x", "pipeline.lead:1", "customers.company:1"):
        with pytest.raises(ValidationError) as refused:
            services.ticket_update(ticket=ticket, actor=desk.owner, related_ref=ref)
        assert "related_ref" in refused.value.error_dict
    with pytest.raises(ValidationError):
        services.ticket_create(
            actor=desk.owner, owner=desk.owner, team=desk.team, subject="x", contact=ticket.contact,
            related_ref=_ref(desk.foreign_deal),
        )  # fmt: skip
    ticket.refresh_from_db()
    assert ticket.related_ref == ""


def test_the_change_is_audited_with_its_actor(desk, ticket):
    services.ticket_update(ticket=ticket, actor=desk.owner, related_ref=_ref(desk.deal))
    services.ticket_update(ticket=ticket, actor=desk.owner, related_ref="")
    entries = (
        LogEntry.objects.get_for_object(ticket)
        .filter(action=LogEntry.Action.UPDATE, changes__has_key="related_ref")
        .order_by("pk")
    )
    assert [(e.actor, e.changes_dict["related_ref"]) for e in entries] == [
        (desk.owner, ["", _ref(desk.deal)]),
        (desk.owner, [_ref(desk.deal), ""]),
    ]


# --- The ticket page ------------------------------------------------------------------------------


@pytest.fixture
def linked(desk, ticket):
    return services.ticket_update(ticket=ticket, actor=desk.owner, related_ref=_ref(desk.deal))


@pytest.mark.parametrize("viewer", ["rep", "sales_manager", "owner", "admin"])
def test_the_page_links_the_deal_for_those_who_may_see_it(client, desk, linked, viewer):
    client.force_login(getattr(desk, viewer))
    page = client.get(linked.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert "Related opportunity" in html
    assert f'href="{desk.deal.get_absolute_url()}"' in html and desk.deal.name in html


@pytest.mark.parametrize("viewer", ["teammate", "manager"])
def test_the_page_shows_nothing_to_agents_who_may_not_see_the_deal(client, desk, linked, viewer):
    client.force_login(getattr(desk, viewer))
    page = client.get(linked.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert "Related opportunity" not in html
    assert desk.deal.name not in html and desk.deal.get_absolute_url() not in html


def test_a_deal_gone_since_shows_nothing(client, desk, linked):
    Ticket.objects.filter(pk=linked.pk).update(related_ref="pipeline.opportunity:999999999")
    client.force_login(desk.admin)
    assert "Related opportunity" not in client.get(linked.get_absolute_url()).content.decode()


def test_a_deal_deleted_since_is_cleared_at_the_next_save(client, desk, linked):
    desk.deal.delete()
    client.force_login(desk.owner)
    url = _edit_url(linked)
    assert client.get(url).context["form"][RELATED_FIELD].value() in (None, "")
    response = client.post(url, _form_data(client, url, subject="处理中"))
    assert response.status_code == 302
    linked.refresh_from_db()
    assert (linked.subject, linked.related_ref) == ("处理中", "")


def _page_queries(client, ticket) -> int:
    client.get(ticket.get_absolute_url())  # per-process caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(ticket.get_absolute_url()).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("viewer, extra", [("admin", 1), ("rep", 1), ("owner", 1), ("teammate", 0)])
def test_the_deal_costs_one_query(client, desk, ticket, viewer, extra):
    """The deal's row, read through `restrict`, whose reading of the deals shared with the viewer
    comes from the cache after the first page; when neither their role nor a share leaves any
    deal to see (an agent), the row is not asked for at all."""
    client.force_login(getattr(desk, viewer))
    without = _page_queries(client, ticket)
    Ticket.objects.filter(pk=ticket.pk).update(related_ref=_ref(desk.deal))  # no history entry to render
    assert _page_queries(client, ticket) == without + extra


def test_the_page_with_a_deal_runs_a_fixed_number_of_queries(client, desk, linked, django_assert_max_num_queries):
    Message.objects.create(ticket=linked, kind=Message.Kind.CUSTOMER, body="第一条")
    client.force_login(desk.rep)
    client.get(linked.get_absolute_url())
    with django_assert_max_num_queries(60) as few:
        client.get(linked.get_absolute_url())
    for i in range(10):
        Message.objects.create(ticket=linked, kind=Message.Kind.CUSTOMER, body=f"第{i}条")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(linked.get_absolute_url())


# --- Merging --------------------------------------------------------------------------------------


@pytest.fixture
def duplicate(desk, ticket):
    return TicketFactory(owner=desk.owner, team=desk.team, company=ticket.company, contact=ticket.contact)


def test_the_survivor_takes_the_merged_tickets_deal_when_it_has_none(desk, ticket, duplicate):
    services.ticket_update(ticket=duplicate, actor=desk.owner, related_ref=_ref(desk.deal))
    survivor = services.ticket_merge(survivor=ticket, merged=duplicate, actor=desk.owner)
    survivor.refresh_from_db()
    assert survivor.related_ref == _ref(desk.deal)
    entry = LogEntry.objects.get_for_object(survivor).filter(changes__has_key="related_ref").latest("pk")
    assert entry.actor == desk.owner


def test_the_survivor_keeps_its_own_deal(desk, ticket, duplicate):
    own = make_deal(owner=desk.rep, team=desk.sales, name="备件框架协议")
    record_share(obj=own, recipient=desk.owner, level="view", actor=desk.rep)
    services.ticket_update(ticket=ticket, actor=desk.owner, related_ref=_ref(own))
    services.ticket_update(ticket=duplicate, actor=desk.owner, related_ref=_ref(desk.deal))
    survivor = services.ticket_merge(survivor=ticket, merged=duplicate, actor=desk.owner)
    survivor.refresh_from_db()
    assert survivor.related_ref == _ref(own)


def test_a_merge_without_deals_leaves_none(desk, ticket, duplicate):
    survivor = services.ticket_merge(survivor=ticket, merged=duplicate, actor=desk.owner)
    survivor.refresh_from_db()
    assert survivor.related_ref == ""


# --- Splitting ------------------------------------------------------------------------------------


def test_a_split_ticket_names_the_originals_deal_audited_with_its_actor(client, desk, linked):
    message = Message.objects.create(ticket=linked, kind=Message.Kind.CUSTOMER, body="另外，发票抬头要改")
    client.force_login(desk.owner)
    response = client.post(reverse("tickets:message_split", args=[message.pk]))
    assert response.status_code == 302
    new = Ticket.objects.get(messages=message)
    assert new.pk != linked.pk and new.related_ref == _ref(desk.deal)
    entry = LogEntry.objects.get_for_object(new).filter(changes__has_key="related_ref").latest("pk")
    assert entry.actor == desk.owner
    assert entry.changes_dict["related_ref"][-1] == _ref(desk.deal)
    # Its page links the deal, as the original's does.
    assert f'href="{desk.deal.get_absolute_url()}"' in client.get(new.get_absolute_url()).content.decode()


def test_a_split_keeps_the_deal_even_for_an_agent_who_does_not_see_it(desk, linked):
    message = Message.objects.create(ticket=linked, kind=Message.Kind.CUSTOMER, body="打印机又坏了")
    new = services.ticket_split(message=message, actor=desk.teammate)  # works the ticket, not shown the deal
    new.refresh_from_db()
    assert new.related_ref == _ref(desk.deal)
    entry = LogEntry.objects.get_for_object(new).filter(changes__has_key="related_ref").latest("pk")
    assert entry.actor == desk.teammate


def test_a_split_of_a_ticket_without_a_deal_names_none(desk, ticket):
    message = Message.objects.create(ticket=ticket, kind=Message.Kind.CUSTOMER, body="新问题")
    new = services.ticket_split(message=message, actor=desk.owner)
    new.refresh_from_db()
    assert new.related_ref == ""
    assert (
        not LogEntry.objects.get_for_object(new)
        .filter(action=LogEntry.Action.UPDATE, changes__has_key="related_ref")
        .exists()
    )
