"""State changes of tasks, calls and meetings (the Celery module is `pipeline.tasks`).

The owner of a task is its assignee. A task may relate to one company, contact, lead or
opportunity, which the acting user must be able to see.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import acting_as
from crm.models import Team, User
from crm.permissions import can, managed_team_ids, restrict
from crm.writes import ensure_change_on, record_create, record_update
from customers.models import Company, Contact, Interaction
from customers.services import record_interaction
from pipeline.models import Lead, Opportunity, Task

RELATED_FIELDS = ("company", "contact", "lead", "opportunity")
RELATED_MODELS = {"company": Company, "contact": Contact, "lead": Lead, "opportunity": Opportunity}
EDITABLE_FIELDS = ("kind", "title", "description", "due_at", "duration_minutes", *RELATED_FIELDS)
TIMELINE_KIND = {
    Task.Kind.CALL: Interaction.Kind.CALL,
    Task.Kind.MEETING: Interaction.Kind.MEETING,
    Task.Kind.TASK: Interaction.Kind.NOTE,
}


def _check_related(data: dict, actor: User, task: Task | None = None) -> None:
    """Each related record the actor sets must be one they may change (a form cannot smuggle in
    an id); one a task already points at may stay."""
    for name, model in RELATED_MODELS.items():
        record = data.get(name)
        if record is None or (task is not None and record.pk == getattr(task, f"{name}_id")):
            continue
        if not restrict(model.objects.filter(pk=record.pk), actor).exists():
            raise ValidationError({name: _("Choose a record you can see.")})
        # Completing the task writes to that record's history: that needs change on it.
        if not can(actor, record, "change"):
            raise ValidationError({name: _("You may view this record but not add tasks to it.")})


def _team_for(owner: User, actor: User) -> Team | None:
    """The assignee's team, preferring one the actor manages, so the right manager sees the task."""
    team_ids = list(owner.memberships.order_by("team_id").values_list("team_id", flat=True))
    managed = set(managed_team_ids(actor))
    chosen = next((t for t in team_ids if t in managed), team_ids[0] if team_ids else None)
    return Team.objects.get(pk=chosen) if chosen else None


@transaction.atomic
def task_create(
    *,
    actor: User,
    title: str,
    due_at: datetime,
    owner: User | None = None,
    kind: str = Task.Kind.TASK,
    description: str = "",
    duration_minutes: int = 30,
    company: Company | None = None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    opportunity: Opportunity | None = None,
) -> Task:
    owner = owner or actor
    related = {"company": company, "contact": contact, "lead": lead, "opportunity": opportunity}
    _check_related(related, actor)
    data = {
        "owner": owner,
        "team": _team_for(owner, actor),
        "kind": kind,
        "title": title,
        "description": description,
        "due_at": due_at,
        "duration_minutes": duration_minutes,
        **related,
    }
    return record_create(model=Task, actor=actor, data=data, fields=EDITABLE_FIELDS)


@transaction.atomic
def task_update(*, task: Task, actor: User, **data) -> Task:
    """Edit a task; handing it to someone else is an assignment (crm.writes) and the task's team
    follows its new owner."""
    stored = Task.objects.get(pk=task.pk)
    _check_related({k: v for k, v in data.items() if k in RELATED_FIELDS}, actor, stored)
    owner = data.pop("owner", None)
    if owner is not None and owner.pk != stored.owner_id:
        data.update(owner=owner, team=_team_for(owner, actor))
    return record_update(record=task, actor=actor, data=data, fields=EDITABLE_FIELDS)


def timeline_subject(task: Task) -> Opportunity | Lead | Task:
    """What a completed task's timeline entry is about: the deal or lead it served, else the task."""
    if task.opportunity_id:
        return task.opportunity
    if task.lead_id:
        return task.lead
    return task


@transaction.atomic
def task_complete(*, task: Task, actor: User, note: str = "") -> Task:
    """Mark done; a call, meeting or task on a customer goes into that customer's timeline."""
    locked = Task.objects.select_for_update(of=("self",)).select_related("company", "contact", "opportunity", "lead")
    task = locked.get(pk=task.pk)
    if not can(actor, task, "change"):
        raise PermissionDenied(_("You may not change this task."))
    if task.status != Task.Status.OPEN:
        raise ValidationError(_("Only an open task can be completed."))
    company = task.company or (task.opportunity.company if task.opportunity_id else None)
    # Completing writes to the customer's history: that needs change on what it touches.
    ensure_change_on(actor, task.company, task.contact, task.opportunity)
    task.status = Task.Status.DONE
    task.completed_at = timezone.now()
    with acting_as(actor):
        task.save(update_fields=["status", "completed_at", "updated_at"])
    if company is not None or task.contact is not None:
        record_interaction(
            kind=TIMELINE_KIND[task.kind],
            summary=task.title,
            body=note or task.description,
            actor=actor,
            company=company,
            contact=task.contact,
            occurred_at=task.completed_at,
            source_ref=f"pipeline.task:{task.pk}",
            link=task.get_absolute_url(),
            subject=timeline_subject(task),
        )
    if task.opportunity_id:
        Opportunity.objects.filter(pk=task.opportunity_id).update(last_activity_at=task.completed_at)
    return task


@transaction.atomic
def task_cancel(*, task: Task, actor: User) -> Task:
    task = Task.objects.select_for_update().get(pk=task.pk)
    if not can(actor, task, "change"):
        raise PermissionDenied(_("You may not change this task."))
    if task.status != Task.Status.OPEN:
        raise ValidationError(_("Only an open task can be cancelled."))
    task.status = Task.Status.CANCELLED
    task.save(update_fields=["status", "updated_at"])
    return task


@transaction.atomic
def task_reopen(*, task: Task, actor: User) -> Task:
    task = Task.objects.select_for_update().get(pk=task.pk)
    if not can(actor, task, "change"):
        raise PermissionDenied(_("You may not change this task."))
    task.status = Task.Status.OPEN
    task.completed_at = None
    task.save(update_fields=["status", "completed_at", "updated_at"])
    return task
