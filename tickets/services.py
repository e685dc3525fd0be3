"""Changes to tickets: open, edit, reply, note, change status, assign, and the SLA clock.

Every function takes the acting user (None for the customer's own messages and for mail that
arrives), checks what it may do through crm's write kit, saves in one transaction, and queues
mail with `crm.outbox.queue_task` so that nothing is sent for a change that rolls back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import acting_as, log_bulk_change
from crm.models import Team, TeamMembership, User
from crm.outbox import queue_task
from crm.permissions import (
    can,
    has_role_permission,
    is_administrator,
    may_assign_owner,
    member_team_ids,
    restrict,
    sees_everything,
)
from crm.pickers import record_source_model
from crm.writes import BulkResult, check_assignment, ensure_may, ensure_still_visible, record_update
from customers.models import Company, Contact, Interaction
from customers.services import record_interaction
from tickets.attachments import store_attachment
from tickets.models import (
    RELATED_SOURCE,
    AssignmentRule,
    AssignmentTurn,
    Message,
    NumberSequence,
    Priority,
    SlaPolicy,
    SlaTarget,
    Ticket,
    warning_lead_time,
)
from tickets.sla import due_at

Status = Ticket.Status
logger = logging.getLogger(__name__)

TICKET_FIELDS = (
    "subject",
    "description",
    "company",
    "contact",
    "channel",
    "category",
    "priority",
    "language",
    "related_ref",
)

# Which status a ticket may move to from each; resolved and closed tickets reopen to open.
TRANSITIONS = {
    Status.NEW: {Status.OPEN, Status.PENDING, Status.RESOLVED, Status.CLOSED},
    Status.OPEN: {Status.PENDING, Status.RESOLVED, Status.CLOSED},
    Status.PENDING: {Status.OPEN, Status.RESOLVED, Status.CLOSED},
    Status.RESOLVED: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: {Status.OPEN},
}

MAIL_REPLY_TASK = "tickets.tasks.mail_reply"
FEEDBACK_TASK = "tickets.tasks.mail_feedback_request"
CUSTOMER_MESSAGE_TASK = "tickets.tasks.mail_customer_message_notice"


def reopen_window() -> timedelta:
    """How long after resolution a customer's reply reopens the ticket (TICKET_REOPEN_DAYS)."""
    return timedelta(days=int(getattr(settings, "TICKET_REOPEN_DAYS", 7)))


# --- Numbers ---------------------------------------------------------------------------------


def next_number(*, year: int) -> str:
    """`T-YYYY-NNNNNN`, gap-free per year: the year's row is locked until the ticket's
    transaction ends, so parallel tickets queue for their numbers and a rollback returns one."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_number() must run inside the transaction that saves the ticket.")
    NumberSequence.objects.bulk_create([NumberSequence(year=year)], ignore_conflicts=True)
    sequence = NumberSequence.objects.select_for_update().get(year=year)
    sequence.last += 1
    if sequence.last > 999999:
        raise ValidationError(_("This year's ticket numbers are used up."))
    sequence.save(update_fields=["last"])
    return f"T-{year}-{sequence.last:06d}"


# --- Assignment ------------------------------------------------------------------------------


def matching_rule(ticket: Ticket) -> AssignmentRule | None:
    grade = ticket.company.grade if ticket.company_id else ""
    for rule in AssignmentRule.objects.filter(active=True).select_related("team"):
        if rule.category_id and rule.category_id != ticket.category_id:
            continue
        if rule.channel and rule.channel != ticket.channel:
            continue
        if rule.customer_grade and rule.customer_grade != grade:
            continue
        if rule.language and rule.language != ticket.language:
            continue
        return rule
    return None


def team_agents(team: Team) -> list[User]:
    """Active members of `team` on shift whose role may work tickets, by id."""
    permission = Permission.objects.filter(content_type__app_label="tickets", codename="change_ticket")
    on_shift = TeamMembership.objects.filter(team=team, on_shift=True).values("user_id")
    return list(
        User.objects.filter(pk__in=on_shift, is_active=True)
        .filter(Q(groups__permissions__in=permission) | Q(user_permissions__in=permission) | Q(is_superuser=True))
        .distinct()
        .order_by("pk")
    )


def pick_agent(team: Team, method: str) -> User | None:
    """The next agent of `team` by `method`, inside the transaction that saves the ticket: the
    team's turn row stays locked until then, so parallel tickets never pick out of turn."""
    AssignmentTurn.objects.bulk_create([AssignmentTurn(team=team)], ignore_conflicts=True)
    turn = AssignmentTurn.objects.select_for_update().get(team=team)
    agents = team_agents(team)
    if not agents:
        return None
    if method == AssignmentRule.Method.LEAST_LOADED:
        loads = dict(
            Ticket.objects.filter(owner__in=agents, status__in=Ticket.ACTIVE_STATUSES)
            .values_list("owner_id")
            .annotate(n=Count("id"))
            .order_by()
        )
        chosen = min(agents, key=lambda agent: (loads.get(agent.pk, 0), agent.pk))
    else:
        later = [agent for agent in agents if turn.last_user_id is None or agent.pk > turn.last_user_id]
        chosen = later[0] if later else agents[0]
    turn.last_user = chosen
    turn.save(update_fields=["last_user"])
    return chosen


