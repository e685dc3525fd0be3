"""The screen kit: one declaration gives a model its list, detail, create, edit, delete and
reveal pages, with one URL naming scheme, scoped lookups and safe redirects.

    COMPANY_SCREENS = Screens(
        model=Company,
        path="companies",
        list=COMPANY_LIST,
        form=CompanyForm,
        create=services.company_create,          # (actor=, **data) -> record
        update=services.company_update,          # (company=, actor=, **data) -> record
        delete=services.company_delete,          # (company=, actor=) -> None
        detail_template="customers/company_detail.html",
        detail_context=company_context,          # (request, record) -> dict
        reveal=("phone", "tax_id"),
        reveal_permission="customers.reveal_sensitive",
    )
    urlpatterns = COMPANY_SCREENS.urls()

gives the names `company_list`, `company_create`, `company_detail`, `company_edit`,
`company_delete` and `company_reveal` under the app's namespace, at `companies/`,
`companies/new/`, `companies/<pk>/`, `…/edit/`, `…/delete/` and `…/reveal/<field>/`. Sharing is
the core's dialog (`crm:share`) for every owned model. A detail page also receives the panels
other modules registered for its model (`crm.panels`), which its template renders with
`crm/_panels.html`. Every page finds its record through `get_object_for_user` (404 unseen,
403 not permitted); forms are `crm.forms.RecordForm`s, whose record fields are scoped; writes
go through the app's services, which use `crm.writes`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.forms import add_service_errors
from crm.lists import ListSpec, list_view, safe_next
from crm.panels import panels_for
from crm.permissions import can, get_object_for_user, has_role_permission
from crm.selectors import object_history
from crm.services import record_reveal
from crm.writes import DeleteBlocked


def form_errors_text(form) -> str:
    """A form's errors as one sentence, for a flash message when the form is not re-shown."""
    return " ".join(str(error) for errors in form.errors.values() for error in errors)


def delete_refusal_message(error: DeleteBlocked, user):
    """The refusal with links to the blocking records the user may open."""
    links = error.visible_blockers(user)
    if not links:
        return error.messages[0]
    return format_html(
        "{} {}",
        error.messages[0],
        format_html_join(", ", '<a href="{}">{}</a>', ((obj.get_absolute_url(), str(obj)) for obj in links)),
    )


