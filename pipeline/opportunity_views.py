"""Opportunity pages and the kanban board: thin views over the selectors and services."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from crm.forms import AssignOwnerForm
from crm.jinja import render_fragment
from crm.lists import BulkAction, Column, ListSpec, render_list, run_bulk_action, safe_next
from crm.params import QueryParams
from crm.permissions import can, get_object_for_user, has_role_permission
from crm.screens import Screens, form_action
from crm.writes import bulk_assign_owner, bulk_delete
from customers.exporting import ExportKind, register_export_kind
from pipeline import board as board_selectors
from pipeline import opportunities as services
from pipeline.models import LostReason, Opportunity, Pipeline, Stage
from pipeline.opportunity_forms import (
    BoardFilterForm,
    BulkMoveForm,
    LoseForm,
    MoveForm,
    OpportunityFilterForm,
    OpportunityForm,
    WinForm,
)
from pipeline.opportunity_selectors import (
    is_stale,
    opportunity_for_detail,
    opportunity_list,
    stage_history,
    stale_opportunities,
    stale_reason,
)
from pipeline.task_views import tasks_panel_context

EXPORT_PERMISSION = "pipeline.export_records"

BULK_ACTIONS = [
    BulkAction("assign_owner", gettext_lazy("Assign owner"), "assign", bulk_assign_owner, AssignOwnerForm),
    BulkAction("move_stage", gettext_lazy("Move to stage"), "change", services.bulk_move_stage, BulkMoveForm),
    BulkAction("delete", gettext_lazy("Delete"), "delete", bulk_delete),
]

COLUMNS = [
    Column("name", gettext_lazy("Name"), sort=("name", "id")),
    Column("company", gettext_lazy("Company")),
    Column("stage", gettext_lazy("Stage")),
    Column("amount", gettext_lazy("Amount"), sort=("-amount", "-id")),
    Column("expected_close_date", gettext_lazy("Expected close"), sort=("expected_close_date", "id")),
    Column("owner", gettext_lazy("Owner")),
    Column("created_at", gettext_lazy("Created"), sort=("-created_at", "-id")),
]

OPPORTUNITY_LIST = ListSpec(
    key="pipeline.opportunity",
    title=gettext_lazy("Opportunities"),
    model=Opportunity,
    selector=opportunity_list,
    filter_form=OpportunityFilterForm,
    columns=COLUMNS,
    default_sort="-created_at",
    bulk_actions=BULK_ACTIONS,
    row_template="pipeline/opportunity_rows.jinja",
    create_url=reverse_lazy("pipeline:opportunity_create"),
    export_url=reverse_lazy("customers:export_page", args=["opportunities"]),
)

ATTENTION_LIST = ListSpec(
    key="pipeline.attention",
    title=gettext_lazy("Needs attention"),
    model=Opportunity,
    selector=stale_opportunities,
    filter_form=OpportunityFilterForm,
    columns=[
        Column("name", gettext_lazy("Name")),
        Column("company", gettext_lazy("Company")),
        Column("stage", gettext_lazy("Stage")),
        Column("amount", gettext_lazy("Amount")),
        Column("last_activity_at", gettext_lazy("Last activity"), sort=("last_activity_at", "id")),
        Column("owner", gettext_lazy("Owner")),
        Column("reason", gettext_lazy("Why")),
    ],
    default_sort="last_activity_at",
    bulk_actions=[BULK_ACTIONS[0]],
    template="crm/list.html",
    row_template="pipeline/attention_rows.jinja",
)


@login_required
def attention(request):
    if not has_role_permission(request.user, Opportunity, "view"):
        raise PermissionDenied
    if request.method == "POST":
        return run_bulk_action(request, ATTENTION_LIST)
    return render_list(request, ATTENTION_LIST)


def opportunity_context(request, opportunity: Opportunity) -> dict:
    stale = is_stale(opportunity)
    return {
        "stages": board_selectors.pipeline_stages(opportunity.pipeline),
        "stage_history": stage_history(opportunity=opportunity),
        "move_form": MoveForm(initial={"stage": opportunity.stage_id}),
        "lost_reasons": LostReason.objects.filter(active=True),
        "win_form": WinForm(),
        "lose_form": LoseForm(),
        "stale": stale,
        "stale_reason": stale_reason(opportunity) if stale else "",
        "tasks_panel": tasks_panel_context(opportunity, request.user),
    }


def _create_initial(request) -> dict:
    initial = {"company": QueryParams(request).id("company")}
    pipeline = services.default_pipeline()
    if pipeline:
        initial["pipeline"] = pipeline.pk
    return initial


OPPORTUNITY_SCREENS = Screens(
    model=Opportunity,
    path="opportunities",
    list=OPPORTUNITY_LIST,
    form=OpportunityForm,
    create=services.opportunity_create,
    update=services.opportunity_update,
    delete=services.opportunity_delete,
    detail_template="pipeline/opportunity_detail.html",
    detail_queryset=lambda user: opportunity_for_detail(),
    detail_context=opportunity_context,
    create_initial=_create_initial,
)


def _refusal(request, message: str, status: int, back: str):
    """A refused change: plain text for the board's script, a message and a redirect otherwise."""
    if request.htmx:
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    if status == 403:
        raise PermissionDenied(message)
    messages.error(request, message)
    return redirect(back)


