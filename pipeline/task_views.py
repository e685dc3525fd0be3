"""Pages for tasks, calls and meetings: "My tasks", detail, edit, quick-add from a related page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm.forms import add_service_errors
from crm.lists import safe_next
from crm.params import QueryParams
from crm.permissions import can, get_object_for_user, has_role_permission, restrict
from crm.screens import Screens
from pipeline import tasks_services as services
from pipeline.models import Task
from pipeline.task_forms import QuickTaskForm, TaskCompleteForm, TaskForm
from pipeline.task_selectors import BUCKETS, my_tasks, my_tasks_bucket, related_open_tasks
from pipeline.tasks_services import RELATED_MODELS


def _require(user, action: str) -> None:
    if not has_role_permission(user, Task, action):
        raise PermissionDenied


@login_required
def my_tasks_view(request):
    _require(request.user, "view")
    params = QueryParams(request)
    bucket = params.choice("bucket", BUCKETS)
    context = {"add_allowed": has_role_permission(request.user, Task, "add")}
    if bucket:
        context["bucket"] = bucket
        context["page"] = my_tasks_bucket(
            user=request.user, bucket=bucket, after=params.cursor("after"), before=params.cursor("before")
        )
    else:
        context["buckets"] = my_tasks(user=request.user)
    return render(request, "pipeline/task_list.html", context)


def _related_initial(request) -> dict:
    """?company=12 (or contact, lead, opportunity) pre-fills the relation; the form re-checks it."""
    params = QueryParams(request)
    return {name: pk for name in RELATED_MODELS if (pk := params.id(name))}


TASK_SCREENS = Screens(
    model=Task,
    path="tasks",
    index="pipeline:my_tasks",
    form=TaskForm,
    create=services.task_create,
    update=services.task_update,
    detail_template="pipeline/task_detail.html",
    detail_queryset=lambda user: Task.objects.select_related(
        "owner", "team", "company", "contact", "lead", "opportunity"
    ),
    detail_context=lambda request, task: {"complete_form": TaskCompleteForm()},
    create_initial=_related_initial,
)


def _state_change(request, pk, service, done_message: str, **extra):
    task = get_object_for_user(request.user, Task, pk, "change")
    try:
        service(task=task, actor=request.user, **extra)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, done_message)
    return redirect(safe_next(request, task.get_absolute_url()))


@login_required
@require_POST
def task_complete(request, pk):
    form = TaskCompleteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    return _state_change(request, pk, services.task_complete, _("Task completed."), note=note)


@login_required
@require_POST
def task_cancel(request, pk):
    return _state_change(request, pk, services.task_cancel, _("Task cancelled."))


@login_required
@require_POST
def task_reopen(request, pk):
    return _state_change(request, pk, services.task_reopen, _("Task reopened."))


# --- The panel on company, contact, lead and opportunity pages --------------------------------


def tasks_panel_context(related, user, form: QuickTaskForm | None = None) -> dict | None:
    """Context for `pipeline/_tasks_panel.html` (None hides the panel from users without tasks)."""
    if not has_role_permission(user, Task, "view"):
        return None
    field = related._meta.model_name
    can_add = has_role_permission(user, Task, "add") and can(user, related, "change")
    return {
        "related": related,
        "related_field": field,
        "tasks": related_open_tasks(user=user, related_field=field, related=related),
        "form": form or (QuickTaskForm(user=user, initial={field: related.pk}) if can_add else None),
        "can_add": can_add,
    }


@login_required
@require_POST
def task_quick_add(request):
    """Add a task from a related record's page; htmx gets the refreshed panel back."""
    _require(request.user, "add")
    form = QuickTaskForm(request.POST, user=request.user)
    related = None
    params = QueryParams(request, request.POST)
    for name, model in RELATED_MODELS.items():
        if pk := params.id(name):
            related = restrict(model.objects.all(), request.user).filter(pk=pk).first()
            if related is None:
                raise Http404  # not visible: refuse without saying whether it exists
            break
    if related is None:
        return redirect("pipeline:task_create")
    status = 200
    if form.is_valid():
        try:
            services.task_create(actor=request.user, **form.service_data())
        except (ValidationError, PermissionDenied) as error:
            add_service_errors(form, error)
            status = 422
        else:
            if not request.htmx:
                messages.success(request, _("Task added."))
                return redirect(related)
            form = None
    else:
        status = 422
    if not request.htmx:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect(related)
    context = {"panel": tasks_panel_context(related, request.user, form=form)}
    response = render(request, "pipeline/_tasks_panel.html", context, status=status)
    response["Vary"] = "HX-Request"
    return response
