"""Reminder emails: tasks due within the hour, overdue tasks, deals whose next step falls due,
and stale deals, each sent once.

Once-only delivery: for each owner, the reminder keys are inserted into `ReminderDelivery`
(unique) and the email is sent inside the same transaction. A key another run already holds
is skipped (a concurrent run waits on the row lock, then sees the conflict). If sending fails,
the transaction rolls back, the keys disappear, and the next run (or the Celery retry) tries
again; nothing is marked sent that was not handed to the mail server. The one window for a
duplicate is a commit failing after the server accepted the message.

Only items that fell due or went stale within REMINDER_LOOKBACK_DAYS (default 1) are
considered, so the first run after an outage does not mail out years of history, and each run
is a bounded index range scan; keys already sent are skipped with one lookup per owner.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import ngettext

from crm.models import User
from crm.network import absolute_url
from pipeline.models import Opportunity, ReminderDelivery, Stage, Task
from pipeline.opportunity_selectors import stale_days

logger = logging.getLogger(__name__)

DUE_SOON = timedelta(hours=1)


def lookback() -> timedelta:
    return timedelta(days=int(getattr(settings, "REMINDER_LOOKBACK_DAYS", 1)))


@dataclass
class Digest:
    user: User
    due_soon: list[Task] = field(default_factory=list)
    overdue: list[Task] = field(default_factory=list)
    stale: list[Opportunity] = field(default_factory=list)
    next_steps: list[Opportunity] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


def _task_key(task: Task, kind: str) -> str:
    return f"task-{kind}:{task.pk}:{int(task.due_at.timestamp())}"


def _stale_key(opportunity: Opportunity) -> str:
    # A new stage or new activity starts a new episode, which may be reminded again.
    return (
        f"stale-deal:{opportunity.pk}:{opportunity.stage_id}:"
        f"{int(opportunity.stage_changed_at.timestamp())}:{int(opportunity.last_activity_at.timestamp())}"
    )


def _next_step_key(opportunity: Opportunity) -> str:
    # A new next-step date is a new reminder.
    return f"next-step:{opportunity.pk}:{opportunity.next_step_date.isoformat()}"


def next_steps_due(now: datetime):
    """Open deals whose next step falls due today (or did within the look-back window)."""
    today = timezone.localdate(now)
    since = today - lookback()
    open_stages = list(Stage.objects.filter(kind=Stage.Kind.OPEN).values_list("pk", flat=True))
    return (
        Opportunity.objects.filter(next_step_date__gt=since, next_step_date__lte=today, stage_id__in=open_stages)
        .select_related("owner", "stage", "company")
        .order_by("next_step_date", "id")
    )


def due_tasks(now: datetime):
    return (
        Task.objects.filter(status=Task.Status.OPEN, due_at__gte=now - lookback(), due_at__lt=now + DUE_SOON)
        .select_related("owner", "company", "opportunity")
        .order_by("due_at", "id")
    )


def stale_deals(now: datetime):
    """Open deals that went stale within the look-back window (each branch on its own index)."""
    window = lookback()
    days = timedelta(days=stale_days())
    open_stages = list(Stage.objects.filter(kind=Stage.Kind.OPEN))
    if not open_stages:
        return Opportunity.objects.none()
    condition = Q(last_activity_at__lt=now - days, last_activity_at__gte=now - days - window)
    for stage in open_stages:
        if stage.stale_after_days:
            limit = timedelta(days=stage.stale_after_days)
            condition |= Q(
                stage_id=stage.pk, stage_changed_at__lt=now - limit, stage_changed_at__gte=now - limit - window
            )
    return (
        Opportunity.objects.filter(condition, stage_id__in=[s.pk for s in open_stages])
        .select_related("owner", "stage", "company")
        .order_by("id")
    )


def stale_reason(deal: Opportunity, now: datetime) -> tuple[str, int]:
    """Why a deal is stale and for how many whole days: ("stage", days in its stage) when its stage
    has its own limit and the deal passed it, else ("activity", days since its last activity)."""
    limit = deal.stage.stale_after_days
    if limit and deal.stage_changed_at and now - deal.stage_changed_at >= timedelta(days=limit):
        return "stage", (now - deal.stage_changed_at).days
    since = deal.last_activity_at or deal.created_at
    return "activity", (now - since).days


def collect(now: datetime) -> dict[int, Digest]:
    digests: dict[int, Digest] = {}

    def digest_for(user: User) -> Digest:
        return digests.setdefault(user.pk, Digest(user=user))

    for task in due_tasks(now):
        kind = "overdue" if task.due_at < now else "due"
        digest = digest_for(task.owner)
        (digest.overdue if kind == "overdue" else digest.due_soon).append(task)
        digest.keys.append(_task_key(task, kind))
    for deal in stale_deals(now):
        deal.stale_kind, deal.stale_age = stale_reason(deal, now)
        digest = digest_for(deal.owner)
        digest.stale.append(deal)
        digest.keys.append(_stale_key(deal))
    for deal in next_steps_due(now):
        digest = digest_for(deal.owner)
        digest.next_steps.append(deal)
        digest.keys.append(_next_step_key(deal))
    return digests


def _claim(key: str, user: User) -> bool:
    """Insert the delivery row; False when another run already holds it."""
    try:
        with transaction.atomic():
            ReminderDelivery.objects.create(key=key, user=user)
    except IntegrityError:
        return False
    return True


def _keep_claimed(digest: Digest) -> Digest:
    # One indexed lookup skips what earlier runs sent, so a run inserts only new keys.
    sent = set(ReminderDelivery.objects.filter(key__in=digest.keys).values_list("key", flat=True))
    claimed = {key for key in digest.keys if key not in sent and _claim(key, digest.user)}
    fresh = Digest(user=digest.user, keys=sorted(claimed))
    fresh.due_soon = [t for t in digest.due_soon if _task_key(t, "due") in claimed]
    fresh.overdue = [t for t in digest.overdue if _task_key(t, "overdue") in claimed]
    fresh.stale = [d for d in digest.stale if _stale_key(d) in claimed]
    fresh.next_steps = [d for d in digest.next_steps if _next_step_key(d) in claimed]
    return fresh


def _send(digest: Digest) -> None:
    user = digest.user
    language = getattr(user, "language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "user": user,
            "due_soon": digest.due_soon,
            "overdue": digest.overdue,
            "stale": digest.stale,
            "next_steps": digest.next_steps,
            "base_url": absolute_url("/").rstrip("/"),
            "stale_days": stale_days(),
        }
        count = len(digest.due_soon) + len(digest.overdue) + len(digest.stale) + len(digest.next_steps)
        subject = ngettext(
            "CRM reminder: %(count)d item needs you", "CRM reminder: %(count)d items need you", count
        ) % {"count": count}
        text = render_to_string("pipeline/reminder_email.txt", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
    message.send(fail_silently=False)


def send_reminders(*, now: datetime | None = None) -> int:
    """Send every owner one email with their new reminders; returns how many emails went out."""
    now = now or timezone.now()
    sent = 0
    failure: Exception | None = None
    for digest in collect(now).values():
        if not digest.user.email or not digest.user.is_active:
            continue
        try:
            with transaction.atomic():
                fresh = _keep_claimed(digest)
                if not fresh.keys:
                    continue
                _send(fresh)  # raising here rolls the claims back, so a later run retries them
        except (smtplib.SMTPException, OSError) as error:
            logger.warning("reminder email failed", extra={"user_id": digest.user.pk, "error": str(error)})
            failure = failure or error
            continue
        sent += 1
    logger.info("reminders sent", extra={"emails": sent})
    if failure is not None:
        raise failure  # the other owners got theirs; the Celery retry sends only what is missing
    return sent