def default_team() -> Team | None:
    """The team that receives what no rule matches (TICKET_DEFAULT_TEAM, a team name)."""
    name = getattr(settings, "TICKET_DEFAULT_TEAM", "")
    return Team.objects.filter(name=name).first() if name else None


def assign_by_rules(ticket: Ticket, *, fallback_team: Team | None = None) -> None:
    rule = matching_rule(ticket)
    team = rule.team if rule else (fallback_team or ticket.team or default_team())
    method = rule.method if rule else AssignmentRule.Method.ROUND_ROBIN
    ticket.team = team
    ticket.owner = pick_agent(team, method) if team else None


# --- SLA -------------------------------------------------------------------------------------


def matching_target(ticket: Ticket, policies: dict | None = None) -> SlaTarget | None:
    """The target of the first active policy (by order) for the customer's grade that sets one for
    the ticket's priority. `policies` is `sla_watch._policy_cache()` when many tickets are done."""
    grade = ticket.company.grade if ticket.company_id else ""
    if policies is None:
        candidates = SlaPolicy.objects.filter(active=True).filter(Q(customer_grade="") | Q(customer_grade=grade))
        for policy in candidates.select_related("hours"):
            target = SlaTarget.objects.filter(policy=policy, priority_id=ticket.priority_id).first()
            if target is not None:
                target.policy = policy
                return target
        return None
    for policy in policies["policies"]:
        if policy.customer_grade in ("", grade):
            target = policies["targets"].get((policy.pk, ticket.priority_id))
            if target is not None:
                target.policy = policy
                target._calendar = policies["calendars"][policy.hours_id]
                return target
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def pause_clock(ticket: Ticket, now: datetime) -> None:
    if not any(end is None for _begin, end in ticket.sla_pauses):
        ticket.sla_pauses = [*ticket.sla_pauses, [_iso(now), None]]
        ticket.__dict__.pop("pauses", None)


def resume_clock(ticket: Ticket, now: datetime) -> None:
    ticket.sla_pauses = [[begin, end or _iso(now)] for begin, end in ticket.sla_pauses]
    ticket.__dict__.pop("pauses", None)


# The fields `recompute_sla` sets, for `save(update_fields=...)`.
SLA_FIELDS = [
    "sla_policy",
    "sla_pauses",
    "first_response_due",
    "resolution_due",
    "first_response_breached",
    "resolution_breached",
    "warned_at",
    "escalated_at",
]


