"""The shared list machinery: one declaration per model gives a list page with filters,
sorting, keyset pagination, a capped count, saved views, bulk actions and an htmx partial.

    company_list = ListSpec(
        key="customers.company",
        title=_("Companies"),
        model=Company,
        selector=company_list_selector,          # (user, filters) -> visible queryset
        filter_form=CompanyFilterForm,
        columns=[Column("name", _("Name"), sort=("name", "id")), ...],
        default_sort="name",
        bulk_actions=[BulkAction("delete", _("Delete"), "delete", crm.writes.bulk_delete)],
    )
    urlpatterns = [path("companies/", list_view(company_list), name="company_list")]
    # or, with the screen kit: Screens(model=Company, list=company_list, ...).urls()

Every sort key must be backed by an index on exactly those columns, ending in the primary key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from crm.forms import DateInput, scope_form_fields, style_form
from crm.jinja import render_fragment
from crm.models import Team, User
from crm.pagination import capped_count, keyset_page
from crm.params import BadParameter, QueryParams, bound_form_fields, parse_id
from crm.permissions import has_role_permission, restrict
from crm.search import PHONE_SEARCH_REFUSED, phone_search_allowed
from crm.writes import BulkResult


def safe_next(request: HttpRequest, default: str) -> str:
    """The `next` the request names (POST, then GET) if it is a path on this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return default


MAX_BULK_SELECTION = 1000


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    sort: tuple[str, ...] | None = None


@dataclass(frozen=True)
class BulkAction:
    """An action on the selected rows. `handler(queryset=, actor=, data=)` is a service that
    returns how many rows it changed (or a `crm.writes.BulkResult` with refusals); it receives
    only rows the user may `permission` ("view", "change", "assign" or "delete")."""

    name: str
    label: str
    permission: str  # "view", "change" or "delete"
    handler: Callable[..., int]
    form: type[forms.Form] | None = None
    confirm: str = ""
    # A model permission ("app_label.codename") the user needs besides `permission` on the rows:
    # another module's action on this list ("add to a campaign segment" needs change_segment).
    requires: str = ""


# Bulk actions other modules add to a list they may not import (list key -> actions).
_added_bulk_actions: dict[str, list[BulkAction]] = {}


def register_bulk_action(list_key: str, action: BulkAction) -> None:
    """Offer `action` on the list `list_key` ("customers.contact"), from a module above it."""
    actions = [a for a in _added_bulk_actions.get(list_key, []) if a.name != action.name]
    _added_bulk_actions[list_key] = [*actions, action]


@dataclass(frozen=True)
class ListSpec:
    key: str
    title: str
    model: type
    selector: Callable[..., QuerySet]
    columns: list[Column]
    filter_form: type[forms.Form] | None = None
    default_sort: str = ""
    bulk_actions: list[BulkAction] = field(default_factory=list)
    template: str = "crm/list.html"
    row_template: str = "crm/list_rows.jinja"  # Jinja2 (crm/jinja.py), loops over `rows`
    create_url: str | None = None
    export_url: str | None = None
    export_permission: str | None = None  # "app_label.codename" the export link needs
    # (request) -> dict: more context for the page and its row template, e.g. for a `template` of
    # the module's own that extends crm/list.html and fills its `list_actions` and `list_intro`
    # blocks (a ticket queue's tabs, "on shift"), or translated words the rows show.
    extra_context: Callable[[HttpRequest], dict] | None = None

    def actions_for(self, user) -> list[BulkAction]:
        """The bulk actions `user` may use on this list: its own and those other modules added."""
        return [
            action
            for action in [*self.bulk_actions, *_added_bulk_actions.get(self.key, [])]
            if has_role_permission(user, self.model, action.permission)
            and (not action.requires or user.has_perm(action.requires))
        ]

    def sorts(self) -> dict[str, tuple[str, ...]]:
        return {c.key: c.sort for c in self.columns if c.sort}

    def sort_keys(self) -> set[str]:
        """The values `?sort=` may take: each sortable column, ascending or descending."""
        return {prefix + key for key in self.sorts() for prefix in ("", "-")}

    def ordering(self, sort: str) -> tuple[str, tuple[str, ...]]:
        """The validated sort key (with "-" for descending) and its keyset ordering."""
        sorts = self.sorts()
        key = sort.lstrip("-")
        if key not in sorts:
            sort, key = self.default_sort, self.default_sort.lstrip("-")
        ordering = sorts[key]
        if sort.startswith("-"):
            ordering = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in ordering)
        return sort, ordering


