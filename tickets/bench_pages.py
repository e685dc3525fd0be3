"""Ticket pages and background work `make bench` measures (see `crm.benchmark`).

A support agent works the queues under load; the sales side's ticket pages (a rep's tickets of
their customers, a manager's breaching view, the administrator's whole list) are measured alone."""

from urllib.parse import quote

from django.urls import reverse

from crm.benchmark import Browser, NoData, first_link, register_job, register_page
from tickets import sla_watch

# A large background recomputation (a business calendar or a policy changed): the first 10,000
# active tickets, as `recompute_open_tickets` takes them.
RECOMPUTE = 10_000


def _queue(queue: str) -> str:
    return f"{reverse('tickets:ticket_list')}?queue={queue}"


def _first_ticket(queue: str | None = None):
    def url(client: Browser) -> str:
        _status, body = client.get(_queue(queue) if queue else reverse("tickets:ticket_list"))
        link = first_link(r"/service/tickets/\d+/")(body)
        if not link:
            raise NoData(f"the ticket list ({queue or 'all'}) shows no ticket")
        return link

    return url


# Weights: how often the agent opens each page (0: measured alone, not in the load).
for queue, label, weight in (
    ("mine", "my tickets", 4),
    ("team", "my team's tickets", 2),
    ("unassigned", "unassigned", 1),
    ("breaching", "breaching soon", 2),
    ("pending", "pending", 1),
):
    register_page(f"{label} (agent)", role="agent", url=lambda client, q=queue: _queue(q), kind="list", weight=weight)
register_page("ticket detail (agent)", role="agent", url=_first_ticket("mine"), kind="detail", weight=3)
register_page(
    "ticket search (agent)",
    role="agent",
    url=lambda client: f"{reverse('tickets:ticket_list')}?q={quote('打印机')}",
    kind="search",
    weight=1,
)
for role in ("rep", "manager", "admin"):
    register_page(
        f"ticket list ({role})", role=role, url=lambda client: reverse("tickets:ticket_list"), kind="list", weight=0
    )
register_page("breaching soon (manager)", role="manager", url=lambda client: _queue("breaching"), kind="list", weight=0)
register_page("ticket detail (admin)", role="admin", url=_first_ticket(), kind="detail", weight=0)

register_job(
    f"SLA recomputation of {RECOMPUTE:,} active tickets", run=lambda: sla_watch.recompute_open(limit=RECOMPUTE)
)
register_job("SLA watch pass (warnings and escalations due)", run=lambda: sum(sla_watch.watch().values()))
