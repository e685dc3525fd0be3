"""Pages for duplicates: the review list, the side-by-side merge, and what a merge did."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from crm.fields import EncryptedTextField
from crm.forms import add_service_errors
from crm.params import BadParameter, QueryParams, parse_id, parse_text
from crm.permissions import get_object_for_user, has_role_permission, restrict
from crm.search import text_search
from customers.duplicates import duplicate_warnings, exact_pairs, likely_pairs, similar_names_available
from customers.merge import MERGED, SURVIVOR, company_merge, contact_merge, merge_fields
from customers.models import Company, Contact, MergeRecord

TYPES = {"company": Company, "contact": Contact}
KINDS = {"exact": gettext_lazy("Same identifier"), "likely": gettext_lazy("Similar names")}
PICKER_SIZE = 20


@login_required
@require_http_methods(["GET"])
def duplicates(request):
    """Candidate pairs among the records the user may see; htmx asks for just the list."""
    params = QueryParams(request)
    type_key = params.choice("type", TYPES, default="company")
    kind = params.choice("kind", KINDS, default="exact")
    model = TYPES[type_key]
    if not has_role_permission(request.user, model, "view"):
        raise PermissionDenied
    finder = exact_pairs if kind == "exact" else likely_pairs
    page = finder(model=model, user=request.user, after=params.cursor("after"))
    context = {
        "page": page,
        "type_key": type_key,
        "kind": kind,
        "kinds": KINDS,
        "merge_url": "customers:company_merge" if model is Company else "customers:contact_merge",
        "similarity_unavailable": kind == "likely" and not similar_names_available(),
    }
    template = "customers/duplicate_list.html"
    if request.htmx:
        template += "#pairs"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


@dataclass
class FieldRow:
    name: str
    label: str
    survivor: str
    merged: str

    @property
    def differs(self) -> bool:
        return self.survivor != self.merged


def _shown(record, name: str) -> str:
    """A field's value as the compare page shows it; secrets only by their last digits."""
    field = record._meta.get_field(name)
    value = getattr(record, name)
    if value in (None, ""):
        return ""
    if isinstance(field, EncryptedTextField):
        digits = "".join(ch for ch in str(value) if ch.isalnum())
        return "•••• " + digits[-4:] if len(digits) > 4 else "••••"
    if field.choices:
        return str(getattr(record, f"get_{name}_display")())
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime.datetime):
        return date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, datetime.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


def _raw(record, name: str):
    field = record._meta.get_field(name)
    return getattr(record, field.attname)


class MergeForm(forms.Form):
    """One radio per differing field: keep the survivor's value or take the other record's."""

    other = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, rows: list[FieldRow], **kwargs):
        super().__init__(*args, **kwargs)
        for row in rows:
            if row.differs:
                self.fields[row.name] = forms.ChoiceField(
                    label=row.label,
                    choices=[(SURVIVOR, row.survivor or _("(empty)")), (MERGED, row.merged or _("(empty)"))],
                    widget=forms.RadioSelect,
                    initial=MERGED if not row.survivor and row.merged else SURVIVOR,
                )

    def choices(self) -> dict[str, str]:
        return {name: value for name, value in self.cleaned_data.items() if name != "other"}


def _rows(model, survivor, merged) -> list[FieldRow]:
    rows = []
    for name in merge_fields(model):
        field = model._meta.get_field(name)
        shown_s, shown_m = _shown(survivor, name), _shown(merged, name)
        if _raw(survivor, name) != _raw(merged, name) and shown_s == shown_m:
            shown_m += " "  # different values that print alike (e.g. masked phones) still get a choice
        rows.append(FieldRow(name, str(field.verbose_name), shown_s, shown_m))
    return rows