class FilterForm(forms.Form):
    """Base for list filter forms: knows the user, so choice fields list only what they may see
    (`crm.forms.scope_form_fields`; an owner filter offers any active user through a picker),
    and styles its widgets. Fields that need the database or another module go in `extend()`."""

    assignment_choices = False

    def __init__(self, *args, user=None, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.extend()
        scope_form_fields(self, user)
        bound_form_fields(self)
        style_form(self, small=True)

    def extend(self) -> None:
        """Add or adjust fields before they are scoped and styled."""


class RecordFilterForm(FilterForm):
    """The filters every list of owned records offers: search, owner, team, created between."""

    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(label=gettext_lazy("Team"), queryset=Team.objects.all(), required=False)
    created_from = forms.DateField(label=gettext_lazy("Created from"), required=False, widget=DateInput)
    created_to = forms.DateField(label=gettext_lazy("Created to"), required=False, widget=DateInput)

    def clean_q(self):
        query = self.cleaned_data["q"]
        where = "list:" + type(self).__name__.removesuffix("FilterForm").lower()
        if query and self.user is not None and not phone_search_allowed(self.user, query, where=where):
            raise forms.ValidationError(PHONE_SEARCH_REFUSED, code="phone_search_limit")
        return query


def filtered_queryset(spec: ListSpec, request: HttpRequest) -> tuple[QuerySet, forms.Form | None]:
    """The rows the user may see that match the request's filters (invalid filters are ignored
    and reported on the form)."""
    form = spec.filter_form(request.GET or None, user=request.user) if spec.filter_form else None
    filters = {}
    if form is not None and form.is_bound:
        form.is_valid()
        filters = {k: v for k, v in getattr(form, "cleaned_data", {}).items() if v not in (None, "", [])}
    return spec.selector(user=request.user, filters=filters), form


def _querystring(request: HttpRequest, **changes) -> str:
    params = request.GET.copy()
    for key in ("after", "before"):
        params.pop(key, None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return urlencode(sorted((k, v) for k in params for v in params.getlist(k)))


def render_list(request: HttpRequest, spec: ListSpec) -> HttpResponse:
    actions = spec.actions_for(request.user)
    chosen = next((a for a in actions if a.name == request.GET.get("action")), actions[0] if actions else None)
    # Ids of their own: the filter form above has fields of the same names (owner, tag).
    bulk_form = chosen.form(user=request.user, auto_id="bulk_%s") if chosen and chosen.form else ()
    bulk = {"bulk_action": chosen, "bulk_form": bulk_form}
    if request.htmx and request.htmx.target == "bulk-fields":
        # The fields of the bulk action just chosen, and nothing of the list.
        response = render(request, f"{spec.template}#bulk_fields", bulk)
        response["Vary"] = "HX-Request"
        return response
    queryset, form = filtered_queryset(spec, request)
    params = QueryParams(request)
    sort, ordering = spec.ordering(params.choice("sort", spec.sort_keys(), default=spec.default_sort))
    page = keyset_page(
        queryset,
        ordering=ordering,
        after=params.cursor("after"),
        before=params.cursor("before"),
        size=settings.PAGE_SIZE,
    )
    count, capped = capped_count(queryset, settings.LIST_COUNT_CAP)
    base_query = _querystring(request)
    headers = []
    for column in spec.columns:
        header = {"column": column, "sorted": None, "url": None}
        if column.sort:
            active = sort.lstrip("-") == column.key
            if active:
                # The arrow shows the order rows really come in: a column declared newest-first
                # (("-created_at", "-id")) is descending under its plain key.
                header["sorted"] = "desc" if ordering[0].startswith("-") else "asc"
            flip = f"-{column.key}" if sort == column.key else column.key
            header["url"] = "?" + _querystring(request, sort=flip if active else column.key)
        headers.append(header)
    from crm.selectors import saved_views

    context = {
        "spec": spec,
        "page": page,
        "rows": page.items,
        "count": count,
        "count_capped": capped,
        "filter_form": form,
        "headers": headers,
        "sort": sort,
        "base_query": base_query,
        "next_url": f"?{_querystring(request, after=page.next_cursor)}" if page.has_next else None,
        "previous_url": f"?{_querystring(request, before=page.previous_cursor)}" if page.has_previous else None,
        "saved_views": saved_views(user=request.user, list_key=spec.key),
        "bulk_actions": actions,
        **bulk,
        "columns": spec.columns,
        "can_export": bool(spec.export_url)
        and (spec.export_permission is None or request.user.has_perm(spec.export_permission)),
        "can_create": has_role_permission(request.user, spec.model, "add"),
    }
    extra = spec.extra_context(request) if spec.extra_context is not None else {}
    context.update(extra)
    context["rows_html"] = render_rows(request, spec, page.items, bulk_actions=bool(actions), extra=extra)
    template = f"{spec.template}#rows" if request.htmx and request.htmx.target == "list-rows" else spec.template
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


def render_rows(request: HttpRequest, spec: ListSpec, rows, *, bulk_actions: bool, extra=None) -> SafeString:
    """The `<tr>`s of one page of a list, from the spec's Jinja2 row template (crm/jinja.py)."""
    return render_fragment(
        spec.row_template,
        {
            **(extra or {}),
            "rows": rows,
            "columns": spec.columns,
            "bulk_actions": bulk_actions,
            "select_label": _("Select %(name)s"),
            "nothing_to_show": _("Nothing to show."),
        },
        request=request,
    )


class IdListField(forms.Field):
    """Selected row ids from checkboxes; visibility is applied to them afterwards."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        values = value if isinstance(value, (list, tuple)) else [value]
        try:
            ids = [parse_id(str(v)) for v in values]
        except BadParameter:
            raise ValidationError(_("Invalid selection.")) from None
        return [pk for pk in ids if pk is not None]


class BulkSelectionForm(forms.Form):
    action = forms.CharField()
    ids = IdListField()


def run_bulk_action(request: HttpRequest, spec: ListSpec) -> HttpResponse:
    """Apply a bulk action to the selected rows the user may act on; report what was skipped."""
    back = safe_next(request, request.path)
    selection = BulkSelectionForm(request.POST)
    if not selection.is_valid():
        messages.error(request, _("Select at least one row and an action."))
        return redirect(back)
    actions = {a.name: a for a in spec.actions_for(request.user)}
    action = actions.get(selection.cleaned_data["action"])
    if action is None:
        messages.error(request, _("Unknown action."))
        return redirect(back)
    ids = list(dict.fromkeys(selection.cleaned_data["ids"]))[:MAX_BULK_SELECTION]
    extra = action.form(request.POST, user=request.user) if action.form else None
    if extra is not None and not extra.is_valid():
        for errors in extra.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    allowed = restrict(spec.model._default_manager.filter(pk__in=ids), request.user, action.permission)
    try:
        result = action.handler(queryset=allowed, actor=request.user, data=extra.cleaned_data if extra else {})
    except (PermissionDenied, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect(back)
    changed = result.changed if isinstance(result, BulkResult) else result
    refused = result.refused if isinstance(result, BulkResult) else []
    for message in refused[:10]:
        messages.error(request, message)
    skipped = len(ids) - changed - len(refused)
    messages.success(
        request,
        ngettext("%(action)s: %(count)d record.", "%(action)s: %(count)d records.", changed)
        % {"action": action.label, "count": changed},
    )
    if skipped > 0:
        messages.warning(
            request,
            ngettext(
                "%(count)d record was skipped: you may not change it.",
                "%(count)d records were skipped: you may not change them.",
                skipped,
            )
            % {"count": skipped},
        )
    return redirect(back)


def list_view(spec: ListSpec):
    """The view for a list page: GET renders, POST runs a bulk action."""

    @login_required
    def view(request):
        if not has_role_permission(request.user, spec.model, "view"):
            raise PermissionDenied
        if request.method == "POST":
            return run_bulk_action(request, spec)
        return render_list(request, spec)

    view.__name__ = f"{spec.key.replace('.', '_')}_list"
    return view
