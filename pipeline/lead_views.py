"""Lead pages: list, detail, create and edit, status actions, reassignment, reveal, conversion."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.forms import add_service_errors
from crm.lists import BulkAction, Column, ListSpec, list_view
from crm.permissions import can, get_object_for_user, has_role_permission
from crm.selectors import object_history
from customers.duplicates import duplicate_warnings
from customers.forms import AssignOwnerForm
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
        BulkAction("assign_owner", gettext_lazy("Assign owner"), "change", leads.bulk_assign_owner, AssignOwnerForm),
        BulkAction("delete", gettext_lazy("Delete"), "delete", leads.bulk_delete),
    ],
    row_template="pipeline/lead_list_row.html",
    create_url=reverse_lazy("pipeline:lead_create"),
)

lead_list_view = list_view(LEAD_LIST)


def _tasks_panel() -> str | None:
    """The tasks panel template, once the tasks module provides it."""
    try:
        get_template(TASKS_PANEL)
    except TemplateDoesNotExist:
        return None
    return TASKS_PANEL


@login_required
def lead_detail(request, pk):
    lead = get_object_for_user(request.user, lead_for_detail(request.user), pk)
    can_change = can(request.user, lead, "change")
    context = {
        "lead": lead,
        "record": lead,
        "can_change": can_change and lead.status != Lead.Status.CONVERTED,
        "can_delete": can(request.user, lead, "delete"),
        "can_reveal": request.user.has_perm("pipeline.reveal_sensitive"),
        "score_lines": leads.score_breakdown(lead),
        "disqualify_form": DisqualifyForm(),
        "reassign_form": ReassignForm(user=request.user, initial={"owner": lead.owner_id, "team": lead.team_id})
        if can_change
        else None,
        "tasks_panel": _tasks_panel(),
        "history": object_history(lead, viewer=request.user),
        "statuses": Lead.Status,
    }
    return render(request, "pipeline/lead_detail.html", context)


def _edit(request, *, instance: Lead | None = None):
    # The form validates on its own copy: the service compares against the stored values.
    form = LeadForm(request.POST or None, instance=copy.copy(instance), user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            if instance is None:
                lead = leads.lead_create(actor=request.user, **data)
            else:
                lead = leads.lead_update(lead=instance, actor=request.user, **data)
        except ValidationError as error:
            add_service_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("You may not make this change."))
        else:
            messages.success(request, _("Saved."))
            return redirect(lead)
    status = 400 if request.method == "POST" else 200
    return render(request, "pipeline/lead_form.html", {"form": form, "record": instance}, status=status)


@login_required
def lead_create(request):
    if not has_role_permission(request.user, Lead, "add"):
        raise PermissionDenied
    return _edit(request)


@login_required
def lead_edit(request, pk):
    lead = get_object_for_user(request.user, Lead, pk, "change")
    if lead.status == Lead.Status.CONVERTED:
        messages.error(request, _("A converted lead can no longer be edited."))
        return redirect(lead)
    return _edit(request, instance=lead)


@login_required
@require_POST
def lead_delete(request, pk):
    lead = get_object_for_user(request.user, Lead, pk, "delete")
    leads.lead_delete(lead=lead, actor=request.user)
    messages.success(request, _("Lead deleted."))
    return redirect("pipeline:lead_list")


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
    lead = get_object_for_user(request.user, Lead, pk, "change")
    form = ReassignForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(lead)
    try:
        leads.lead_assign(lead=lead, actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(lead)
    messages.success(request, _("Lead assigned to %(owner)s.") % {"owner": lead.owner})
    if not can(request.user, lead, "view"):
        return redirect("pipeline:lead_list")
    return redirect(lead)


@login_required
@require_POST
def lead_reveal(request, pk, field):
    lead = get_object_for_user(request.user, Lead, pk)
    try:
        value = leads.lead_reveal(lead=lead, field=field, actor=request.user)
    except ValidationError:
        return HttpResponse(status=404)
    if request.htmx:
        return render(request, "customers/_revealed.html", {"value": value})
    messages.info(
        request, _("%(field)s: %(value)s") % {"field": Lead._meta.get_field(field).verbose_name, "value": value}
    )
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
        except ValidationError as error:
            add_service_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, str(error) or _("You may not make this change."))
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
