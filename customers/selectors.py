"""Reads of the customer centre. Every function starts from what the user may see."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from crm.fields import blind_index_for, normalize_email, normalize_phone, normalize_tax_id
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


def _phone_like(query: str) -> str:
    digits = normalize_phone(query)
    return digits if len(digits.lstrip("+")) >= 7 and not re.search(r"[^\d\s+\-()]", query) else ""


def company_search_q(query: str) -> Q:
    """Companies matching a search box query: name (Chinese substrings too), phone and tax ID
    (exact, through their blind indexes), or website domain. Every branch is indexed."""
    query = query.strip()
    condition = text_search(query, recheck=("name", "legal_name")) if query_terms(query) else Q(pk__in=[])
    if phone := _phone_like(query):
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
    if phone := _phone_like(query):
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


def timeline(*, company: Company | None = None, contact: Contact | None = None, kind: str = "") -> QuerySet:
    """A customer's history, newest first; the caller has checked the customer is visible."""
    qs = Interaction.objects.select_related("actor", "contact")
    qs = qs.filter(company=company) if company is not None else qs.filter(contact=contact)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


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
