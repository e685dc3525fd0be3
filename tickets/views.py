"""Ticket pages: the queues (one list with queue filters), the ticket page with its conversation,
and the workflow actions (reply, status, take, assign, watch). Thin: parse, check, one service call."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.forms import add_service_errors
from crm.lists import BulkAction, Column, ListSpec, safe_next
from crm.middleware import body_limit
from crm.params import QueryParams
from crm.permissions import can, get_object_for_user, has_role_permission
from crm.screens import Screens, form_errors_text
from crm.writes import record_delete
from customers.forms import TagActionForm
from customers.services import bulk_add_tag
from tickets import intake, services
from tickets.forms import (
    QUEUES,
    AssignForm,
    BulkPriorityForm,
    BulkStatusForm,
    MergeForm,
    ReplyForm,
    StatusForm,
    TicketFilterForm,
    TicketForm,
    UnwatchForm,
    WatcherForm,
)
from tickets.models import Channel, Ticket, warning_lead_time
from tickets.selectors import (
    canned_responses,
    conversation,
    customer_message_for,
    on_shift,
    related_opportunity,
    request_files,
    ticket_for_detail,
    ticket_list,
)

STATUS_CLASSES = {
    Ticket.Status.NEW: "text-bg-info",
    Ticket.Status.OPEN: "text-bg-primary",
    Ticket.Status.PENDING: "text-bg-warning",
    Ticket.Status.RESOLVED: "text-bg-success",
    Ticket.Status.CLOSED: "text-bg-secondary",
}


def list_context(request) -> dict:
    now = timezone.now()
    return {
        "queues": list(QUEUES.items()),
        "queue": request.GET.get("queue", ""),
        "shift": on_shift(request.user) if has_role_permission(request.user, Ticket, "change") else None,
        "status_classes": STATUS_CLASSES,
        "unassigned": _("Unassigned"),
        "now": now,
        "soon": now + warning_lead_time(),
    }


BULK_ACTIONS = [
    BulkAction("assign", gettext_lazy("Assign"), "assign", services.bulk_assign, AssignForm),
    BulkAction("status", gettext_lazy("Change status"), "change", services.bulk_set_status, BulkStatusForm),
    BulkAction("priority", gettext_lazy("Change priority"), "change", services.bulk_set_priority, BulkPriorityForm),
    BulkAction("add_tag", gettext_lazy("Add tag"), "change", bulk_add_tag, TagActionForm),
]

TICKET_LIST = ListSpec(
    key="tickets.ticket",
    title=gettext_lazy("Tickets"),
    model=Ticket,
    selector=ticket_list,
    filter_form=TicketFilterForm,
    columns=[
        Column("number", gettext_lazy("Number")),
        Column("subject", gettext_lazy("Subject")),
        Column("customer", gettext_lazy("Customer")),
        Column("status", gettext_lazy("Status")),
        Column("priority", gettext_lazy("Priority")),
        Column("owner", gettext_lazy("Assignee")),
        Column("due", gettext_lazy("Next due")),
        Column("created_at", gettext_lazy("Opened"), sort=("-created_at", "-id")),
    ],
    default_sort="-created_at",
    bulk_actions=BULK_ACTIONS,
    template="tickets/ticket_list.html",
    row_template="tickets/ticket_rows.jinja",
    create_url=reverse_lazy("tickets:ticket_create"),
    extra_context=list_context,
)


def ticket_delete(*, ticket: Ticket, actor) -> None:
    record_delete(record=ticket, actor=actor)


def ticket_context(request, ticket: Ticket) -> dict:
    user = request.user
    may_work = can(user, ticket, "change")
    reply_initial = {}
    canned = canned_responses() if may_work else []
    chosen = QueryParams(request).id("canned") if may_work else None
    response = next((c for c in canned if c.pk == chosen), None)
    if response is not None:
        reply_initial["body"] = response.render(ticket=ticket, agent=user)
    watchers = list(ticket.watchers.all())  # prefetched, by user name (ticket_for_detail)
    return {
        "watchers": watchers,
        "watching": any(watcher.pk == user.pk for watcher in watchers),
        "may_watch": services.may_watch(user, ticket),
        "watcher_form": WatcherForm(user=user, auto_id="id_watcher_%s") if may_work else None,
        "canned_responses": canned,
        "merge_form": MergeForm(ticket=ticket, user=user)
        if may_work and ticket.status != Ticket.Status.CLOSED
        else None,
        "conversation": conversation(ticket=ticket, staff=True),
        "related_opportunity": related_opportunity(ticket=ticket, user=user),
        "request_files": request_files(ticket=ticket),
        "reply_form": ReplyForm(ticket=ticket, initial=reply_initial) if may_work else None,
        "may_work": may_work,
        "may_take": may_work
        and ticket.owner_id != user.pk
        and (ticket.owner_id is None or can(user, ticket, "assign")),
        "may_assign": can(user, ticket, "assign"),
        "assign_form": AssignForm(user=user, initial={"owner": ticket.owner_id})
        if can(user, ticket, "assign")
        else None,
        "statuses": [
            (value, label) for value, label in Ticket.Status.choices if value in services.TRANSITIONS[ticket.status]
        ],
        "next_due": ticket.next_due(),
        "status_class": STATUS_CLASSES[ticket.status],
        "status_link": intake.status_url(ticket) if may_work and ticket.contact_id else "",
    }


def _create_initial(request) -> dict:
    params = QueryParams(request)
    initial = {name: pk for name in ("company", "contact") if (pk := params.id(name))}
    channel = params.choice("channel", set(Channel.values))
    if channel:
        initial["channel"] = channel
    return initial


TICKET_SCREENS = Screens(
    model=Ticket,
    path="tickets",
    list=TICKET_LIST,
    form=TicketForm,
    create=services.ticket_create,
    update=services.ticket_update,
    delete=ticket_delete,
    detail_template="tickets/ticket_detail.html",
    detail_queryset=lambda user: ticket_for_detail(),
    detail_context=ticket_context,
    create_initial=_create_initial,
)


def _done(request, ticket: Ticket, text: str):
    messages.success(request, text)
    return redirect(safe_next(request, ticket.get_absolute_url()))


def _refused(request, ticket: Ticket, error):
    messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    return redirect(ticket.get_absolute_url())


@login_required
@require_POST
def ticket_reply(request, pk):
    ticket = get_object_for_user(request.user, ticket_for_detail(), pk, "change")
    form = ReplyForm(request.POST, request.FILES, ticket=ticket)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.ticket_reply(
                ticket=ticket,
                actor=request.user,
                body=data["body"],
                public=data["public"],
                status=data["status"],
                files=form.file_contents(),
            )
        except (ValidationError, PermissionDenied) as error:
            add_service_errors(form, error)
        else:
            return _done(request, ticket, _("Reply sent.") if data["public"] else _("Note added."))
    context = {**TICKET_SCREENS.base_context(request, ticket), **ticket_context(request, ticket), "reply_form": form}
    return render(request, "tickets/ticket_detail.html", context, status=400)


def _reply_body_limit() -> int:
    # Ten files at the attachment limit, and the message.
    from django.conf import settings

    return 10 * int(settings.TICKET_ATTACHMENT_MAX_BYTES) + 1024 * 1024


ticket_reply = body_limit(_reply_body_limit)(ticket_reply)


@login_required
@require_POST
def ticket_merge(request, pk):
    ticket = get_object_for_user(request.user, Ticket, pk, "change")
    form = MergeForm(request.POST, ticket=ticket, user=request.user)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect(ticket)
    try:
        survivor = services.ticket_merge(survivor=form.cleaned_data["into"], merged=ticket, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, ticket, error)
    messages.success(request, _("%(number)s was merged into this ticket.") % {"number": ticket.number})
    return redirect(survivor)


@login_required
@require_POST
def message_split(request, pk):
    message = customer_message_for(user=request.user, pk=pk)
    ticket = get_object_for_user(request.user, Ticket, message.ticket_id, "change")
    try:
        new = services.ticket_split(message=message, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, ticket, error)
    messages.success(request, _("The message is now ticket %(number)s.") % {"number": new.number})
    return redirect(new)


@login_required
@require_POST
def ticket_status(request, pk):
    ticket = get_object_for_user(request.user, Ticket, pk, "change")
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect(ticket)
    try:
        ticket = services.ticket_set_status(ticket=ticket, actor=request.user, status=form.cleaned_data["status"])
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, ticket, error)
    return _done(request, ticket, _("Status: %(status)s.") % {"status": ticket.get_status_display()})


@login_required
@require_POST
def ticket_take(request, pk):
    ticket = get_object_for_user(request.user, Ticket, pk, "change")
    try:
        services.ticket_take(ticket=ticket, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, ticket, error)
    return _done(request, ticket, _("The ticket is yours."))


@login_required
@require_POST
def ticket_assign(request, pk):
    ticket = get_object_for_user(request.user, Ticket, pk, "assign")
    form = AssignForm(request.POST, user=request.user)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
        return redirect(ticket)
    try:
        services.ticket_assign(ticket=ticket, actor=request.user, owner=form.cleaned_data["owner"])
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, ticket, error)
    if not can(request.user, ticket, "view"):
        messages.success(request, _("Ticket reassigned."))
        return redirect("tickets:ticket_list")
    return _done(request, ticket, _("Ticket reassigned."))


def _refused_page(request, pk, error, *, status: int):
    """The ticket page again, with status 400 or 403 and the reason at its top."""
    ticket = get_object_for_user(request.user, ticket_for_detail(), pk)
    reason = error if isinstance(error, str) else " ".join(getattr(error, "messages", [str(error)]))
    messages.error(request, reason or _("You may not make this change."))
    context = {**TICKET_SCREENS.base_context(request, ticket), **ticket_context(request, ticket)}
    return render(request, "tickets/ticket_detail.html", context, status=status)


def _watch_action(request, pk, change, done: str):
    ticket = get_object_for_user(request.user, Ticket, pk)
    try:
        change(ticket)
    except PermissionDenied as error:
        return _refused_page(request, pk, error, status=403)
    except ValidationError as error:
        return _refused_page(request, pk, error, status=400)
    return _done(request, ticket, done)


@login_required
@require_POST
def ticket_watch(request, pk):
    """The user follows the ticket (anyone who sees it and whose role may view tickets)."""
    return _watch_action(
        request,
        pk,
        lambda ticket: services.ticket_watch(ticket=ticket, actor=request.user),
        _("You are watching this ticket."),
    )


@login_required
@require_POST
def ticket_unwatch(request, pk):
    return _watch_action(
        request,
        pk,
        lambda ticket: services.ticket_unwatch(ticket=ticket, actor=request.user),
        _("You no longer watch this ticket."),
    )


@login_required
@require_POST
def watcher_add(request, pk):
    ticket = get_object_for_user(request.user, Ticket, pk, "change")
    form = WatcherForm(request.POST, user=request.user)
    if not form.is_valid():
        return _refused_page(request, pk, form_errors_text(form), status=400)
    person = form.cleaned_data["person"]
    return _watch_action(
        request,
        ticket.pk,
        lambda ticket: services.ticket_watcher_add(ticket=ticket, actor=request.user, person=person),
        _("%(person)s is watching this ticket.") % {"person": person},
    )


@login_required
@require_POST
def watcher_remove(request, pk):
    ticket = get_object_for_user(request.user, Ticket, pk)
    form = UnwatchForm(request.POST, ticket=ticket)
    if not form.is_valid():
        return _refused_page(request, pk, form_errors_text(form), status=400)
    person = form.cleaned_data["person"]
    return _watch_action(
        request,
        ticket.pk,
        lambda ticket: services.ticket_watcher_remove(ticket=ticket, actor=request.user, person=person),
        _("%(person)s no longer watches this ticket.") % {"person": person},
    )


@login_required
@require_POST
def shift(request):
    """An agent comes on shift (receives new tickets by rotation) or goes off shift."""
    if not has_role_permission(request.user, Ticket, "change"):
        raise PermissionDenied
    on_shift = request.POST.get("on_shift") == "1"
    services.set_on_shift(actor=request.user, on_shift=on_shift)
    messages.success(
        request, _("You are on shift.") if on_shift else _("You are off shift: no new tickets by rotation.")
    )
    return redirect(safe_next(request, reverse_lazy("tickets:ticket_list")))
