"""Pages of the customer centre: companies and contacts declared on the screen kit, plus the
two workflow actions of a customer page (add to the history, record a purchase)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.pagination import keyset_page
from crm.params import QueryParams
from crm.permissions import can, get_object_for_user
from crm.screens import Screens, form_errors_text
from customers import services
from customers.duplicates import duplicate_warnings
from customers.forms import CompanyForm, ContactForm, InteractionForm, TransactionForm
from customers.lists import COMPANY_LIST, CONTACT_LIST
from customers.models import Company, Contact, Interaction
from customers.selectors import (
    company_contacts,
    company_detail_queryset,
    company_transactions,
    contact_detail_queryset,
    entry_sentence,
    timeline,
)


def _timeline_page(request, record):
    params = QueryParams(request)
    kind = params.choice("kind", Interaction.Kind.values, default="")
    page = keyset_page(
        timeline(user=request.user, **{record._meta.model_name: record}, kind=kind),
        ordering=("-occurred_at", "-id"),
        after=params.cursor("after"),
        before=params.cursor("before"),
        size=settings.PAGE_SIZE // 2,
    )
    for entry in page.items:
        entry.sentence = entry_sentence(entry, record)
    return {"record": record, "timeline": page, "timeline_kind": kind}


def customer_context(request, record):
    """What a company or contact page shows besides its fields; the timeline alone for htmx."""
    if request.htmx and request.htmx.target == "timeline":
        return render(request, "customers/_timeline.html", _timeline_page(request, record))
    context = {
        **_timeline_page(request, record),
        "kinds": Interaction.Kind.choices,
        "interaction_form": InteractionForm(),
    }
    if isinstance(record, Company):
        context.update(
            contacts=company_contacts(company=record, user=request.user),
            transactions=company_transactions(company=record),
            transaction_form=TransactionForm(),
        )
    else:
        context["company_visible"] = record.company_id is not None and can(request.user, record.company, "view")
    return context


def check_duplicates(request, form, data) -> dict:
    """Before creating a customer: warn of likely duplicates unless the user confirmed."""
    warnings = duplicate_warnings(form._meta.model, data, request.user)
    if warnings and not request.POST.get("confirm_duplicates"):
        return {
            "duplicate_candidates": warnings,
            "refusal": _("This looks like a customer you already have. Check below."),
        }
    return {"duplicate_candidates": warnings}


COMPANY_SCREENS = Screens(
    model=Company,
    path="companies",
    list=COMPANY_LIST,
    form=CompanyForm,
    create=services.company_create,
    update=services.company_update,
    delete=services.company_delete,
    detail_template="customers/company_detail.html",
    detail_queryset=lambda user: company_detail_queryset(),
    detail_context=customer_context,
    create_check=check_duplicates,
    reveal=("phone", "tax_id"),
    reveal_permission="customers.reveal_sensitive",
)

CONTACT_SCREENS = Screens(
    model=Contact,
    path="contacts",
    list=CONTACT_LIST,
    form=ContactForm,
    create=services.contact_create,
    update=services.contact_update,
    delete=services.contact_delete,
    detail_template="customers/contact_detail.html",
    detail_queryset=lambda user: contact_detail_queryset(),
    detail_context=customer_context,
    create_initial=lambda request: {"company": QueryParams(request).id("company")},
    create_check=check_duplicates,
    reveal=("phone", "mobile"),
    reveal_permission="customers.reveal_sensitive",
)


def _add_interaction(request, record):
    form = InteractionForm(request.POST)
    if form.is_valid():
        try:
            services.interaction_add(actor=request.user, **{record._meta.model_name: record}, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if request.htmx:
                return render(request, "customers/_timeline.html", {**_timeline_page(request, record), "added": True})
            messages.success(request, _("Added to the history."))
            return redirect(record)
    if request.htmx:
        context = {"record": record, "interaction_form": form, "target": record._meta.model_name}
        response = render(request, "customers/_interaction_form.html", context, status=422)
        # The errors belong in the form, not in the timeline the form normally refreshes.
        response["HX-Retarget"] = "#interaction-form"
        response["HX-Reswap"] = "outerHTML"
        return response
    messages.error(request, _("The entry was not added: %(errors)s") % {"errors": form_errors_text(form)})
    return redirect(record)


@login_required
@require_POST
def company_interaction_add(request, pk):
    return _add_interaction(request, get_object_for_user(request.user, Company, pk, "change"))


@login_required
@require_POST
def contact_interaction_add(request, pk):
    return _add_interaction(request, get_object_for_user(request.user, Contact, pk, "change"))


@login_required
@require_POST
def company_transaction_add(request, pk):
    company = get_object_for_user(request.user, Company, pk, "change")
    form = TransactionForm(request.POST)
    if form.is_valid():
        try:
            services.transaction_record(actor=request.user, company=company, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(request, _("Transaction recorded."))
    else:
        messages.error(request, _("The transaction was not recorded: %(errors)s") % {"errors": form_errors_text(form)})
    return redirect(f"{company.get_absolute_url()}#transactions")
