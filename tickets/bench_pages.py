"""Ticket pages `make bench` measures (see `crm.benchmark`): measured alone (weight 0), not yet
part of the mixed load."""

from django.urls import reverse

from crm.benchmark import Browser, first_link, register_page


def _first_ticket(client: Browser) -> str:
    _status, body = client.get(reverse("tickets:ticket_list"))
    link = first_link(r"/service/tickets/\d+/")(body)
    if not link:
        raise RuntimeError("the ticket list shows no ticket")
    return link


for role in ("rep", "manager", "admin"):
    register_page(
        f"ticket list ({role})", role=role, url=lambda client: reverse("tickets:ticket_list"), kind="list", weight=0
    )
register_page(
    "breaching soon (manager)",
    role="manager",
    url=lambda client: f"{reverse('tickets:ticket_list')}?queue=breaching",
    kind="list",
    weight=0,
)
register_page("ticket detail (admin)", role="admin", url=_first_ticket, kind="detail", weight=0)