def recompute_sla(ticket: Ticket, *, now: datetime | None = None, policies: dict | None = None) -> None:
    """Set the ticket's due times and breach flags from its policy, status and pauses (not saved).

    A breach flag says what the due times say now: a priority lowered in time clears it. The
    warning and escalation stamps are cleared only when the next due time moves past the one
    they were sent for (a pause, a lower priority), so each is sent once per due time. A
    calendar that cannot place a due time (no working hours at all) leaves the ticket without one.
    """
    now = now or timezone.now()
    target = matching_target(ticket, policies)
    if target is None:
        ticket.sla_policy = None
        ticket.first_response_due = ticket.resolution_due = None
        return
    ticket.sla_policy = target.policy
    start = ticket.created_at or now
    pauses = ticket.pauses
    response_target = timedelta(minutes=target.first_response_minutes)
    resolution_target = timedelta(minutes=target.resolution_minutes)
    # Given: the first response due time is where the clock stood then, for reporting.
    responded = ticket.first_responded_at or now
    end = ticket.resolved_at if ticket.resolved_at and not ticket.is_active else now
    try:
        calendar = getattr(target, "_calendar", None) or target.policy.hours.calendar()
        ticket.first_response_due = due_at(calendar, start, response_target, pauses, responded)
        ticket.resolution_due = due_at(calendar, start, resolution_target, pauses, end)
    except ValueError:
        logger.warning("SLA policy %s: its business hours place no due time", target.policy.pk)
        ticket.first_response_due = ticket.resolution_due = None
        return
    if ticket.first_response_due is not None:
        ticket.first_response_breached = responded > ticket.first_response_due
    if ticket.resolution_due is not None:
        ticket.resolution_breached = end > ticket.resolution_due
    # A stamp belongs to the due time it was sent for: a warning at W to one due by W + lead, an
    # escalation at E to one due by E. A next due time later than that is a new one.
    upcoming = ticket.next_due()
    if upcoming is not None:
        if ticket.warned_at is not None and upcoming > ticket.warned_at + warning_lead_time():
            ticket.warned_at = None
        if ticket.escalated_at is not None and upcoming > ticket.escalated_at:
            ticket.escalated_at = None


# --- Create and edit --------------------------------------------------------------------------


def _check_customer(actor: User | None, company: Company | None, contact: Contact | None) -> Company | None:
    if actor is not None:
        for record in (company, contact):
            if record is not None and not can(actor, record, "view"):
                raise PermissionDenied
    if contact is not None and company is not None and contact.company_id not in (None, company.pk):
        raise ValidationError({"contact": _("That contact works for another company.")})
    if company is None and contact is not None and contact.company_id:
        return contact.company
    return company


def _check_related_ref(actor: User | None, ticket: Ticket) -> None:
    """A newly named deal must be one the actor may see (the form offers no other); a reference
    already stored is kept as it is, even when the editor no longer sees its deal."""
    if not ticket.related_ref:
        return
    model = record_source_model(RELATED_SOURCE)
    pk = ticket.related_pk
    if model is None or pk is None:
        raise ValidationError({"related_ref": _("That is not a reference to an opportunity.")})
    if actor is not None and not restrict(model._default_manager.filter(pk=pk), actor, "view").exists():
        raise ValidationError(
            {"related_ref": _("No %(name)s you can see has that number.") % {"name": model._meta.verbose_name}}
        )


def record_ticket_event(ticket: Ticket, actor: User | None, summary: str, body: str = "") -> None:
    """Write an event of the ticket to its customer's timeline (nothing without a customer)."""
    if ticket.company_id or ticket.contact_id:
        record_interaction(
            kind=Interaction.Kind.TICKET,
            summary=summary,
            body=body,
            actor=actor,
            company=ticket.company,
            contact=ticket.contact,
            link=ticket.get_absolute_url(),
            subject=ticket,
        )


@transaction.atomic
def ticket_create(
    *,
    actor: User | None,
    owner: User | None = None,
    team: Team | None = None,
    tags=None,
    auto_assign: bool | None = None,
    now: datetime | None = None,
    origin_message_id: str = "",
    **data,
) -> Ticket:
    """A new ticket, numbered, assigned (by the rules unless an assignee is chosen) and on the clock.

    `actor` None is the customer's own request (web form, e-mail): no role is checked, and the
    rules always assign it.
    """
    if actor is not None:
        if not has_role_permission(actor, Ticket, "add"):
            raise PermissionDenied(_("You may not add this kind of record."))
        check_assignment(actor, owner=owner, team=team)
    now = now or timezone.now()
    ticket = Ticket(**{name: data[name] for name in TICKET_FIELDS if name in data}, origin_message_id=origin_message_id)
    if ticket.priority_id is None:
        ticket.priority = Priority.objects.filter(active=True).order_by("-is_default", "order").first()
    ticket.company = _check_customer(actor, ticket.company, ticket.contact)
    _check_related_ref(actor, ticket)
    if not ticket.language and ticket.contact_id:
        ticket.language = ticket.contact.preferred_language
    if auto_assign is None:
        auto_assign = actor is None or (owner is None and team is None)
    if auto_assign:
        assign_by_rules(ticket, fallback_team=team)
        if ticket.owner is None and actor is not None and team is None and ticket.team is None:
            ticket.owner = actor  # nobody else would see it: the agent who logged it keeps it
    else:
        ticket.owner, ticket.team = owner, team
    ticket.number = next_number(year=timezone.localdate(now).year)
    ticket.created_at = now
    ticket.status = Status.NEW if ticket.owner is None or ticket.owner != actor else Status.OPEN
    recompute_sla(ticket, now=now)
    with acting_as(actor):
        ticket.full_clean()
        ticket.save()
        # auto_now_add stamps its own time; the clock started at `now` (imports and tests pass one).
        Ticket.objects.filter(pk=ticket.pk).update(created_at=now, last_activity_at=now)
        ticket.created_at = ticket.last_activity_at = now
        if tags:
            ticket.tags.set(tags)
    if actor is not None and not auto_assign:
        ensure_still_visible(ticket, actor)
    record_ticket_event(
        ticket, actor, _("Ticket %(number)s opened: %(subject)s") % {"number": ticket.number, "subject": ticket.subject}
    )
    return ticket


