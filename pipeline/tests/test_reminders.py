"""Reminder emails through a real SMTP server: due and overdue tasks and stale deals, each once."""

# ruff: noqa: F811  (pytest fixtures imported from the helpers)

import smtplib
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from pipeline.models import Opportunity, ReminderDelivery
from pipeline.reminders import send_reminders
from pipeline.tests.opportunity_helpers import make_opportunity
from pipeline.tests.task_helpers import Inbox, make_task, smtp_inbox  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(cast):
    for user in (cast.owner, cast.teammate):
        user.email = f"{user.username}@example.com"
        user.save()
    return cast


def test_due_and_overdue_tasks_are_emailed_once_to_their_owner(smtp_inbox, people):
    make_task(owner=people.owner, team=people.team, title="Call 王经理 back", due_in=timedelta(minutes=30))
    make_task(owner=people.owner, team=people.team, title="Send the quote", due_in=-timedelta(hours=5))
    make_task(owner=people.owner, team=people.team, title="Next week", due_in=timedelta(days=7))
    make_task(owner=people.owner, team=people.team, title="Done already", due_in=-timedelta(hours=1), status="done")
    make_task(owner=people.teammate, team=people.team, title="Teammate's", due_in=timedelta(minutes=10))

    assert send_reminders() == 2
    by_recipient = {m.recipients[0]: m for m in smtp_inbox.messages}
    body = Inbox.body(by_recipient[people.owner.email])
    assert "Call 王经理 back" in body and "Send the quote" in body
    assert "Next week" not in body and "Done already" not in body and "Teammate" not in body
    assert "2 items" in Inbox.subject(by_recipient[people.owner.email])

    assert send_reminders() == 0  # nothing new: nothing sent again
    assert len(smtp_inbox.messages) == 2


def test_a_moved_due_date_or_a_task_turning_overdue_reminds_again(smtp_inbox, people):
    task = make_task(owner=people.owner, team=people.team, due_in=timedelta(minutes=30))
    send_reminders()
    send_reminders(now=timezone.now() + timedelta(minutes=45))  # now overdue: one more, as overdue
    assert len(smtp_inbox.messages) == 2
    assert "Overdue" in Inbox.body(smtp_inbox.messages[1])
    task.due_at = timezone.now() + timedelta(minutes=20)
    task.save()
    send_reminders()
    assert len(smtp_inbox.messages) == 3


def test_stale_deals_are_reminded_once(smtp_inbox, people, settings):
    settings.STALE_DEAL_DAYS = 10
    deal = make_opportunity(owner=people.owner, team=people.team, name="Quiet deal")
    Opportunity.objects.filter(pk=deal.pk).update(last_activity_at=timezone.now() - timedelta(days=10, hours=12))
    make_opportunity(owner=people.owner, team=people.team, name="Busy deal")
    send_reminders()
    send_reminders()
    [message] = smtp_inbox.messages
    assert "Quiet deal" in Inbox.body(message) and "Busy deal" not in Inbox.body(message)
    assert "no activity for 10 days" in Inbox.body(message)


def test_a_deal_stuck_in_a_stage_says_how_long_it_has_been_there(smtp_inbox, people):
    deal = make_opportunity(owner=people.owner, team=people.team, name="Stuck deal")
    deal.stage.stale_after_days = 14
    deal.stage.save(update_fields=["stale_after_days"])
    Opportunity.objects.filter(pk=deal.pk).update(stage_changed_at=timezone.now() - timedelta(days=14, hours=3))
    send_reminders()
    [message] = smtp_inbox.messages
    assert f"in {deal.stage.name} for 14 days" in Inbox.body(message)


def test_a_deal_s_next_step_is_reminded_once_on_its_day(smtp_inbox, people):
    today = timezone.localdate()
    due = make_opportunity(owner=people.owner, team=people.team, name="Renewal 华信")
    Opportunity.objects.filter(pk=due.pk).update(next_step="Send the contract", next_step_date=today)
    later = make_opportunity(owner=people.owner, team=people.team, name="Later deal")
    Opportunity.objects.filter(pk=later.pk).update(next_step="Call", next_step_date=today + timedelta(days=3))
    send_reminders()
    send_reminders()
    [message] = smtp_inbox.messages
    body = Inbox.body(message)
    assert "Send the contract" in body and "Renewal 华信" in body and "Later deal" not in body
    Opportunity.objects.filter(pk=due.pk).update(next_step_date=today + timedelta(days=1))
    send_reminders(now=timezone.now() + timedelta(days=1))
    assert len(smtp_inbox.messages) == 2  # a new date is a new reminder


def test_a_failed_send_is_not_marked_sent_and_goes_out_on_the_next_run(smtp_inbox, people, settings):
    make_task(owner=people.owner, team=people.team, due_in=timedelta(minutes=30))
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = 9  # nothing listens there
    with pytest.raises((smtplib.SMTPException, OSError)):
        send_reminders()
    assert not ReminderDelivery.objects.exists()
    settings.EMAIL_PORT = port
    assert send_reminders() == 1
    assert ReminderDelivery.objects.count() == 1 and len(smtp_inbox.messages) == 1


def test_users_without_an_email_address_are_skipped(smtp_inbox, cast):
    make_task(owner=cast.owner, team=cast.team, due_in=timedelta(minutes=30))
    assert send_reminders() == 0 and not ReminderDelivery.objects.exists()


def test_the_schedule_exists_and_is_editable_in_the_admin(admin_client):
    schedule = PeriodicTask.objects.get(task="pipeline.tasks.send_reminders")
    assert schedule.enabled and schedule.interval.every == 15 and schedule.interval.period == "minutes"
    assert admin_client.get(f"/admin/django_celery_beat/periodictask/{schedule.pk}/change/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_reminders_through_a_real_worker(smtp_inbox, live_celery_worker):
    from crm.testing import build_cast
    from pipeline.tasks import send_reminders as task

    cast = build_cast()
    cast.owner.email = "owner@example.com"
    cast.owner.save()
    make_task(owner=cast.owner, team=cast.team, title="Through the worker", due_in=timedelta(minutes=5))
    task.delay()
    task.delay()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and ReminderDelivery.objects.count() < 1:
        time.sleep(0.2)
    time.sleep(2)  # let the second run finish: it must send nothing
    [message] = smtp_inbox.messages
    assert "Through the worker" in Inbox.body(message)
