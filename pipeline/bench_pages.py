"""Sales pages and queries `make bench` measures (see `crm.benchmark`)."""

from django.conf import settings
from django.urls import reverse

from crm.benchmark import Browser, NoData, first_link, register_page, register_query
from pipeline.board import pipeline_stages, totals_queryset
from pipeline.opportunities import default_pipeline
from pipeline.opportunity_selectors import opportunity_list


def _board_url(client: Browser) -> str:
    pipeline = default_pipeline()
    if pipeline is None:
        raise NoData("no sales pipeline")
    return reverse("pipeline:board", args=[pipeline.pk])


def _first_opportunity(client: Browser) -> str:
    _status, body = client.get(reverse("pipeline:opportunity_list"))
    link = first_link(r"/pipeline/opportunities/\d+/")(body)
    if not link:
        raise NoData("the opportunity list shows no opportunity")
    return link


# Weights: how often each role's simulated user opens the page (0: measured alone, not in the load).
LOAD_MIX = {
    "rep": {"board": 2, "list": 2, "forecast": 0, "tasks": 2, "leads": 0},
    "manager": {"board": 3, "list": 2, "forecast": 2, "tasks": 0, "leads": 2},
    "admin": {"board": 2, "list": 1, "forecast": 2, "tasks": 0, "leads": 1},
}
for role, mix in LOAD_MIX.items():
    register_page(f"opportunity board ({role})", role=role, url=_board_url, kind="board", weight=mix["board"])
    register_page(
        f"opportunity list ({role})",
        role=role,
        url=lambda client: reverse("pipeline:opportunity_list"),
        kind="list",
        weight=mix["list"],
    )
register_page(
    "opportunity list by amount (manager)",
    role="manager",
    url=lambda client: f"{reverse('pipeline:opportunity_list')}?sort=amount",
    kind="list",
)
register_page(
    "needs attention (rep)", role="rep", url=lambda client: reverse("pipeline:attention"), kind="list", weight=0
)
register_page("opportunity detail (rep)", role="rep", url=_first_opportunity, kind="detail", weight=2)
for role, mix in LOAD_MIX.items():
    register_page(
        f"forecast this quarter ({role})",
        role=role,
        url=lambda client: reverse("pipeline:forecast"),
        kind="board",
        weight=mix["forecast"],
    )
    register_page(
        f"my tasks ({role})",
        role=role,
        url=lambda client: reverse("pipeline:my_tasks"),
        kind="list",
        weight=mix["tasks"],
    )
    register_page(
        f"lead list by score ({role})",
        role=role,
        url=lambda client: f"{reverse('pipeline:lead_list')}?sort=score",
        kind="list",
        weight=mix["leads"],
    )


def _totals(user):
    pipeline = default_pipeline()
    return totals_queryset(user=user, pipeline=pipeline, stages=pipeline_stages(pipeline), filters={})


def _list_first_page(user):
    return opportunity_list(user=user, filters={}).order_by("-created_at", "-id")[: settings.PAGE_SIZE + 1]


for role in ("rep", "manager"):
    register_query("opportunity list first page", role=role, queryset=_list_first_page)
    register_query("opportunity board totals", role=role, queryset=_totals)
