"""Leads in the global search box."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.permissions import has_role_permission
from crm.search import SearchHit, SearchProvider, register_search_provider
from pipeline.lead_selectors import lead_search_q, visible_leads
from pipeline.models import Lead


def find_leads(*, user, query: str, limit: int) -> list[SearchHit]:
    if not has_role_permission(user, Lead, "view"):
        return []
    rows = (
        visible_leads(user)
        .filter(lead_search_q(query))
        .only("pk", "display_name", "company_name", "status")
        .order_by("-score", "-id")[:limit]
    )
    return [
        SearchHit(
            lead.display_name,
            " · ".join(p for p in (lead.company_name, lead.get_status_display()) if p),
            lead.get_absolute_url(),
        )
        for lead in rows
    ]


def register():
    register_search_provider(
        SearchProvider(
            "leads",
            _("Leads"),
            find_leads,
            more_url=lambda q: f"{reverse('pipeline:lead_list')}?{urlencode({'q': q})}",
            order=30,
        )
    )
