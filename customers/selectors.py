"""Reads of the customer centre. Every function starts from what the user may see."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.lookups import Exact
from django.utils.html import format_html
from django.utils.translation import pgettext_lazy

from crm.fields import blind_index_for, normalize_email, normalize_phone, normalize_tax_id, phone_query
from crm.models import OwnedModel
from crm.permissions import has_role_permission, restrict, sees_everything
from crm.search import query_terms, text_search
from customers.extensions import list_filters
from customers.models import Company, Contact, Interaction, Transaction, website_domain

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^(https?://)?([a-z0-9-]+\.)+[a-z]{2,}(/.*)?$", re.IGNORECASE)
_TAX_ID = re.compile(r"^[0-9A-Z]{15,20}$")


# A search narrows through its GIN index to at most this many candidates before the page's sort
# applies; the LIMIT keeps PostgreSQL from instead walking the sort index and testing every row.
SEARCH_MATCH_CAP = 10000


def _matching(visible: QuerySet, condition: Q) -> QuerySet:
    """Ids of visible rows matching a search, capped (the cap applies after visibility)."""
    return visible.filter(condition).order_by().values("pk")[:SEARCH_MATCH_CAP]


def visible_companies(user) -> QuerySet[Company]:
    return Company.objects.visible_to(user)


def visible_contacts(user) -> QuerySet[Contact]:
    return Contact.objects.visible_to(user)


def company_search_q(query: str) -> Q:
    """Companies matching a search box query: name (Chinese substrings too), phone and tax ID
    (exact, through their blind indexes), or website domain. Every branch is indexed."""
    query = query.strip()
    condition = text_search(query, recheck=("name", "legal_name")) if query_terms(query) else Q(pk__in=[])
    if phone := phone_query(query):
        condition |= Q(phone_bidx=blind_index_for(normalize_phone, phone))
    tax = normalize_tax_id(query)
    if _TAX_ID.match(tax):
        condition |= Q(tax_id_bidx=blind_index_for(normalize_tax_id, tax))
    if _DOMAIN.match(query) and "." in query:
        condition |= Q(website_domain=website_domain(query))
    return condition


def contact_search_q(query: str) -> Q:
    """Contacts matching a query: name, email (exact), phone or mobile (exact)."""
    query = query.strip()
    condition = text_search(query, recheck=("display_name", "email")) if query_terms(query) else Q(pk__in=[])
    if _EMAIL.match(query):
        condition |= Q(email_bidx=blind_index_for(normalize_email, query))
    if phone := phone_query(query):
        key = blind_index_for(normalize_phone, phone)
        condition |= Q(phone_bidx=key) | Q(mobile_bidx=key)
    return condition


def company_list(*, user, filters: dict | None = None) -> QuerySet[Company]:
    """The companies `user` may see, narrowed by the list page's filters."""
    visible = visible_companies(user)
    qs = visible.select_related("owner", "team")
    filters = filters or {}
    if filters.get("q"):
        qs = qs.filter(pk__in=_matching(visible, company_search_q(filters["q"])))
    for name in ("owner", "team", "lifecycle", "grade", "industry", "city"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    if filters.get("tag"):
        qs = qs.filter(tags=filters["tag"])
    if filters.get("created_from"):
        qs = qs.filter(created_at__date__gte=filters["created_from"])
    if filters.get("created_to"):
        qs = qs.filter(created_at__date__lte=filters["created_to"])
    for extra in list_filters("company"):
        if filters.get(extra.name):
            qs = extra.apply(qs, filters[extra.name], user)
    return qs


def contact_list(*, user, filters: dict | None = None) -> QuerySet[Contact]:
    visible = visible_contacts(user)
    qs = visible.select_related("owner", "team", "company")
    filters = filters or {}
    if filters.get("q"):
        qs = qs.filter(pk__in=_matching(visible, contact_search_q(filters["q"])))
    for name in ("owner", "team"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    if filters.get("tag"):
        qs = qs.filter(tags=filters["tag"])
    if filters.get("consent") == "opted_in":
        qs = qs.filter(email_opt_in=True, unsubscribed=False)
    elif filters.get("consent") == "unsubscribed":
        qs = qs.filter(unsubscribed=True)
    if filters.get("created_from"):
        qs = qs.filter(created_at__date__gte=filters["created_from"])
    if filters.get("created_to"):
        qs = qs.filter(created_at__date__lte=filters["created_to"])
    return qs


def company_contacts(*, company: Company, user, limit: int = 50) -> list[Contact]:
    return list(visible_contacts(user).filter(company=company).order_by("display_name", "id")[:limit])


def timeline(
    *, user, company: Company | None = None, contact: Contact | None = None, kind: str = ""
) -> QuerySet[Interaction]:
    """A customer's history as `user` may read it; the caller has checked the customer is visible.

    Unordered: pages sort it by (-occurred_at, -id), which the (company|contact, -occurred_at, -id)
    indexes serve; the visibility conditions filter the rows of that index scan.
    """
    qs = Interaction.objects.select_related("actor", "contact")
    qs = qs.filter(company=company) if company is not None else qs.filter(contact=contact)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.filter(visible_entries_q(user, on_contact_page=company is None))


def _owned_models() -> list[type[OwnedModel]]:
    return [m for m in apps.get_models() if issubclass(m, OwnedModel) and not m._meta.proxy]


def visible_entries_q(user, *, on_contact_page: bool = False) -> Q:
    """The history entries `user` may read: none on a contact they may not see, none about an
    owned record (a deal, a task, a lead...) they may not see.

    A role without the view permission on a kind of record reads no entry about one, even one
    shared with them, as its panels show none. Each condition probes one primary key per entry,
    so a timeline page stays a walk of its index; one `restrict` per owned model (a query for its
    shares, at most) keeps the number of queries fixed.
    """
    if not (user and user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    if sees_everything(user):
        return Q()
    owned = _owned_models()
    content_types = ContentType.objects.get_for_models(*owned)
    scopes: dict[type[OwnedModel], QuerySet] = {}

    def visible(model: type[OwnedModel], column: str) -> Q:
        if model not in scopes:
            scopes[model] = restrict(model._default_manager.all(), user, "view")
        # `column = (SELECT pk ... WHERE pk = column AND <restrict> LIMIT 1)`: a scalar sub-query,
        # probed through the primary key for each entry the page reads. PostgreSQL would turn
        # EXISTS or IN into a hash of every record the user may see, built on every page view.
        probe = Subquery(scopes[model].filter(pk=OuterRef(column)).values("pk")[:1])
        return Q(Exact(F(column), probe))

    condition = Q()
    if not on_contact_page:  # on its own page the contact is visible already
        condition &= Q(contact__isnull=True) | visible(Contact, "contact_id")
    about = ~Q(subject_type__in=[ct.pk for ct in content_types.values()])  # nothing owned, or not owned
    for model in owned:
        if has_role_permission(user, model, "view"):
            about |= Q(subject_type=content_types[model].pk) & visible(model, "subject_id")
    return condition & about


@dataclass(frozen=True)
class TransactionSummary:
    rows: list[Transaction]
    totals: list[dict]  # per currency: {"currency", "paid", "count"}


def company_transactions(*, company: Company, limit: int = 20) -> TransactionSummary:
    rows = list(company.transactions.select_related("contact")[:limit])
    totals = list(
        company.transactions.filter(status=Transaction.Status.PAID)
        .values("currency")
        .annotate(paid=Sum("amount"), count=Count("id"))
        .order_by("currency")
    )
    return TransactionSummary(rows=rows, totals=totals or [{"currency": "CNY", "paid": Decimal("0"), "count": 0}])


def company_detail_queryset() -> QuerySet[Company]:
    """What a company page renders with its record; the view narrows it with get_object_for_user."""
    return Company.objects.select_related("owner", "team").prefetch_related("tags")


def contact_detail_queryset() -> QuerySet[Contact]:
    return Contact.objects.select_related("owner", "team", "company").prefetch_related("tags")


# What happened, as a sentence: who did it (`actor`) with whom (`who`, the contact or the company).
_ENTRY_SENTENCES = {
    Interaction.Kind.NOTE: (
        pgettext_lazy("timeline", "%(actor)s added a note about %(who)s"),
        pgettext_lazy("timeline", "A note about %(who)s"),
    ),
    Interaction.Kind.CALL: (
        pgettext_lazy("timeline", "%(actor)s logged a call with %(who)s"),
        pgettext_lazy("timeline", "A call with %(who)s"),
    ),
    Interaction.Kind.MEETING: (
        pgettext_lazy("timeline", "%(actor)s met %(who)s"),
        pgettext_lazy("timeline", "A meeting with %(who)s"),
    ),
    Interaction.Kind.VISIT: (
        pgettext_lazy("timeline", "%(actor)s visited %(who)s"),
        pgettext_lazy("timeline", "A visit to %(who)s"),
    ),
    Interaction.Kind.EMAIL: (
        pgettext_lazy("timeline", "%(actor)s e-mailed %(who)s"),
        pgettext_lazy("timeline", "An e-mail with %(who)s"),
    ),
    Interaction.Kind.ORDER: (
        pgettext_lazy("timeline", "%(actor)s recorded an order from %(who)s"),
        pgettext_lazy("timeline", "An order from %(who)s"),
    ),
    Interaction.Kind.TICKET: (
        pgettext_lazy("timeline", "%(actor)s updated a ticket of %(who)s"),
        pgettext_lazy("timeline", "A ticket of %(who)s changed"),
    ),
    Interaction.Kind.CAMPAIGN: (
        pgettext_lazy("timeline", "%(actor)s reached %(who)s through a campaign"),
        pgettext_lazy("timeline", "%(who)s took part in a campaign"),
    ),
    Interaction.Kind.OPPORTUNITY: (
        pgettext_lazy("timeline", "%(actor)s updated a deal with %(who)s"),
        pgettext_lazy("timeline", "A deal with %(who)s changed"),
    ),
}


def entry_sentence(entry: Interaction, record: Company | Contact) -> str:
    """A timeline entry as a sentence in the user's language, its names marked as user data."""
    with_actor, without_actor = _ENTRY_SENTENCES.get(entry.kind, _ENTRY_SENTENCES[Interaction.Kind.NOTE])
    who = entry.contact.display_name if entry.contact_id else str(record)
    names = {"who": format_html('<span translate="no">{}</span>', who)}
    if entry.actor_id:
        names["actor"] = format_html('<span translate="no">{}</span>', entry.actor)
    # Translators write %(who)s; format_html takes {who} and escapes what goes in.
    pattern = str(with_actor if entry.actor_id else without_actor)
    return format_html(pattern.replace("%(who)s", "{who}").replace("%(actor)s", "{actor}"), **names)
