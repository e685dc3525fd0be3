"""Customer pages and queries `make bench` measures (see `crm.benchmark`)."""

from urllib.parse import quote

from django.conf import settings
from django.urls import reverse

from crm.benchmark import Browser, NoData, first_link, register_page, register_query, register_size
from customers.models import Company
from customers.selectors import company_list

SEARCH_TERMS = {"short Chinese": "科技", "English": "Harbor"}

register_size(lambda: Company.objects.count())


def _list_url() -> str:
    return reverse("customers:company_list")


def _next_page(client: Browser) -> str:
    _status, body = client.get(_list_url())
    link = first_link(r"\?[^\"]*after=[^\"]+")(body)
    if not link:
        raise NoData("the company list has no next page")
    return _list_url() + link


def _first_company(client: Browser) -> str:
    _status, body = client.get(_list_url())
    link = first_link(r"/customers/companies/\d+/")(body)
    if not link:
        raise NoData("the company list shows no company")
    return link


# Weights: how often each role's simulated user opens the page (0: measured alone, not in the load).
for role, weight in (("rep", 4), ("manager", 2), ("admin", 1)):
    register_page(f"company list ({role})", role=role, url=lambda client: _list_url(), kind="list", weight=weight)
register_page("company list next page (rep)", role="rep", url=_next_page, kind="list", weight=2)
register_page("company list next page (manager)", role="manager", url=_next_page, kind="list", weight=1)
for label, term in SEARCH_TERMS.items():
    for role, weight in (("rep", 1), ("admin", 0)):
        register_page(
            f"company search {label} ({role})",
            role=role,
            url=lambda client, t=term: f"{_list_url()}?q={quote(t)}",
            kind="search",
            weight=weight,
        )
register_page("company detail (rep)", role="rep", url=_first_company, kind="detail", weight=3)
register_page("company detail (manager)", role="manager", url=_first_company, kind="detail", weight=0)


def _phone_search(client: Browser) -> str:
    """Search for a stored phone number (exact match through the blind index)."""
    phone = Company.objects.exclude(phone_bidx="").order_by("pk").values_list("phone", flat=True).first()
    if not phone:
        raise NoData("no company with a phone number to search for")
    return f"{reverse('search')}?q={quote(phone)}"


for role, weight in (("rep", 1), ("admin", 0)):
    register_page(f"global search by phone ({role})", role=role, url=_phone_search, kind="search", weight=weight)
    register_page(
        f"global search 2-character Chinese ({role})",
        role=role,
        url=lambda client: f"{reverse('search')}?q={quote('科技')}",
        kind="search",
        weight=weight,
    )
for role, weight in (("rep", 2), ("manager", 0)):
    register_page(
        f"contact list ({role})",
        role=role,
        url=lambda client: reverse("customers:contact_list"),
        kind="list",
        weight=weight,
    )


def _first_page(user):
    return company_list(user=user, filters={}).order_by("name", "id")[: settings.PAGE_SIZE + 1]


def _capped_count(user):
    return company_list(user=user, filters={}).order_by()[: settings.LIST_COUNT_CAP + 1]


for role in ("rep", "manager"):
    register_query("company list first page", role=role, queryset=_first_page)
    register_query("company list capped count (rows scanned)", role=role, queryset=_capped_count)
register_query(
    "company search 科技", role="rep", queryset=lambda user: company_list(user=user, filters={"q": "科技"})[:51]
)
