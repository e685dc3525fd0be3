"""Reads of opportunities. Every function starts from what the user may see."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.permissions import has_role_permission
from crm.search import SearchHit, SearchProvider, query_terms, text_search
from customers.models import Company, Contact
from pipeline.models import Opportunity, Stage, StageChange

PANEL_LIMIT = 10
SEARCH_MATCH_CAP = 10000


def visible_opportunities(user) -> QuerySet[Opportunity]:
    return Opportunity.objects.visible_to(user)


def open_opportunities() -> QuerySet[Opportunity]:
    """Every deal still open (unscoped: for conditions inside another module's scoped query,
    such as a campaign segment's "has an open opportunity")."""
    return Opportunity.objects.filter(stage__kind=Stage.Kind.OPEN)


def won_opportunities() -> QuerySet[Opportunity]:
    """Every won deal (unscoped, like `open_opportunities`: campaign conversions)."""
    return Opportunity.objects.filter(won_at__isnull=False)


def opportunity_search_q(query: str) -> Q:
    query = query.strip()
    return text_search(query, recheck=("name",)) if query_terms(query) else Q(pk__in=[])


def opportunity_list(*, user, filters: dict | None = None) -> QuerySet[Opportunity]:
    """The deals `user` may see, narrowed by the list page's filters (each one index-backed)."""
    visible = visible_opportunities(user)
    qs = visible.select_related("owner", "team", "company", "stage", "pipeline")
    filters = filters or {}
    if filters.get("q"):
        matching = visible.filter(opportunity_search_q(filters["q"])).order_by().values("pk")[:SEARCH_MATCH_CAP]
        qs = qs.filter(pk__in=matching)
    for name in ("pipeline", "stage", "owner", "team", "company", "contact"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    if filters.get("close_from"):
        qs = qs.filter(expected_close_date__gte=filters["close_from"])
    if filters.get("close_to"):
        qs = qs.filter(expected_close_date__lte=filters["close_to"])
    if filters.get("amount_min") is not None:
        qs = qs.filter(amount__gte=filters["amount_min"])
    if filters.get("amount_max") is not None:
        qs = qs.filter(amount__lte=filters["amount_max"])
    if filters.get("with_close_date"):
        # Keyset pages walk (expected_close_date, id): a deal without a date has no place in it.
        qs = qs.filter(expected_close_date__isnull=False)
    return qs


def opportunity_for_detail() -> QuerySet[Opportunity]:
    return Opportunity.objects.select_related(
        "owner", "team", "company", "contact", "pipeline", "stage", "lost_reason", "source_lead"
    )


def stage_history(*, opportunity: Opportunity, limit: int = 50) -> list[StageChange]:
    return list(
        StageChange.objects.filter(opportunity=opportunity).select_related("from_stage", "to_stage", "actor")[:limit]
    )


# --- Stale deals ------------------------------------------------------------------------------


def stale_days() -> int:
    return int(getattr(settings, "STALE_DEAL_DAYS", 30))


def stale_condition(stages: list[Stage], *, now=None) -> Q:
    """Open deals with no activity for STALE_DEAL_DAYS, or longer in their stage than its limit.

    Each branch has an index: (last_activity_at, id) and (stage, stage_changed_at).
    """
    now = now or timezone.now()
    open_ids = [s.pk for s in stages if s.kind == Stage.Kind.OPEN]
    if not open_ids:
        return Q(pk__in=[])
    condition = Q(last_activity_at__lt=now - timedelta(days=stale_days()))
    for stage in stages:
        if stage.kind == Stage.Kind.OPEN and stage.stale_after_days:
            condition |= Q(stage_id=stage.pk, stage_changed_at__lt=now - timedelta(days=stage.stale_after_days))
    return Q(stage_id__in=open_ids) & condition


def is_stale(opportunity: Opportunity, *, now=None) -> bool:
    stage = opportunity.stage
    if stage.kind != Stage.Kind.OPEN:
        return False
    now = now or timezone.now()
    if opportunity.last_activity_at < now - timedelta(days=stale_days()):
        return True
    return bool(stage.stale_after_days and opportunity.stage_changed_at < now - timedelta(days=stage.stale_after_days))


def stale_reason(opportunity: Opportunity, *, now=None) -> str:
    now = now or timezone.now()
    stage = opportunity.stage
    if stage.stale_after_days and opportunity.stage_changed_at < now - timedelta(days=stage.stale_after_days):
        return str(_("Longer than %(days)d days in this stage") % {"days": stage.stale_after_days})
    return str(_("No activity for %(days)d days") % {"days": stale_days()})


def stale_opportunities(*, user, filters: dict | None = None) -> QuerySet[Opportunity]:
    """The deals that need attention, for the "Needs attention" list."""
    stages = list(Stage.objects.all())
    qs = opportunity_list(user=user, filters=filters).filter(stale_condition(stages))
    return qs


# --- Customer detail panels -------------------------------------------------------------------


def _panel(record, user, field: str) -> dict | None:
    if not has_role_permission(user, Opportunity, "view"):
        return None
    rows = list(
        visible_opportunities(user)
        .filter(**{field: record})
        .select_related("stage", "owner")
        .order_by("-id")[: PANEL_LIMIT + 1]
    )
    return {
        "opportunities": rows[:PANEL_LIMIT],
        "more": len(rows) > PANEL_LIMIT,
        "list_url": f"{reverse('pipeline:opportunity_list')}?{urlencode({field: record.pk})}",
        "create_url": f"{reverse('pipeline:opportunity_create')}?{urlencode({'company': record.pk})}"
        if field == "company" and has_role_permission(user, Opportunity, "add")
        else "",
    }


def company_panel(company: Company, user) -> dict | None:
    return _panel(company, user, "company")


def contact_panel(contact: Contact, user) -> dict | None:
    return _panel(contact, user, "contact")


# --- Global search ----------------------------------------------------------------------------


def find_opportunities(*, user, query: str, limit: int) -> list[SearchHit]:
    if not has_role_permission(user, Opportunity, "view"):
        return []
    rows = (
        visible_opportunities(user)
        .filter(opportunity_search_q(query))
        .select_related("company", "stage")
        .only("pk", "name", "amount", "currency", "company__name", "stage__name")[:limit]
    )
    return [
        SearchHit(o.name, f"{o.company.name} · {o.stage.name} · {o.amount:,.0f} {o.currency}", o.get_absolute_url())
        for o in rows
    ]


def search_provider() -> SearchProvider:
    return SearchProvider(
        "opportunities",
        _("Opportunities"),
        find_opportunities,
        more_url=lambda q: f"{reverse('pipeline:opportunity_list')}?{urlencode({'q': q})}",
        order=30,
    )


def _open_opportunity_field():
    from django import forms

    return forms.ChoiceField(
        label=_("Open opportunity"),
        choices=[("", "—"), ("yes", _("Has one")), ("no", _("Has none"))],
        required=False,
    )


def _filter_by_open_opportunity(queryset, value, user):
    """Companies with (or without) an open opportunity the user may see; hidden deals don't count."""
    visible_open = Opportunity.objects.visible_to(user).filter(company=OuterRef("pk"), stage__kind=Stage.Kind.OPEN)
    condition = Exists(visible_open)
    return queryset.filter(condition if value == "yes" else ~condition)


def open_opportunity_filter():
    from customers.extensions import ListFilter

    return ListFilter("open_opportunity", _open_opportunity_field, _filter_by_open_opportunity)