def form_action(request: HttpRequest, *, record, form, run: Callable, done: str, template: str, context=None):
    """A workflow action on one record ("mark won", "convert"): GET shows the form; a valid post
    calls `run(cleaned_data)` (one service call) and returns to the record with `done`; a refusal
    shows on the form with status 400."""
    if request.method == "POST" and form.is_valid():
        try:
            run(form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            add_service_errors(form, error)
        else:
            messages.success(request, done)
            return redirect(record)
    status = 400 if request.method == "POST" else 200
    return render(request, template, {"form": form, "record": record, **(context or {})}, status=status)


@dataclass
class Screens:
    model: type[models.Model]
    path: str
    detail_template: str
    list: ListSpec | None = None
    index: str = ""  # URL name of the module's own index page when it has no ListSpec ("My tasks")
    form: type | None = None
    create: Callable | None = None
    update: Callable | None = None
    delete: Callable | None = None
    detail_queryset: Callable | None = None  # (user) -> queryset with select_related for the page
    detail_context: Callable | None = None  # (request, record) -> dict, or an HttpResponse (partials)
    form_template: str = "crm/object_form.html"
    form_context: Callable | None = None  # (request, form, record) -> dict
    create_initial: Callable | None = None  # (request) -> dict
    create_check: Callable | None = None  # (request, form, data) -> context; a "refusal" in it stops the save
    edit_refusal: Callable | None = None  # (record) -> message when the record may no longer be edited
    reveal: tuple[str, ...] = ()
    reveal_permission: str = ""

    @property
    def name(self) -> str:
        return self.model._meta.model_name

    def url_name(self, page: str) -> str:
        return f"{self.model._meta.app_label}:{self.name}_{page}"

    def index_url(self) -> str:
        if self.list is not None:
            return reverse(self.url_name("list"))
        return reverse(self.index) if self.index else "/"

    # --- pages ---------------------------------------------------------------------------------

    def detail_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        queryset = self.detail_queryset(request.user) if self.detail_queryset else self.model
        record = get_object_for_user(request.user, queryset, pk)
        extra = self.detail_context(request, record) if self.detail_context is not None else {}
        if isinstance(extra, HttpResponse):  # an htmx partial of the page: nothing else to build
            response = extra
        else:
            response = render(request, self.detail_template, {**self.base_context(request, record), **extra})
        patch_vary_headers(response, ["HX-Request"])
        return response

    def base_context(self, request: HttpRequest, record) -> dict:
        user = request.user
        return {
            "record": record,
            self.name: record,
            "screens": self,
            "can_change": self.update is not None and can(user, record, "change") and not self._refusal(record),
            "can_delete": self.delete is not None and can(user, record, "delete"),
            "can_reveal": bool(self.reveal_permission) and user.has_perm(self.reveal_permission),
            "history": object_history(record, viewer=user),
            # Sections other modules registered for this model's page (`crm.panels`).
            "panels": panels_for(record, user),
            "record_urls": {
                "edit": reverse(self.url_name("edit"), args=[record.pk]) if self.update else "",
                "delete": reverse(self.url_name("delete"), args=[record.pk]) if self.delete else "",
                "share": reverse("crm:share", args=[record._meta.label_lower, record.pk]),
            },
        }

    def _refusal(self, record) -> str:
        return self.edit_refusal(record) if self.edit_refusal else ""

    def edit_view(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        user = request.user
        if pk is None:
            if not has_role_permission(user, self.model, "add"):
                raise PermissionDenied
            record = None
            initial = self.create_initial(request) if self.create_initial else None
        else:
            record = get_object_for_user(user, self.model, pk, "change")
            if refusal := self._refusal(record):
                messages.error(request, refusal)
                return redirect(record)
            initial = None
        # The form works on its own copy: the service compares against the stored row.
        form = self.form(request.POST or None, instance=copy.copy(record), user=user, initial=initial)
        extra = {}
        if request.method == "POST" and form.is_valid():
            data = form.service_data()
            try:
                if record is None:
                    if self.create_check is not None:
                        extra = self.create_check(request, form, data) or {}
                        if extra.get("refusal"):
                            raise ValidationError(extra.pop("refusal"))
                    saved = self.create(actor=user, **data)
                else:
                    saved = self.update(**{self.name: record}, actor=user, **data)
            except (ValidationError, PermissionDenied) as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Saved."))
                return redirect(safe_next(request, saved.get_absolute_url()))
        context = {
            "form": form,
            "record": record,
            "screens": self,
            "model": self.model,
            "verbose_name": self.model._meta.verbose_name,
            "cancel_url": record.get_absolute_url() if record else self.index_url(),
            **extra,
        }
        if self.form_context is not None:
            context.update(self.form_context(request, form, record))
        return render(request, self.form_template, context, status=400 if request.method == "POST" else 200)

    def delete_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        record = get_object_for_user(request.user, self.model, pk, "delete")
        try:
            self.delete(**{self.name: record}, actor=request.user)
        except DeleteBlocked as error:
            messages.error(request, delete_refusal_message(error, request.user))
            return redirect(record)
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
            return redirect(record)
        messages.success(request, _("%(what)s deleted.") % {"what": str(self.model._meta.verbose_name).capitalize()})
        return redirect(safe_next(request, self.index_url()))

    def reveal_view(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        if field not in self.reveal:
            return HttpResponse(status=404)
        record = get_object_for_user(request.user, self.model, pk)
        value = record_reveal(obj=record, field=field, actor=request.user, permission=self.reveal_permission)
        if request.htmx:
            response = render(request, "crm/_revealed.html", {"value": value})
        else:
            # A page of its own: a flash message would carry the plaintext in a cookie.
            label = self.model._meta.get_field(field).verbose_name
            response = render(request, "crm/revealed.html", {"value": value, "label": label, "record": record})
        patch_cache_control(response, no_store=True, private=True)
        return response

    # --- URLs ----------------------------------------------------------------------------------

    def urls(self) -> list:
        name, prefix = self.name, self.path
        patterns = []
        if self.list is not None:
            patterns.append(path(f"{prefix}/", list_view(self.list), name=f"{name}_list"))
        if self.create is not None:
            patterns.append(path(f"{prefix}/new/", login_required(self.edit_view), name=f"{name}_create"))
        patterns.append(path(f"{prefix}/<int:pk>/", login_required(self.detail_view), name=f"{name}_detail"))
        if self.update is not None:
            patterns.append(path(f"{prefix}/<int:pk>/edit/", login_required(self.edit_view), name=f"{name}_edit"))
        if self.delete is not None:
            view = login_required(require_POST(self.delete_view))
            patterns.append(path(f"{prefix}/<int:pk>/delete/", view, name=f"{name}_delete"))
        if self.reveal:
            view = login_required(require_POST(self.reveal_view))
            patterns.append(path(f"{prefix}/<int:pk>/reveal/<str:field>/", view, name=f"{name}_reveal"))
        return patterns
