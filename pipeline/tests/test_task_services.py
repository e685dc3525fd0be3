"""Tasks through their services: assignment, relations the actor may see, completion into the timeline."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from customers.models import Interaction
from pipeline.models import Task
from pipeline.tasks_services import task_cancel, task_complete, task_create, task_reopen, task_update
from pipeline.tests.task_helpers import make_company

pytestmark = pytest.mark.django_db


def due():
    return timezone.now() + timedelta(days=1)


def test_a_rep_creates_a_task_for_themselves_in_their_team(cast):
    task = task_create(actor=cast.owner, title="Send the offer", due_at=due())
    assert task.owner == cast.owner and task.team == cast.team and task.status == Task.Status.OPEN


def test_a_rep_cannot_assign_a_task_to_someone_else(cast):
    with pytest.raises(ValidationError):
        task_create(actor=cast.owner, owner=cast.teammate, title="Yours", due_at=due())
    assert not Task.objects.exists()


def test_a_manager_assigns_to_a_team_member_and_keeps_seeing_the_task(cast):
    task = task_create(actor=cast.manager, owner=cast.owner, title="Visit", due_at=due())
    assert task.owner == cast.owner and task.team == cast.team
    moved = task_update(task=task, actor=cast.manager, owner=cast.teammate)
    assert moved.owner == cast.teammate


def test_the_related_record_must_be_visible_to_the_actor(cast):
    foreign = make_company(owner=cast.outsider, team=cast.other_team)
    with pytest.raises(ValidationError):
        task_create(actor=cast.owner, title="Peek", due_at=due(), company=foreign)
    assert not Task.objects.exists()


def test_completing_a_call_on_a_company_writes_the_timeline(cast):
    company = make_company(owner=cast.owner, team=cast.team)
    task = task_create(actor=cast.owner, title="Call the buyer", kind="call", due_at=due(), company=company)
    task_complete(task=task, actor=cast.owner, note="They will order in May")
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.completed_at is not None
    entry = Interaction.objects.get(company=company)
    assert entry.kind == "call" and entry.summary == "Call the buyer" and entry.body == "They will order in May"
    with pytest.raises(ValidationError):
        task_complete(task=task, actor=cast.owner)
    assert Interaction.objects.filter(company=company).count() == 1


def test_a_plain_task_becomes_a_note_and_a_meeting_a_meeting(cast):
    company = make_company(owner=cast.owner, team=cast.team)
    for kind, expected in (("task", "note"), ("meeting", "meeting")):
        task = task_create(actor=cast.owner, title=kind, kind=kind, due_at=due(), company=company)
        task_complete(task=task, actor=cast.owner)
        assert Interaction.objects.get(company=company, summary=kind).kind == expected


def test_outsiders_and_auditors_cannot_change_a_task(cast):
    task = task_create(actor=cast.owner, title="Mine", due_at=due())
    for who in (cast.outsider, cast.teammate, cast.auditor):
        for service in (task_complete, task_cancel):
            with pytest.raises(PermissionDenied):
                service(task=task, actor=who)
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN


def test_cancel_and_reopen(cast):
    task = task_create(actor=cast.owner, title="Maybe", due_at=due())
    task_cancel(task=task, actor=cast.owner)
    assert Task.objects.get(pk=task.pk).status == Task.Status.CANCELLED
    task_reopen(task=task, actor=cast.manager)
    assert Task.objects.get(pk=task.pk).status == Task.Status.OPEN


def test_task_changes_are_audited(cast):
    from auditlog.models import LogEntry

    task = task_create(actor=cast.owner, title="Audited", due_at=due())
    task_complete(task=task, actor=cast.owner)
    assert LogEntry.objects.get_for_object(task).count() >= 2
