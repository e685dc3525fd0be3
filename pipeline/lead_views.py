"""Lead pages: list, detail, create and edit, status actions, reassignment, reveal, conversion."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.forms import AssignOwnerForm, add_service_errors
from crm.lists import BulkAction, Column, ListSpec
from crm.permissions import can, get_object_for_user
from crm.screens import Screens, form_errors_text
from crm.writes import bulk_assign_owner, bulk_delete
from customers.duplicates import duplicate_warnings
from customers.models import Company, Contact
from pipeline import leads
from pipeline.lead_forms import ConvertForm, DisqualifyForm, LeadFilterForm, LeadForm, ReassignForm
from pipeline.lead_selectors import lead_for_detail, lead_list
from pipeline.models import Lead

TASKS_PANEL = "pipeline/_tasks_panel.html"

LEAD_LIST = ListSpec(
    key="pipeline.lead",
    title=gettext_lazy("Leads"),
    model=Lead,
    selector=lead_list,
    filter_form=LeadFilterForm,
    columns=[
        Column("display_name", gettext_lazy("Name"), sort=("display_name", "id")),
        Column("company_name", gettext_lazy("Company")),
        Column("status", gettext_lazy("Status")),
        Column("score", gettext_lazy("Score"), sort=("-score", "-id")),
        Column("source", gettext_lazy("Source")),
        Column("owner", gettext_lazy("Owner")),
        Column("created_at", gettext_lazy("Created"), sort=("-created_at", "-id")),
    ],
    default_sort="score",
    bulk_actions=[
        BulkAction("assign_owner", gettext_lazy("Assign owner"), "assign", bulk_assign_owner, AssignOwnerForm),
        BulkAction("delete", gettext_lazy("Delete"), "delete", bulk_delete),
    ],
    row_template="pipeline/lead_rows.jinja",
    create_url=reverse_lazy("pipeline:lead_create"),
)


def _tasks_panel() -> str | None:
    """The tasks panel template, once the tasks module provides it."""
    try:
        get_template(TASKS_PANEL)
    except TemplateDoesNotExist:
        return None
    return TASKS_PANEL


def lead_context(request, lead: Lead) -> dict:
    can_assign = can(request.user, lead, "assign")
    return {
        "score_lines": leads.score_breakdown(lead),
        "disqualify_form": DisqualifyForm(),
        "reassign_form": ReassignForm(user=request.user, initial={"owner": lead.owner_id, "team": lead.team_id})
        if can_assign
        else None,
        "tasks_panel": _tasks_panel(),
        "statuses": Lead.Status,
        "origin": leads.origin_of(lead, request.user),
    }


def _converted(lead: Lead) -> str:
    return _("A converted lead can no longer be edited.") if lead.status == Lead.Status.CONVERTED else ""


LEAD_SCREENS = Screens(
    model=Lead,
    path="leads",
    list=LEAD_LIST,
    form=LeadForm,
    create=leads.lead_create,
    update=leads.lead_update,
    delete=leads.lead_delete,
    detail_template="pipeline/lead_detail.html",
    detail_queryset=lead_for_detail,
    detail_context=lead_context,
    edit_refusal=_converted,
    reveal=("phone", "mobile"),
    reveal_permission="pipeline.reveal_sensitive",
)


def _set_status(request, pk, status: str, reason: str = ""):
    lead = get_object_for_user(request.user, Lead, pk, "change")
    try:
        leads.lead_set_status(lead=lead, actor=request.user, status=status, reason=reason)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Status: %(status)s.") % {"status": lead.get_status_display()})
    return redirect(lead)


@login_required
@require_POST
def lead_mark_contacted(request, pk):
    return _set_status(request, pk, Lead.Status.CONTACTED)


@login_required
@require_POST
def lead_qualify(request, pk):
    return _set_status(request, pk, Lead.Status.QUALIFIED)


@login_required
@require_POST
def lead_disqualify(request, pk):
    form = DisqualifyForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _set_status(request, pk, Lead.Status.DISQUALIFIED, reason)


@login_required
@require_POST
def lead_reassign(request, pk):
    lead = get_object_for_user(request.user, Lead, pk, "assign")
    form = ReassignForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect(lead)
    try:
        leads.lead_assign(lead=lead, actor=request.user, **form.cleaned_data)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect(lead)
    messages.success(request, _("Lead assigned to %(owner)s.") % {"owner": lead.owner})
    if not can(request.user, lead, "view"):
        return redirect("pipeline:lead_list")
    return redirect(lead)


def _convert_candidates(lead: Lead, user) -> tuple[list[Company], list[Contact]]:
    """Existing customers the lead may already be, among those the user may see."""
    companies = [c.record for c in duplicate_warnings(Company, leads.company_data_of(lead), user)]
    contacts = []
    if leads.has_person(lead):
        contacts = [c.record for c in duplicate_warnings(Contact, leads.contact_data_of(lead), user)]
    return companies, contacts


def _landing_after_convert(lead: Lead) -> str:
    """The new opportunity's page, or the company's while the opportunity pages are not installed."""
    try:
        return lead.converted_opportunity.get_absolute_url()
    except NoReverseMatch:
        return lead.converted_company.get_absolute_url()


@login_required
def lead_convert(request, pk):
    lead = get_object_for_user(request.user, lead_for_detail(request.user), pk, "change")
    if lead.status != Lead.Status.QUALIFIED:
        messages.error(request, _("Only a qualified lead can be converted."))
        return redirect(lead)
    companies, contacts = _convert_candidates(lead, request.user)
    form = ConvertForm(
        request.POST or None,
        companies=companies,
        contacts=contacts,
        person=leads.has_person(lead),
        initial={"opportunity_name": lead.company_name or lead.display_name},
    )
    if request.method == "POST" and form.is_valid():
        try:
            lead = leads.lead_convert(lead=lead, actor=request.user, **form.service_data())
        except (ValidationError, PermissionDenied) as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Lead converted."))
            return redirect(_landing_after_convert(lead))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "pipeline/lead_convert.html",
        {"lead": lead, "form": form, "companies": companies, "contacts": contacts},
        status=status,
    )