def _merge_view(request, pk: int, *, model, service, url_name: str):
    queryset = model.objects.select_related("owner", "team")
    if model is Contact:
        queryset = queryset.select_related("company")
    survivor = get_object_for_user(request.user, queryset, pk, perm="change")
    raw_other = request.POST.get("other") if request.method == "POST" else request.GET.get("other")
    if not raw_other:
        return _picker(request, survivor, model=model, url_name=url_name)
    try:
        other_pk = parse_id(raw_other)
    except BadParameter:
        other_pk = None
    if other_pk is None:
        raise Http404
    if other_pk == survivor.pk:
        messages.error(request, _("Choose another record to merge with."))
        return redirect(reverse(url_name, args=[survivor.pk]))
    merged = get_object_for_user(request.user, queryset, other_pk, perm="assign")
    rows = _rows(model, survivor, merged)
    if request.method == "POST":
        form = MergeForm(request.POST, rows=rows)
        if form.is_valid():
            try:
                record = service(survivor=survivor, merged=merged, field_choices=form.choices(), actor=request.user)
            except (ValidationError, PermissionDenied) as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Merged. The other record's details are kept in the merge record."))
                return redirect("customers:merge_record", pk=record.pk)
    else:
        form = MergeForm(initial={"other": merged.pk}, rows=rows)
    return render(
        request,
        "customers/merge_compare.html",
        {
            "survivor": survivor,
            "merged": merged,
            "table": [(row, form[row.name] if row.name in form.fields else None) for row in rows],
            "form": form,
            "url_name": url_name,
            "type_label": model._meta.verbose_name,
        },
        status=400 if request.method == "POST" else 200,
    )


def _picker(request, survivor, *, model, url_name: str):
    """Without ?other=: suggest likely duplicates and let the user search for the other record."""
    query = parse_text(request.GET.get("q"))
    results = []
    if query:
        name_field = "name" if model is Company else "display_name"
        results = list(
            restrict(model.objects.all(), request.user, "assign")
            .filter(text_search(query, recheck=(name_field,)))
            .exclude(pk=survivor.pk)
            .select_related("owner")
            .order_by(name_field, "pk")[:PICKER_SIZE]
        )
    suggestions = duplicate_warnings(model, _as_data(survivor), request.user, exclude_pk=survivor.pk)
    return render(
        request,
        "customers/merge_pick.html",
        {
            "survivor": survivor,
            "query": query,
            "results": results,
            "suggestions": suggestions,
            "url_name": url_name,
            "type_label": model._meta.verbose_name,
        },
    )


def _as_data(record) -> dict:
    names = ("name", "city", "website", "phone", "tax_id", "external_id", "email", "mobile")
    data = {name: getattr(record, name, "") for name in names}
    if isinstance(record, Contact):
        data.update(display_name=record.display_name, company=record.company_id)
    return data


@login_required
@require_http_methods(["GET", "POST"])
def company_merge_view(request, pk):
    return _merge_view(request, pk, model=Company, service=company_merge, url_name="customers:company_merge")


@login_required
@require_http_methods(["GET", "POST"])
def contact_merge_view(request, pk):
    return _merge_view(request, pk, model=Contact, service=contact_merge, url_name="customers:contact_merge")


@login_required
@require_http_methods(["GET"])
def merge_record(request, pk):
    """What one merge did; shown to whoever may see the surviving record."""
    try:
        record = MergeRecord.objects.select_related("actor").get(pk=pk)
    except MergeRecord.DoesNotExist:
        raise Http404 from None
    model = TYPES.get(record.model.rsplit(".", 1)[-1])
    if model is None:
        raise Http404
    survivor = get_object_for_user(request.user, model, record.survivor_id)
    labels = {name: str(model._meta.get_field(name).verbose_name) for name in merge_fields(model)}
    data = record.merged_data
    values = []
    for name in merge_fields(model):
        if name in data:
            field, value = model._meta.get_field(name), data[name]
            label = dict(field.flatchoices).get(value, "") if field.choices and isinstance(value, str) else ""
            values.append((labels[name], str(label) or _snapshot_text(value)))
    values.append((_("tags"), _snapshot_text(data.get("tags", []))))
    moved = [(name, count) for name, count in record.moved.items() if name != "renamed_references"]
    return render(
        request,
        "customers/merge_record.html",
        {
            "record": record,
            "survivor": survivor,
            "values": values,
            "chosen": [labels.get(name, name) for name in record.chosen_fields],
            "moved": moved,
            "renamed": record.moved.get("renamed_references", {}),
        },
    )


def _snapshot_text(value) -> str:
    if isinstance(value, dict):
        return str(value.get("repr", ""))
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)
