"""Reads of leads; every function starts from what the user may see."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from crm.fields import blind_index_for, normalize_email, normalize_phone, phone_query
from crm.search import query_terms, text_search
from pipeline.models import Lead

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def visible_leads(user) -> QuerySet[Lead]:
    return Lead.objects.visible_to(user)


def lead_search_q(query: str) -> Q:
    """Leads matching a search box query: name or company (Chinese substrings too), email or phone exactly."""
    query = query.strip()
    condition = (
        text_search(query, recheck=("display_name", "company_name", "email")) if query_terms(query) else Q(pk__in=[])
    )
    if _EMAIL.match(query):
        condition |= Q(email_bidx=blind_index_for(normalize_email, query))
    if digits := phone_query(query):
        key = blind_index_for(normalize_phone, digits)
        condition |= Q(phone_bidx=key) | Q(mobile_bidx=key)
    return condition


def lead_list(*, user, filters: dict | None = None) -> QuerySet[Lead]:
    """The leads `user` may see, narrowed by the list page's filters (each one indexed)."""
    qs = visible_leads(user).select_related("owner", "source")
    filters = filters or {}
    if filters.get("q"):
        qs = qs.filter(lead_search_q(filters["q"]))
    for name in ("status", "source", "owner", "team"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    if filters.get("score_min") is not None:
        qs = qs.filter(score__gte=filters["score_min"])
    if filters.get("score_max") is not None:
        qs = qs.filter(score__lte=filters["score_max"])
    # Day bounds as instants, so the (created_at, id) index serves the range.
    if filters.get("created_from"):
        qs = qs.filter(created_at__gte=_start_of(filters["created_from"]))
    if filters.get("created_to"):
        qs = qs.filter(created_at__lt=_start_of(filters["created_to"] + timedelta(days=1)))
    return qs


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def lead_for_detail(user) -> QuerySet[Lead]:
    return visible_leads(user).select_related(
        "owner", "team", "source", "web_form", "converted_company", "converted_contact", "converted_opportunity"
    )
