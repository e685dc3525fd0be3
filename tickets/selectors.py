"""Reads of tickets. Every function starts from what the user may see."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import User
from crm.permissions import has_role_permission, member_team_ids, reach, restrict, shift_states
from crm.pickers import record_source_model
from crm.search import SearchHit, SearchProvider, query_terms, text_search
from customers.models import Company, Contact
from tickets.models import (
    RELATED_SOURCE,
    Attachment,
    CannedResponse,
    Message,
    Ticket,
    related_ref_for,
    warning_lead_time,
)

PANEL_LIMIT = 10
SEARCH_MATCH_CAP = 10000
Status = Ticket.Status


def customer_condition(user) -> Q:
    """Tickets about customers the user may see (for roles that may view tickets at all): owned,
    managed or shared customers, not those seen through a ticket (which would let one active
    ticket of a customer open all of its tickets)."""
    companies = reach(user, Company, through=False)
    contacts = reach(user, Contact, through=False)
    return companies.through("company") | contacts.through("contact")


def worked_customers(field: str):
    """For `register_seen_through` on companies and contacts: an agent sees the customers of the
    active tickets they work (theirs and their teams'), to read the requester's history."""

    def condition(user) -> Q:
        if not has_role_permission(user, Ticket, "change"):
            return Q(pk__in=[])
        worked = Ticket.objects.filter(
            Q(owner=user) | Q(team__in=member_team_ids(user)), status__in=Ticket.ACTIVE_STATUSES
        ).exclude(**{f"{field}__isnull": True})
        return Q(pk__in=worked.values(field))

    return condition


def visible_tickets(user) -> QuerySet[Ticket]:
    return restrict(Ticket.objects.all(), user)


def ticket_search_q(query: str) -> Q:
    query = query.strip()
    if not query_terms(query):
        return Q(pk__in=[])
    return text_search(query, recheck=("number", "subject"))


def queue_condition(user, queue: str) -> Q:
    now = timezone.now()
    if queue == "mine":
        return Q(owner=user, status__in=Ticket.ACTIVE_STATUSES)
    if queue == "team":
        return Q(team__in=member_team_ids(user), status__in=Ticket.ACTIVE_STATUSES)
    if queue == "watching":
        watched = Ticket.watchers.through.objects.filter(user_id=user.pk).values("ticket_id")
        return Q(pk__in=watched, status__in=Ticket.ACTIVE_STATUSES)
    if queue == "unassigned":
        return Q(owner__isnull=True, status__in=Ticket.ACTIVE_STATUSES)
    if queue == "pending":
        return Q(status=Status.PENDING)
    if queue == "breaching":
        soon = now + warning_lead_time()
        return Q(status__in=(Status.NEW, Status.OPEN)) & (
            Q(resolution_due__lte=soon) | Q(first_responded_at__isnull=True, first_response_due__lte=soon)
        )
    return Q()


def ticket_list(*, user, filters: dict | None = None) -> QuerySet[Ticket]:
    """The tickets `user` may see, narrowed by the list page's filters (each one index-backed)."""
    visible = visible_tickets(user)
    qs = visible.select_related("owner", "team", "company", "contact", "priority", "category")
    filters = filters or {}
    if filters.get("q"):
        matching = visible.filter(ticket_search_q(filters["q"])).order_by().values("pk")[:SEARCH_MATCH_CAP]
        qs = qs.filter(pk__in=matching)
    if filters.get("queue"):
        qs = qs.filter(queue_condition(user, filters["queue"]))
    for name in ("status", "priority", "category", "channel", "owner", "team", "company", "contact"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    if filters.get("related"):
        qs = qs.filter(related_ref=related_ref_for(filters["related"].pk))
    if filters.get("created_from"):
        qs = qs.filter(created_at__date__gte=filters["created_from"])
    if filters.get("created_to"):
        qs = qs.filter(created_at__date__lte=filters["created_to"])
    return qs


def ticket_for_detail() -> QuerySet[Ticket]:
    return Ticket.objects.select_related(
        "owner", "team", "company", "contact", "priority", "category", "sla_policy"
    ).prefetch_related("tags", Prefetch("watchers", queryset=User.objects.order_by("username")))


def related_opportunity(*, ticket: Ticket, user):
    """The deal the ticket names, if `user` may see it; None otherwise, and when no module
    registered deals. One query for the deal (`restrict` may first read the user's shares)."""
    model = record_source_model(RELATED_SOURCE)
    pk = ticket.related_pk
    if model is None or pk is None:
        return None
    return restrict(model._default_manager.filter(pk=pk), user, "view").first()


def conversation(*, ticket: Ticket, staff: bool = True) -> list[Message]:
    """The ticket's messages, oldest first, with their attachments; internal notes for staff only."""
    messages = ticket.messages.select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
    )
    if not staff:
        messages = messages.exclude(kind=Message.Kind.NOTE)
    return list(messages)


def _panel(user, condition: dict, filter_query: dict, *, add_query: dict | None = None) -> dict | None:
    """A tickets panel: the latest tickets matching `condition` that the viewer may see, the list
    filtered the same way (`filter_query`), and a "log a call" link prefilled with `add_query`."""
    if not has_role_permission(user, Ticket, "view"):
        return None
    tickets = visible_tickets(user).filter(**condition).order_by("-created_at", "-id")[:PANEL_LIMIT]
    add_url = ""
    if add_query is not None and has_role_permission(user, Ticket, "add"):
        add_url = f"{reverse('tickets:ticket_create')}?{urlencode(add_query)}"
    return {
        "tickets": list(tickets),
        "add_url": add_url,
        "list_url": f"{reverse('tickets:ticket_list')}?{urlencode(filter_query)}",
    }


def customer_panel(field: str):
    """The tickets panel on a company or contact page: its latest tickets the viewer may see."""

    def context(record, user) -> dict | None:
        query = {field: record.pk}
        return _panel(user, {field: record}, query, add_query={**query, "channel": "phone"})

    return context


def opportunity_panel(record, user) -> dict | None:
    """The tickets panel on a deal's page: the latest tickets naming the deal (`related_ref`)
    that the viewer may see, in one query over the `ticket_related` index."""
    return _panel(user, {"related_ref": related_ref_for(record.pk)}, {"related": record.pk})


def find_tickets(user, query: str, limit: int) -> list[SearchHit]:
    if not has_role_permission(user, Ticket, "view"):
        return []
    rows = visible_tickets(user).filter(ticket_search_q(query)).order_by("-created_at", "-id")[:limit]
    return [
        SearchHit(f"{ticket.number} {ticket.subject}", ticket.get_status_display(), ticket.get_absolute_url())
        for ticket in rows
    ]


def search_provider() -> SearchProvider:
    return SearchProvider(
        "tickets",
        _("Tickets"),
        find_tickets,
        more_url=lambda q: f"{reverse('tickets:ticket_list')}?{urlencode({'q': q})}",
        order=40,
    )


def merge_candidates(*, ticket: Ticket, user, limit: int = 20) -> QuerySet[Ticket]:
    """The same customer's other tickets, not closed, that the user may work: where this one may go."""
    # As services.ticket_merge: the same requester, or (with none) the same company.
    if ticket.contact_id:
        same = Q(contact_id=ticket.contact_id)
    elif ticket.company_id:
        same = Q(company_id=ticket.company_id, contact__isnull=True)
    else:
        return Ticket.objects.none()
    candidates = (
        restrict(Ticket.objects.all(), user, "change")
        .filter(same)
        .exclude(pk=ticket.pk)
        .exclude(status=Status.CLOSED)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)[:limit]
    )
    return Ticket.objects.filter(pk__in=list(candidates)).order_by("-created_at", "-id")


def request_files(*, ticket: Ticket) -> list[Attachment]:
    """The files that came with the request that opened the ticket (not with a later message)."""
    return list(ticket.attachments.filter(message__isnull=True).order_by("pk"))


def canned_responses() -> list[CannedResponse]:
    return list(CannedResponse.objects.filter(active=True))


def customer_message_for(*, user, pk) -> Message:
    """A message of a ticket the user may see; 404 otherwise, as for the ticket itself."""
    message = (
        Message.objects.select_related("ticket").filter(pk=pk, ticket__in=visible_tickets(user).values("pk")).first()
    )
    if message is None:
        raise Http404
    return message


def attachment_for(*, user, pk, token) -> Attachment:
    """A file of a ticket the user may see, named by id and token; 404 otherwise."""
    attachment = (
        Attachment.objects.select_related("ticket", "message")
        .filter(pk=pk, token=token, ticket__in=visible_tickets(user).values("pk"))
        .first()
    )
    if attachment is None:
        raise Http404
    return attachment


def on_shift(user) -> bool | None:
    """Whether the agent takes new tickets (None: in no team, so the question does not arise)."""
    states = shift_states(user)
    return any(states) if states else None
