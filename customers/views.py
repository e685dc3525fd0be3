"""Pages of the customer centre: thin views over the selectors and services."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.forms import add_service_errors
from crm.lists import BulkAction, Column, ListSpec, list_view
from crm.pagination import keyset_page
from crm.permissions import can, get_object_for_user, has_role_permission
from crm.selectors import object_history
from customers import services
from customers.extensions import panels_for
from customers.forms import (
    AssignOwnerForm,
    BulkShareForm,
    CompanyFilterForm,
    CompanyForm,
    ContactFilterForm,
    ContactForm,
    InteractionForm,
    TagActionForm,
    TransactionForm,
)
from customers.models import Company, Contact, Interaction
from customers.selectors import (
    company_contacts,
    company_detail_queryset,
    company_list,
    company_transactions,
    contact_detail_queryset,
    contact_list,
    timeline,
)

BULK_ACTIONS = [
    BulkAction("assign_owner", gettext_lazy("Assign owner"), "change", services.bulk_assign_owner, AssignOwnerForm),
    BulkAction("add_tag", gettext_lazy("Add tag"), "change", services.bulk_add_tag, TagActionForm),
    BulkAction("remove_tag", gettext_lazy("Remove tag"), "change", services.bulk_remove_tag, TagActionForm),
    BulkAction("share", gettext_lazy("Share"), "change", services.bulk_share, BulkShareForm),
    BulkAction("delete", gettext_lazy("Delete"), "delete", services.bulk_delete),
]

COMPANY_LIST = ListSpec(
    key="customers.company",
    title=gettext_lazy("Companies"),
    model=Company,
    selector=company_list,
    filter_form=CompanyFilterForm,
    columns=[
        Column("name", gettext_lazy("Name"), sort=("name", "id")),
        Column("city", gettext_lazy("City")),
        Column("grade", gettext_lazy("Grade")),
        Column("lifecycle", gettext_lazy("Lifecycle status")),
        Column("owner", gettext_lazy("Owner")),
        Column("last_activity_at", gettext_lazy("Last activity"), sort=("-last_activity_at", "-id")),
        Column("lifetime_value", gettext_lazy("Lifetime value"), sort=("-lifetime_value", "-id")),
        Column("created_at", gettext_lazy("Created"), sort=("-created_at", "-id")),
    ],
    default_sort="name",
    bulk_actions=BULK_ACTIONS,
    row_template="customers/_company_row.html",
    create_url=reverse_lazy("customers:company_create"),
    export_url=reverse_lazy("customers:export_page", args=["companies"]),
    export_permission="customers.export_records",
)

CONTACT_LIST = ListSpec(
    key="customers.contact",
    title=gettext_lazy("Contacts"),
    model=Contact,
    selector=contact_list,
    filter_form=ContactFilterForm,
    columns=[
        Column("display_name", gettext_lazy("Name"), sort=("display_name", "id")),
        Column("title", gettext_lazy("Job title")),
        Column("company", gettext_lazy("Company")),
        Column("email", gettext_lazy("Email")),
        Column("owner", gettext_lazy("Owner")),
        Column("last_activity_at", gettext_lazy("Last activity"), sort=("-last_activity_at", "-id")),
        Column("created_at", gettext_lazy("Created"), sort=("-created_at", "-id")),
    ],
    default_sort="display_name",
    bulk_actions=BULK_ACTIONS,
    row_template="customers/_contact_row.html",
    create_url=reverse_lazy("customers:contact_create"),
    export_url=reverse_lazy("customers:export_page", args=["contacts"]),
    export_permission="customers.export_records",
)

company_list_view = list_view(COMPANY_LIST)
contact_list_view = list_view(CONTACT_LIST)


def _timeline_page(request, **owner):
    kind = request.GET.get("kind", "")
    if kind not in Interaction.Kind.values:
        kind = ""
    return kind, keyset_page(
        timeline(kind=kind, **owner),
        ordering=("-occurred_at", "-id"),
        after=request.GET.get("after"),
        before=request.GET.get("before"),
        size=settings.PAGE_SIZE // 2,
    )


def _detail_context(request, record, target: str) -> dict:
    kind, page = _timeline_page(request, **{target: record})
    return {
        "record": record,
        "can_change": can(request.user, record, "change"),
        "can_delete": can(request.user, record, "delete"),
        "can_reveal": request.user.has_perm("customers.reveal_sensitive"),
        "timeline": page,
        "timeline_kind": kind,
        "kinds": Interaction.Kind.choices,
        "interaction_form": InteractionForm(),
        "panels": panels_for(target, record, request.user),
        "history": object_history(record, viewer=request.user),
    }


@login_required
def company_detail(request, pk):
    company = get_object_for_user(request.user, company_detail_queryset(), pk)
    if request.htmx and request.htmx.target == "timeline":
        kind, page = _timeline_page(request, company=company)
        return render(request, "customers/_timeline.html", {"record": company, "timeline": page, "timeline_kind": kind})
    context = _detail_context(request, company, "company")
    context.update(
        company=company,
        contacts=company_contacts(company=company, user=request.user),
        transactions=company_transactions(company=company),
        transaction_form=TransactionForm(),
    )
    return render(request, "customers/company_detail.html", context)


@login_required
def contact_detail(request, pk):
    contact = get_object_for_user(request.user, contact_detail_queryset(), pk)
    if request.htmx and request.htmx.target == "timeline":
        kind, page = _timeline_page(request, contact=contact)
        return render(request, "customers/_timeline.html", {"record": contact, "timeline": page, "timeline_kind": kind})
    context = _detail_context(request, contact, "contact")
    context["contact"] = contact
    context["company_visible"] = contact.company_id is not None and can(request.user, contact.company, "view")
    return render(request, "customers/contact_detail.html", context)


def _edit(request, *, form_class, service, template, instance=None, model=None, initial=None):
    """Create (instance None) or edit one record through its service; the form shows errors."""
    form = form_class(request.POST or None, instance=instance, user=request.user, initial=initial)
    warnings = []
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        try:
            if instance is None:
                from customers.duplicates import duplicate_warnings

                warnings = duplicate_warnings(model, data, request.user)
                if warnings and not request.POST.get("confirm_duplicates"):
                    raise ValidationError(_("This looks like a customer you already have. Check below."))
                record = service(actor=request.user, **data)
            else:
                record = service(**{model._meta.model_name: instance}, actor=request.user, **data)
        except (ValidationError, PermissionDenied) as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect(record)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        template,
        {"form": form, "record": instance, "duplicate_candidates": warnings, "model": model},
        status=status,
    )


@login_required
def company_create(request):
    if not has_role_permission(request.user, Company, "add"):
        raise PermissionDenied
    return _edit(
        request,
        form_class=CompanyForm,
        service=services.company_create,
        template="customers/company_form.html",
        model=Company,
    )


@login_required
def company_edit(request, pk):
    company = get_object_for_user(request.user, Company, pk, "change")
    return _edit(
        request,
        form_class=CompanyForm,
        service=services.company_update,
        template="customers/company_form.html",
        instance=company,
        model=Company,
    )


@login_required
def contact_create(request):
    if not has_role_permission(request.user, Contact, "add"):
        raise PermissionDenied
    return _edit(
        request,
        form_class=ContactForm,
        service=services.contact_create,
        template="customers/contact_form.html",
        model=Contact,
        initial={"company": request.GET.get("company", "")[:20]},
    )


@login_required
def contact_edit(request, pk):
    contact = get_object_for_user(request.user, Contact, pk, "change")
    return _edit(
        request,
        form_class=ContactForm,
        service=services.contact_update,
        template="customers/contact_form.html",
        instance=contact,
        model=Contact,
    )


@login_required
@require_POST
def company_delete(request, pk):
    company = get_object_for_user(request.user, Company, pk, "delete")
    services.company_delete(company=company, actor=request.user)
    messages.success(request, _("Company deleted."))
    return redirect("customers:company_list")


@login_required
@require_POST
def contact_delete(request, pk):
    contact = get_object_for_user(request.user, Contact, pk, "delete")
    services.contact_delete(contact=contact, actor=request.user)
    messages.success(request, _("Contact deleted."))
    return redirect("customers:contact_list")


def _add_interaction(request, record, target: str):
    form = InteractionForm(request.POST)
    if form.is_valid():
        try:
            services.interaction_add(actor=request.user, **{target: record}, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if request.htmx:
                kind, page = _timeline_page(request, **{target: record})
                return render(
                    request,
                    "customers/_timeline.html",
                    {"record": record, "timeline": page, "timeline_kind": kind, "added": True},
                )
            messages.success(request, _("Added to the history."))
            return redirect(record)
    if request.htmx:
        response = render(
            request,
            "customers/_interaction_form.html",
            {"record": record, "interaction_form": form, "target": target},
            status=422,
        )
        # The errors belong in the form, not in the timeline the form normally refreshes.
        response["HX-Retarget"] = "#interaction-form"
        response["HX-Reswap"] = "outerHTML"
        return response
    messages.error(
        request,
        _("The entry was not added: %(errors)s")
        % {"errors": " ".join(str(e) for errors in form.errors.values() for e in errors)},
    )
    return redirect(record)


@login_required
@require_POST
def company_interaction_add(request, pk):
    company = get_object_for_user(request.user, Company, pk, "change")
    return _add_interaction(request, company, "company")


@login_required
@require_POST
def contact_interaction_add(request, pk):
    contact = get_object_for_user(request.user, Contact, pk, "change")
    return _add_interaction(request, contact, "contact")


@login_required
@require_POST
def company_transaction_add(request, pk):
    company = get_object_for_user(request.user, Company, pk, "change")
    form = TransactionForm(request.POST)
    if form.is_valid():
        try:
            services.transaction_record(actor=request.user, company=company, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Transaction recorded."))
    else:
        messages.error(
            request,
            _("The transaction was not recorded: %(errors)s")
            % {"errors": " ".join(str(e) for errors in form.errors.values() for e in errors)},
        )
    return redirect(f"{company.get_absolute_url()}#transactions")


def _reveal(request, record, field):
    try:
        value = services.reveal_sensitive(obj=record, field=field, actor=request.user)
    except ValidationError:
        return HttpResponse(status=404)
    if request.htmx:
        return render(request, "customers/_revealed.html", {"value": value})
    messages.info(
        request, _("%(field)s: %(value)s") % {"field": record._meta.get_field(field).verbose_name, "value": value}
    )
    return redirect(record)


@login_required
@require_POST
def company_reveal(request, pk, field):
    company = get_object_for_user(request.user, Company, pk)
    return _reveal(request, company, field)


@login_required
@require_POST
def contact_reveal(request, pk, field):
    contact = get_object_for_user(request.user, Contact, pk)
    return _reveal(request, contact, field)