@transaction.atomic
def ticket_update(*, ticket: Ticket, actor: User, **data) -> Ticket:
    before = Ticket.objects.filter(pk=ticket.pk).values_list("company_id", "contact_id", "related_ref").first()

    def derive(stored: Ticket, _given: Ticket) -> None:
        if (stored.company_id, stored.contact_id) != before[:2]:
            stored.company = _check_customer(actor, stored.company, stored.contact)
        if stored.related_ref != before[2]:
            _check_related_ref(actor, stored)
        recompute_sla(stored)

    return record_update(record=ticket, actor=actor, data=data, fields=TICKET_FIELDS, m2m=("tags",), before_save=derive)


# --- Conversation ----------------------------------------------------------------------------


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).select_related("company", "contact").get(pk=ticket.pk)


def _set_status(ticket: Ticket, status: str, now: datetime) -> list[str]:
    """Move `ticket` to `status` (already validated); the clock and stamps follow."""
    if status == ticket.status:
        return []
    was = ticket.status
    ticket.status = status
    if status == Status.PENDING:
        pause_clock(ticket, now)
    elif was == Status.PENDING:
        resume_clock(ticket, now)
    if status == Status.RESOLVED:
        ticket.resolved_at = now
    if status == Status.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    if status in (Status.OPEN, Status.NEW) and was in (Status.RESOLVED, Status.CLOSED):
        # The time it stood resolved does not count against the resolution target.
        if ticket.resolved_at is not None:
            ticket.sla_pauses = [*ticket.sla_pauses, [_iso(ticket.resolved_at), _iso(now)]]
            ticket.__dict__.pop("pauses", None)
        ticket.resolved_at = ticket.closed_at = None
    recompute_sla(ticket, now=now)
    return ["status", "resolved_at", "closed_at", *SLA_FIELDS]


def _check_transition(ticket: Ticket, status: str) -> None:
    if status not in Status.values:
        raise ValidationError(_("Unknown status."))
    if status != ticket.status and status not in TRANSITIONS[ticket.status]:
        raise ValidationError(
            _("A ticket that is %(now)s cannot become %(next)s.")
            % {"now": ticket.get_status_display(), "next": Status(status).label}
        )


