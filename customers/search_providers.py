"""The customer centre's record types in the global search box."""

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.permissions import has_role_permission
from crm.search import SearchHit, SearchProvider, register_search_provider
from customers.models import Company, Contact
from customers.selectors import company_search_q, contact_search_q, visible_companies, visible_contacts


def find_companies(*, user, query: str, limit: int) -> list[SearchHit]:
    if not has_role_permission(user, Company, "view"):
        return []
    rows = visible_companies(user).filter(company_search_q(query)).only("pk", "name", "city", "grade")[:limit]
    return [SearchHit(c.name, " · ".join(p for p in (c.city, c.grade) if p), c.get_absolute_url()) for c in rows]


def find_contacts(*, user, query: str, limit: int) -> list[SearchHit]:
    if not has_role_permission(user, Contact, "view"):
        return []
    rows = (
        visible_contacts(user)
        .filter(contact_search_q(query))
        .select_related("company")
        .only("pk", "display_name", "title", "company__name")[:limit]
    )
    return [
        SearchHit(
            c.display_name,
            " · ".join(p for p in (c.title, c.company.name if c.company else "") if p),
            c.get_absolute_url(),
        )
        for c in rows
    ]


def register():
    register_search_provider(
        SearchProvider(
            "companies",
            _("Companies"),
            find_companies,
            more_url=lambda q: f"{reverse('customers:company_list')}?{urlencode({'q': q})}",
            order=10,
        )
    )
    register_search_provider(
        SearchProvider(
            "contacts",
            _("Contacts"),
            find_contacts,
            more_url=lambda q: f"{reverse('customers:contact_list')}?{urlencode({'q': q})}",
            order=20,
        )
    )