@login_required
@require_POST
def opportunity_move(request, pk):
    """One endpoint for the board's drag and drop, the card's stage menu and the detail page."""
    opportunity = get_object_for_user(request.user, opportunity_for_detail(), pk)
    back = safe_next(request, opportunity.get_absolute_url())
    if not can(request.user, opportunity, "change"):
        return _refusal(request, _("You may not change this opportunity."), 403, back)
    form = MoveForm(request.POST)
    if not form.is_valid():
        message = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _refusal(request, message or _("Choose a stage."), 400, back)
    stage = form.cleaned_data["stage"]
    try:
        services.opportunity_move(
            opportunity=opportunity, stage=stage, actor=request.user, lost_reason=form.cleaned_data["lost_reason"]
        )
    except ValidationError as error:
        message = " ".join(error.messages)
        if stage.kind == Stage.Kind.LOST and not form.cleaned_data["lost_reason"]:
            message = _("A deal moved to “%(stage)s” needs a lost reason: choose one on the card.") % {
                "stage": stage.name
            }
        return _refusal(request, message, 400, back)
    except PermissionDenied as error:
        return _refusal(request, str(error) or _("You may not change this opportunity."), 403, back)
    if request.htmx:
        # The board asks for fresh column headers (counts and totals) with its own filters.
        filter_form = BoardFilterForm(request.GET or None, user=request.user)
        columns = board_selectors.column_totals(
            user=request.user,
            pipeline=opportunity.pipeline,
            stages=board_selectors.pipeline_stages(opportunity.pipeline),
            filters=filter_form.filters(),
        )
        return render(request, "pipeline/board.html#column_headers", {"columns": columns, "oob": True})
    messages.success(request, _("Moved to %(stage)s.") % {"stage": stage.name})
    return redirect(back)


@login_required
def opportunity_close(request, pk, won):
    """Mark a deal won (with the amount and date) or lost (with the reason): one page, two outcomes."""
    opportunity = get_object_for_user(request.user, opportunity_for_detail(), pk, "change")
    form_class, service, done = (
        (WinForm, services.opportunity_win, _("Marked as won."))
        if won
        else (LoseForm, services.opportunity_lose, _("Marked as lost."))
    )
    return form_action(
        request,
        record=opportunity,
        form=form_class(request.POST or None),
        run=lambda data: service(opportunity=opportunity, actor=request.user, **data),
        done=done,
        template="pipeline/opportunity_close.html",
        context={"opportunity": opportunity, "won": won},
    )


# --- The board ------------------------------------------------------------------------------


def _board_pipeline(request, pipeline_id) -> Pipeline:
    if not has_role_permission(request.user, Opportunity, "view"):
        raise PermissionDenied
    return get_object_or_404(Pipeline, pk=pipeline_id, active=True)


@login_required
@require_GET
def board_default(request):
    if not has_role_permission(request.user, Opportunity, "view"):
        raise PermissionDenied
    pipeline = services.default_pipeline()
    if pipeline is None:
        raise Http404
    query = request.GET.urlencode()
    return redirect(reverse("pipeline:board", args=[pipeline.pk]) + (f"?{query}" if query else ""))


def render_cards(request, cards, *, stages, lost_reasons, query: str, board_url: str) -> SafeString:
    """The `<li>`s of some deals on the board, from one Jinja2 template (crm/jinja.py): a card
    holds a move form with two dropdowns, and 120 of them were most of the board's time."""
    return render_fragment(
        "pipeline/cards.jinja",
        {
            "cards": cards,
            "stages": stages,
            "lost_reasons": lost_reasons,
            "query": query,
            "board_url": board_url,
            "labels": {"stale": _("Stale"), "move": _("Move"), "stage": _("Stage"), "lost_reason": _("Lost reason")},
        },
        request=request,
    )