def _save(ticket: Ticket, actor: User | None, fields: list[str], now: datetime) -> None:
    ticket.last_activity_at = now
    with acting_as(actor):
        ticket.save(update_fields=sorted({*fields, "last_activity_at", "updated_at"}))


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    actor: User,
    body: str,
    public: bool = True,
    status: str = "",
    files: list[tuple[str, bytes]] = (),
    now: datetime | None = None,
) -> Message:
    """An agent's public reply (mailed to the requester, with its files) or internal note, and
    optionally a new status. A public reply is the first response if none was given; a new
    ticket becomes open. A file over the size limit refuses the whole reply."""
    ensure_may(actor, ticket, "change")
    body = body.strip()
    if not body:
        raise ValidationError({"body": _("Write a message.")})
    now = now or timezone.now()
    ticket = _locked(ticket)
    if public and not ticket.contact_id:
        raise ValidationError(_("This ticket has no requester to reply to: add a contact or write an internal note."))
    if public and ticket.contact_id and not ticket.contact.email:
        raise ValidationError(_("The requester has no e-mail address: add one or write an internal note."))
    fields: list[str] = []
    if status:
        _check_transition(ticket, status)
    elif public and ticket.status == Status.NEW:
        status = Status.OPEN
    kind = Message.Kind.REPLY if public else Message.Kind.NOTE
    with acting_as(actor):
        message = Message.objects.create(ticket=ticket, kind=kind, author=actor, author_name=str(actor), body=body)
        for filename, content in files:
            store_attachment(ticket=ticket, message=message, filename=filename, content=content)
    if public and ticket.first_responded_at is None:
        ticket.first_responded_at = now
        fields += ["first_responded_at"]
    fields += _set_status(ticket, status, now) if status else []
    if public:
        recompute_sla(ticket, now=now)
        fields += SLA_FIELDS
    _save(ticket, actor, fields, now)
    if public:
        from celery import current_app

        queue_task(current_app.tasks[MAIL_REPLY_TASK], message_id=message.pk)
        record_ticket_event(ticket, actor, _("Reply on ticket %(number)s") % {"number": ticket.number}, body)
    return message


@transaction.atomic
def ticket_set_status(*, ticket: Ticket, actor: User, status: str, now: datetime | None = None) -> Ticket:
    ensure_may(actor, ticket, "change")
    now = now or timezone.now()
    ticket = _locked(ticket)
    _check_transition(ticket, status)
    fields = _set_status(ticket, status, now)
    if fields:
        _save(ticket, actor, fields, now)
        if status == Status.RESOLVED:
            record_ticket_event(ticket, actor, _("Ticket %(number)s resolved") % {"number": ticket.number})
            if ticket.csat_score is None and ticket.contact_id and ticket.contact.email:
                from celery import current_app

                queue_task(current_app.tasks[FEEDBACK_TASK], ticket_id=ticket.pk)
    return ticket


@transaction.atomic
def customer_message(
    *, ticket: Ticket, body: str, author_name: str = "", message_id: str = "", now: datetime | None = None
) -> Message:
    """The customer wrote (by e-mail or on the status page): the clock resumes if it waited on
    them, and a ticket resolved within the reopen window opens again."""
    now = now or timezone.now()
    ticket = _locked(ticket)
    body = body.strip()
    if not body:
        raise ValidationError({"body": _("Write a message.")})
    message = Message.objects.create(
        ticket=ticket, kind=Message.Kind.CUSTOMER, author_name=author_name[:200], body=body, message_id=message_id
    )
    recently_resolved = (
        ticket.status == Status.RESOLVED and ticket.resolved_at and now - ticket.resolved_at <= reopen_window()
    )
    status = Status.OPEN if ticket.status == Status.PENDING or recently_resolved else ""
    fields = _set_status(ticket, status, now) if status else []
    _save(ticket, None, fields, now)
    record_ticket_event(ticket, None, _("Customer wrote on ticket %(number)s") % {"number": ticket.number}, body)
    _notify_customer_message(message)
    return message


def _notify_customer_message(message: Message, *, actor: User | None = None) -> None:
    """Mail the assignee (or the team's managers) and the watchers about a customer's message on
    an existing ticket, once the transaction commits; `actor` (who merged it in) knows already."""
    from celery import current_app

    queue_task(
        current_app.tasks[CUSTOMER_MESSAGE_TASK], message_id=message.pk, skip_user_id=actor.pk if actor else None
    )


# --- Assignment by hand -----------------------------------------------------------------------


@transaction.atomic
def ticket_take(*, ticket: Ticket, actor: User) -> Ticket:
    """The actor takes the ticket: any agent who may work it (its team's members do)."""
    ensure_may(actor, ticket, "change", _("You may not work on this ticket."))
    ticket = _locked(ticket)
    if ticket.owner_id == actor.pk:
        return ticket
    if ticket.team_id not in member_team_ids(actor) and not can(actor, ticket, "assign"):
        # A share lets one work on a ticket, not take it over.
        raise PermissionDenied(_("Only members of the ticket's team may take it."))
    if ticket.owner_id is not None and not can(actor, ticket, "assign"):
        raise PermissionDenied(_("This ticket is already assigned: ask its team's manager to reassign it."))
    ticket.owner = actor
    fields = ["owner"]
    if ticket.status == Status.NEW:
        fields += _set_status(ticket, Status.OPEN, timezone.now())
    _save(ticket, actor, fields, timezone.now())
    return ticket


