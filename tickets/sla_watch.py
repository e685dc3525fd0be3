"""The SLA watch: a warning before a due time, an escalation once it passes, each sent once.

Run by beat every few minutes. A ticket's stamp (`warned_at`, `escalated_at`) is set in the
same transaction that queues its mail through the outbox, so a crash between the two neither
loses the notice nor sends it twice; a due time that moves later clears the stamps
(`services.recompute_sla`), and the notice may come again for the new one.

When the escalation records a missed resolution target, the ticket's SLA policy may move it to
the team's unassigned queue or to the team's manager (`services.reassign_on_breach`), in the
same transaction: once per missed target, audited, with an internal note on the ticket.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from crm.outbox import queue_task
from tickets.models import SLA_DERIVED, Ticket, warning_lead_time

BATCH = 500
RUNNING = (Ticket.Status.NEW, Ticket.Status.OPEN)


def _due_before(moment: datetime) -> Q:
    return Q(resolution_due__lte=moment) | Q(first_responded_at__isnull=True, first_response_due__lte=moment)


def watch(*, now: datetime | None = None) -> dict:
    from celery import current_app

    from tickets.services import reassign_on_breach

    now = now or timezone.now()
    task = current_app.tasks["tickets.tasks.mail_sla_notice"]
    counts = {"warned": 0, "escalated": 0}
    running = Ticket.objects.filter(status__in=RUNNING)
    for ticket_id in running.filter(_due_before(now), escalated_at__isnull=True).values_list("pk", flat=True)[:BATCH]:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("sla_policy")
                .filter(pk=ticket_id, escalated_at__isnull=True)
                .first()
            )
            if ticket is None or ticket.status not in RUNNING:
                continue
            due = ticket.next_due()
            if due is None or due > now:
                continue
            if ticket.first_responded_at is None and ticket.first_response_due and ticket.first_response_due <= now:
                ticket.first_response_breached = True
            resolution_missed = bool(ticket.resolution_due and ticket.resolution_due <= now)
            if resolution_missed:
                ticket.resolution_breached = True
            ticket.escalated_at = now
            ticket.warned_at = ticket.warned_at or now
            ticket.save(update_fields=["escalated_at", "warned_at", "first_response_breached", "resolution_breached"])
            # The escalation comes once per due time (`escalated_at`), so the policy's reassignment
            # is applied once per missed resolution target; the former assignee is still told.
            former_owner_id = ticket.owner_id
            if resolution_missed and reassign_on_breach(ticket):
                queue_task(task, ticket_id=ticket.pk, escalate=True, former_owner_id=former_owner_id)
            else:
                queue_task(task, ticket_id=ticket.pk, escalate=True)
            counts["escalated"] += 1
    soon = now + warning_lead_time()
    for ticket_id in running.filter(_due_before(soon), warned_at__isnull=True).values_list("pk", flat=True)[:BATCH]:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().filter(pk=ticket_id, warned_at__isnull=True).first()
            if ticket is None or ticket.status not in RUNNING:
                continue
            due = ticket.next_due()
            if due is None or due > soon:
                continue
            ticket.warned_at = now
            ticket.save(update_fields=["warned_at"])
            queue_task(task, ticket_id=ticket.pk, escalate=False)
            counts["warned"] += 1
    return counts


def recompute_open(*, batch: int = 500, now: datetime | None = None, limit: int | None = None) -> int:
    """Recompute the due times of every active ticket (after business hours, a policy or its
    targets changed), a batch of rows per transaction, in id order; safe to run again. `limit`
    stops after that many tickets (the benchmark's measure).

    A ticket whose policy or breach flags change is saved as any edit is, so the audit trail
    records it; one whose due times or stamps alone move (fields the trail leaves out) is written
    with the rest of its batch in one statement; one with nothing new is not written at all."""
    from tickets.services import SLA_FIELDS, recompute_sla

    audited = [name for name in SLA_FIELDS if name not in SLA_DERIVED]
    attnames = {name: Ticket._meta.get_field(name).attname for name in SLA_FIELDS}
    now = now or timezone.now()
    done, last = 0, 0
    policies = _policy_cache()
    while limit is None or done < limit:
        size = batch if limit is None else min(batch, limit - done)
        with transaction.atomic():
            tickets = list(
                Ticket.objects.select_for_update(of=("self",))
                .select_related("company")
                .filter(status__in=Ticket.ACTIVE_STATUSES, pk__gt=last)
                .order_by("pk")[:size]
            )
            quiet = []
            for ticket in tickets:
                before = {name: getattr(ticket, attname) for name, attname in attnames.items()}
                recompute_sla(ticket, now=now, policies=policies)
                changed = [name for name, attname in attnames.items() if getattr(ticket, attname) != before[name]]
                if any(name in audited for name in changed):
                    ticket.save(update_fields=SLA_FIELDS)
                elif changed:
                    quiet.append(ticket)
            if quiet:
                Ticket.objects.bulk_update(quiet, [name for name in SLA_FIELDS if name in SLA_DERIVED])
        if not tickets:
            return done
        done += len(tickets)
        last = tickets[-1].pk
    return done


def _policy_cache() -> dict:
    """What `recompute_sla` reads for every ticket, read once for a whole run."""
    from tickets.models import SlaPolicy, SlaTarget

    policies = list(SlaPolicy.objects.filter(active=True).select_related("hours"))
    calendars = {policy.hours_id: policy.hours.calendar() for policy in policies}
    targets = {(t.policy_id, t.priority_id): t for t in SlaTarget.objects.all()}
    return {"policies": policies, "calendars": calendars, "targets": targets}