@login_required
@require_GET
def board(request, pipeline_id):
    pipeline = _board_pipeline(request, pipeline_id)
    filter_form = BoardFilterForm(request.GET or None, user=request.user)
    filters = filter_form.filters()
    columns = board_selectors.board(user=request.user, pipeline=pipeline, filters=filters)
    query = urlencode({k: request.GET[k] for k in ("owner", "team", "close") if request.GET.get(k)})
    card_context = {
        "stages": [column.stage for column in columns],
        "query": query,
        "lost_reasons": list(LostReason.objects.filter(active=True)),
        "board_url": request.get_full_path(),
    }
    for column in columns:
        column.cards_html = render_cards(request, column.cards, **card_context)
    response = render(
        request,
        "pipeline/board.html",
        {
            "pipeline": pipeline,
            "pipelines": Pipeline.objects.filter(active=True),
            "columns": columns,
            "filter_form": filter_form,
            **card_context,
        },
    )
    response["Vary"] = "HX-Request"
    return response


@login_required
@require_GET
def board_more(request, pipeline_id, stage_id):
    """The next cards of one column (htmx "more"; without JavaScript a page of its own)."""
    pipeline = _board_pipeline(request, pipeline_id)
    stage = get_object_or_404(Stage, pk=stage_id, pipeline=pipeline)
    params = QueryParams(request)
    after = (params.amount("amount"), params.id("id"))
    if None in after:
        return redirect("pipeline:board", pipeline.pk)
    filters = BoardFilterForm(request.GET or None, user=request.user).filters()
    cards, more = board_selectors.more_cards(
        user=request.user, pipeline=pipeline, stage=stage, filters=filters, after=after
    )
    query = urlencode({k: request.GET[k] for k in ("owner", "team", "close") if request.GET.get(k)})
    card_context = {
        "stages": board_selectors.pipeline_stages(pipeline),
        "query": query,
        "lost_reasons": list(LostReason.objects.filter(active=True)),
        "board_url": reverse("pipeline:board", args=[pipeline.pk]) + (f"?{query}" if query else ""),
    }
    column = board_selectors.BoardColumn(stage=stage, cards=cards, more=more)
    column.cards_html = render_cards(request, cards, **card_context)
    context = {"pipeline": pipeline, "column": column, **card_context}
    template = "pipeline/board_more.html#cards" if request.htmx else "pipeline/board_more.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


# --- Export ---------------------------------------------------------------------------------

EXPORT_HEADERS = [
    gettext_lazy("ID"),
    gettext_lazy("Name"),
    gettext_lazy("Company"),
    gettext_lazy("Contact"),
    gettext_lazy("Pipeline"),
    gettext_lazy("Stage"),
    gettext_lazy("Amount"),
    gettext_lazy("Currency"),
    gettext_lazy("Probability (%)"),
    gettext_lazy("Expected close date"),
    gettext_lazy("Next step"),
    gettext_lazy("Owner"),
    gettext_lazy("Team"),
    pgettext_lazy("deal outcome", "Won"),
    pgettext_lazy("deal outcome", "Lost"),
    gettext_lazy("Lost reason"),
    gettext_lazy("Created"),
]


def _export_row(o, *, reveal: bool) -> list:
    return [
        o.pk,
        o.name,
        o.company.name,
        o.contact.display_name if o.contact else "",
        o.pipeline.name,
        o.stage.name,
        o.amount,
        o.currency,
        o.effective_probability,
        o.expected_close_date,
        o.next_step,
        str(o.owner),
        o.team.name if o.team else "",
        o.won_at,
        o.lost_at,
        o.lost_reason.name if o.lost_reason else "",
        o.created_at,
    ]


def register_opportunity_export() -> None:
    """The opportunity list on the customers export pages (CSV or XLSX, in the background past
    their inline limit); called from PipelineConfig.ready()."""
    register_export_kind(
        ExportKind(
            name="opportunities",
            model=Opportunity,
            title=gettext_lazy("Export opportunities"),
            list_spec=OPPORTUNITY_LIST,
            headers=lambda: EXPORT_HEADERS,
            row=_export_row,
            permission=EXPORT_PERMISSION,
            list_url="pipeline:opportunity_list",
            select_related=("owner", "team", "company", "contact", "pipeline", "stage", "lost_reason"),
        )
    )