@transaction.atomic
def ticket_assign(*, ticket: Ticket, actor: User, owner: User | None, team: Team | None = None) -> Ticket:
    """Hand the ticket to `owner` (None: back to the team's unassigned queue)."""
    ensure_may(actor, ticket, "assign", _("Only the team's manager may reassign this ticket."))
    ticket = _locked(ticket)
    team = team or ticket.team
    if owner is not None:
        check_assignment(actor, owner=owner, team=team)
    elif not (is_administrator(actor) or (team is not None and can(actor, ticket, "assign"))):
        raise PermissionDenied
    ticket.owner, ticket.team = owner, team
    _save(ticket, actor, ["owner", "team"], timezone.now())
    return ticket


# --- Watchers ---------------------------------------------------------------------------------


def may_watch(user: User, ticket: Ticket) -> bool:
    """Whether `user` may follow `ticket`: anyone whose role may view tickets and who sees this
    one, except the read-only auditors (watching is a change to the ticket, and audited)."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if sees_everything(user) and not is_administrator(user):
        return False
    return has_role_permission(user, Ticket, "view") and can(user, ticket, "view")


def _add_watcher(ticket: Ticket, person: User, actor: User) -> Ticket:
    ticket = _locked(ticket)
    if not ticket.watchers.filter(pk=person.pk).exists():
        with acting_as(actor):
            ticket.watchers.add(person)
    return ticket


def _remove_watcher(ticket: Ticket, person: User, actor: User) -> Ticket:
    ticket = _locked(ticket)
    if ticket.watchers.filter(pk=person.pk).exists():
        with acting_as(actor):
            ticket.watchers.remove(person)
    return ticket


@transaction.atomic
def ticket_watch(*, ticket: Ticket, actor: User) -> Ticket:
    """The actor follows the ticket: its SLA notices reach them as they reach the assignee."""
    if not may_watch(actor, ticket):
        raise PermissionDenied(_("Your role may not watch tickets."))
    return _add_watcher(ticket, actor, actor)


@transaction.atomic
def ticket_unwatch(*, ticket: Ticket, actor: User) -> Ticket:
    """The actor stops following the ticket (always allowed: it only takes mail away)."""
    return _remove_watcher(ticket, actor, actor)


@transaction.atomic
def ticket_watcher_add(*, ticket: Ticket, actor: User, person: User) -> Ticket:
    """Someone who works the ticket adds a watcher: one they could assign the ticket to (themselves,
    members of the teams they manage, anyone for administrators) who may see the ticket."""
    ensure_may(actor, ticket, "change", _("You may not change who watches this ticket."))
    if not may_assign_owner(actor, person):
        raise ValidationError({"person": _("You can only add people you could assign tickets to.")})
    if not may_watch(person, ticket):
        raise ValidationError({"person": _("%(person)s cannot see this ticket.") % {"person": person}})
    return _add_watcher(ticket, person, actor)


@transaction.atomic
def ticket_watcher_remove(*, ticket: Ticket, actor: User, person: User) -> Ticket:
    """Someone who works the ticket takes a watcher off it (anyone may take themselves off)."""
    if person.pk != actor.pk:
        ensure_may(actor, ticket, "change", _("You may not change who watches this ticket."))
    return _remove_watcher(ticket, person, actor)


# --- Reassignment on a resolution breach (sla_watch) -----------------------------------------

BREACH_EVENT = "sla_breach_reassign"


def team_manager(team: Team | None) -> User | None:
    """The team's first active manager (by id), or None."""
    if team is None:
        return None
    membership = (
        TeamMembership.objects.filter(team=team, role=TeamMembership.Role.MANAGER, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
        .first()
    )
    return membership.user if membership else None


def reassign_on_breach(ticket: Ticket) -> bool:
    """Apply the policy's choice for a missed resolution target to `ticket` (locked by the caller,
    inside its transaction, when the escalation records the breach): keep the assignee, move the
    ticket to its team's unassigned queue, or hand it to the team's manager. The save is audited
    as that event (no acting user: the SLA watch did it) and an internal note says so on the
    ticket. Returns whether the assignee changed."""
    Action = SlaPolicy.BreachAction
    policy = ticket.sla_policy
    action = policy.on_resolution_breach if policy is not None else Action.KEEP
    if action == Action.KEEP or ticket.team_id is None:
        return False
    if action == Action.UNASSIGN:
        new_owner = None
        text = _(
            "The resolution target was missed: the ticket moved to the team's unassigned queue "
            "(SLA policy “%(policy)s”)."
        )
    else:
        new_owner = team_manager(ticket.team)
        if new_owner is None:
            return False
        text = _(
            "The resolution target was missed: the ticket was assigned to the team's manager %(manager)s "
            "(SLA policy “%(policy)s”)."
        )
    if ticket.owner_id == (new_owner.pk if new_owner else None):
        return False
    ticket.owner = new_owner
    ticket.audit_event = BREACH_EVENT
    try:
        with acting_as(None):
            ticket.save(update_fields=["owner", "updated_at"])
    finally:
        del ticket.audit_event
    body = text % {"policy": policy.name, "manager": new_owner}
    with acting_as(None):
        Message.objects.create(ticket=ticket, kind=Message.Kind.NOTE, author_name=_("SLA watch"), body=body)
    return True


def _each(queryset, change) -> BulkResult:
    """Apply `change(ticket)` to each ticket in its own transaction; a refusal is reported with
    the ticket's number and the others go on."""
    result = BulkResult()
    for ticket in queryset.order_by("pk")[:1000]:
        try:
            change(ticket)
        except (ValidationError, PermissionDenied) as error:
            reason = " ".join(getattr(error, "messages", [str(error)]))
            result.refused.append(f"{ticket.number}: {reason}")
        else:
            result.changed += 1
    return result


def bulk_assign(*, queryset, actor: User, data: dict) -> BulkResult:
    return _each(queryset, lambda ticket: ticket_assign(ticket=ticket, actor=actor, owner=data.get("owner")))


def bulk_set_status(*, queryset, actor: User, data: dict) -> BulkResult:
    return _each(queryset, lambda ticket: ticket_set_status(ticket=ticket, actor=actor, status=data["status"]))


def bulk_set_priority(*, queryset, actor: User, data: dict) -> BulkResult:
    """A new priority for each ticket, its SLA clock recomputed (through ticket_update, audited)."""
    return _each(queryset, lambda ticket: ticket_update(ticket=ticket, actor=actor, priority=data["priority"]))


def set_on_shift(*, actor: User, on_shift: bool) -> int:
    """An agent comes on or goes off shift in every team they belong to (each change audited)."""
    changed = 0
    with acting_as(actor):
        for membership in TeamMembership.objects.filter(user=actor).exclude(on_shift=on_shift):
            membership.on_shift = on_shift
            membership.save(update_fields=["on_shift"])
            changed += 1
    return changed


# --- Customer merges (customers.extensions) -------------------------------------------------


def _move_tickets(field: str, *, survivor, merged, actor: User) -> int:
    pks = list(Ticket.objects.filter(**{field: merged}).values_list("pk", flat=True))
    if pks:
        Ticket.objects.filter(pk__in=pks).update(**{field: survivor}, updated_at=timezone.now())
        log_bulk_change(Ticket, pks, actor=actor, changes={field: [str(merged.pk), str(survivor.pk)]}, event="merge")
    return len(pks)


def move_company_tickets(*, survivor: Company, merged: Company, actor: User) -> int:
    return _move_tickets("company", survivor=survivor, merged=merged, actor=actor)


def move_contact_tickets(*, survivor: Contact, merged: Contact, actor: User) -> int:
    return _move_tickets("contact", survivor=survivor, merged=merged, actor=actor)


# --- Merge and split ----------------------------------------------------------------------------


def _same_customer(a: Ticket, b: Ticket) -> bool:
    """The same requester; or, where neither names one, the same company. Two people of one
    company are two customers: the status page of one must not show the other's words."""
    if a.contact_id or b.contact_id:
        return a.contact_id == b.contact_id
    return bool(a.company_id and a.company_id == b.company_id)


@transaction.atomic
def ticket_merge(*, survivor: Ticket, merged: Ticket, actor: User) -> Ticket:
    """Fold `merged` into `survivor` (the same customer's request, asked twice): its messages and
    files move over, its request becomes a note, and it is closed with a pointer to the survivor.
    The survivor keeps the deal it names, or takes the merged ticket's when it names none."""
    if survivor.pk == merged.pk:
        raise ValidationError(_("A ticket cannot be merged into itself."))
    ensure_may(actor, survivor, "change")
    ensure_may(actor, merged, "change")
    first, second = sorted((survivor.pk, merged.pk))
    locked = {t.pk: t for t in Ticket.objects.select_for_update(of=("self",)).filter(pk__in=(first, second))}
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    if not _same_customer(survivor, merged):
        raise ValidationError(_("Only tickets of the same customer can be merged."))
    if merged.status == Status.CLOSED:
        raise ValidationError(_("%(number)s is closed already.") % {"number": merged.number})
    now = timezone.now()
    with acting_as(actor):
        request = None
        if merged.description:
            request = Message.objects.create(
                ticket=survivor,
                kind=Message.Kind.CUSTOMER,
                author_name=str(merged.contact or ""),
                body=merged.description,
                message_id=merged.origin_message_id,
            )
        moved = list(merged.messages.values_list("pk", flat=True))
        for message in Message.objects.filter(pk__in=moved):
            message.ticket = survivor
            message.save(update_fields=["ticket"])
        for attachment in merged.attachments.all():
            attachment.ticket = survivor
            attachment.save(update_fields=["ticket"])
        survivor.watchers.add(*merged.watchers.all())
        Message.objects.create(
            ticket=survivor,
            kind=Message.Kind.NOTE,
            author=actor,
            author_name=str(actor),
            body=_("%(number)s was merged into this ticket.") % {"number": merged.number},
        )
        Message.objects.create(
            ticket=merged,
            kind=Message.Kind.NOTE,
            author=actor,
            author_name=str(actor),
            body=_("Merged into %(number)s.") % {"number": survivor.number},
        )
    fields = _set_status(merged, Status.CLOSED, now)
    _save(merged, actor, fields, now)
    survivor_fields = []
    if not survivor.related_ref and merged.related_ref:
        survivor.related_ref = merged.related_ref
        survivor_fields.append("related_ref")
    _save(survivor, actor, survivor_fields, now)
    if request is not None:
        _notify_customer_message(request, actor=actor)
    record_ticket_event(
        survivor, actor, _("%(merged)s merged into %(number)s") % {"merged": merged.number, "number": survivor.number}
    )
    return survivor


@transaction.atomic
def ticket_split(*, message: Message, actor: User) -> Ticket:
    """Make the customer's message a ticket of its own (a new question in an old thread): it moves
    to the new ticket with its files, and both tickets say where it went. The new ticket names
    the deal the original names, as stored (like a merge, whether or not the actor sees it)."""
    ticket = message.ticket
    ensure_may(actor, ticket, "change")
    if message.kind != Message.Kind.CUSTOMER:
        raise ValidationError(_("Only a customer's message can become a ticket of its own."))
    if not has_role_permission(actor, Ticket, "add"):
        raise PermissionDenied(_("You may not add this kind of record."))
    first_line = (message.body.strip().splitlines() or [ticket.subject])[0]
    new = ticket_create(
        actor=None,
        subject=first_line[:200],
        description="",
        company=ticket.company,
        contact=ticket.contact,
        channel=ticket.channel,
        category=ticket.category,
        priority=ticket.priority,
        language=ticket.language,
        owner=actor if ticket.team_id in member_team_ids(actor) else None,
        team=ticket.team,
        auto_assign=False,
    )
    with acting_as(actor):
        if ticket.related_ref:
            new.related_ref = ticket.related_ref
            new.save(update_fields=["related_ref", "updated_at"])
        message.ticket = new
        message.save(update_fields=["ticket"])
        for attachment in message.attachments.all():
            attachment.ticket = new
            attachment.save(update_fields=["ticket"])
        for target, text in (
            (ticket, _("A message was split into %(number)s.") % {"number": new.number}),
            (new, _("Split from %(number)s.") % {"number": ticket.number}),
        ):
            Message.objects.create(
                ticket=target, kind=Message.Kind.NOTE, author=actor, author_name=str(actor), body=text
            )
    return new
