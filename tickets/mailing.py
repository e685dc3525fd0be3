"""Mail the tickets module sends: public replies threaded into the customer's conversation, and
SLA warnings and escalations to the people who must act and to those who watch the ticket."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from crm.models import TeamMembership, User
from crm.network import absolute_url
from crm.permissions import can
from tickets import intake
from tickets.mail import make_message_id, reply_subject, thread_headers
from tickets.models import Message, Ticket


def mail_domain() -> str:
    return settings.TICKET_FROM_EMAIL.rpartition("@")[2] or "localhost"


def send_reply(*, message_id: int) -> bool:
    """Mail one public reply to the requester, once. Its Message-ID is fixed before sending, so
    a retry after a lost connection sends the same message (the customer's client shows it once);
    a mail server error propagates so that the task retries."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("ticket", "ticket__contact")
            .filter(pk=message_id, kind=Message.Kind.REPLY)
            .first()
        )
        if message is None or message.mailed_at is not None:
            return False
        if not message.message_id:
            message.message_id = make_message_id(mail_domain())
            message.save(update_fields=["message_id"])
    ticket = message.ticket
    contact = ticket.contact
    if contact is None or not contact.email:
        return False
    parents = [ticket.origin_message_id] if ticket.origin_message_id else []
    parents += list(
        ticket.messages.exclude(message_id="")
        .exclude(pk=message.pk)
        .filter(created_at__lte=message.created_at)
        .order_by("created_at", "id")
        .values_list("message_id", flat=True)
    )
    language = ticket.language or contact.preferred_language or settings.LANGUAGE_CODE
    with translation.override(language):
        body = render_to_string(
            "tickets/reply_email.txt",
            {
                "ticket": ticket,
                "message": message,
                "agent": message.author_name,
                "status_url": intake.status_url(ticket),
            },
        )
        email = EmailMessage(
            subject=reply_subject(ticket.number, ticket.subject),
            body=body,
            from_email=settings.TICKET_FROM_EMAIL,
            to=[contact.email],
            headers={"Message-ID": message.message_id, **thread_headers(message.message_id, parents)},
        )
    for attachment in message.attachments.all():
        with attachment.file.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type)
    email.send()
    Message.objects.filter(pk=message.pk).update(mailed_at=timezone.now())
    return True


def _customer_mail(ticket: Ticket, template: str, context: dict, *, thread: bool) -> bool:
    """A message to the requester in their language, threaded under the request when it came by mail."""
    contact = ticket.contact
    if contact is None or not contact.email:
        return False
    language = ticket.language or contact.preferred_language or settings.LANGUAGE_CODE
    own_id = make_message_id(mail_domain())
    parents = [ticket.origin_message_id] if thread and ticket.origin_message_id else []
    with translation.override(language):
        body = render_to_string(template, {"ticket": ticket, **context})
        email = EmailMessage(
            subject=reply_subject(ticket.number, ticket.subject),
            body=body,
            from_email=settings.TICKET_FROM_EMAIL,
            to=[contact.email],
            headers={"Auto-Submitted": "auto-replied", **thread_headers(own_id, parents)},
        )
    email.send()
    return True


def send_acknowledgement(*, ticket_id: int) -> bool:
    """Tell the customer their request arrived, with its number and the status link."""
    ticket = Ticket.objects.select_related("contact").filter(pk=ticket_id).first()
    if ticket is None:
        return False
    return _customer_mail(ticket, "tickets/ack_email.txt", {"status_url": intake.status_url(ticket)}, thread=True)


def send_feedback_request(*, ticket_id: int) -> bool:
    """Ask for a rating once the ticket is resolved (not when it was rated or reopened since)."""
    ticket = Ticket.objects.select_related("contact").filter(pk=ticket_id).first()
    if (
        ticket is None
        or ticket.csat_score is not None
        or ticket.status not in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)
    ):
        return False
    return _customer_mail(
        ticket, "tickets/feedback_email.txt", {"feedback_url": intake.feedback_url(ticket)}, thread=True
    )


def ticket_recipients(
    ticket: Ticket, *, managers: bool = False, also: tuple[int | None, ...] = (), skip: int | None = None
) -> list[User]:
    """Who is told about `ticket`: its assignee (unassigned, or with `managers`, its team's
    managers too), the users `also` names, then its watchers. Each person once, and only those
    active, with an address and still able to see the ticket; `skip` (who caused it) is left out."""
    people = [ticket.owner] if ticket.owner_id else []
    if managers or not people:
        memberships = TeamMembership.objects.filter(team_id=ticket.team_id, role=TeamMembership.Role.MANAGER)
        people += [m.user for m in memberships.select_related("user").order_by("user_id")]
    named = [pk for pk in also if pk is not None]
    if named:
        people += list(User.objects.filter(pk__in=named).order_by("pk"))
    people += list(ticket.watchers.filter(is_active=True).exclude(email="").order_by("pk"))
    seen, unique = {skip}, []
    for person in people:
        if person is None or person.pk in seen:
            continue
        seen.add(person.pk)
        if person.is_active and person.email and can(person, ticket, "view"):
            unique.append(person)
    return unique


def sla_recipients(ticket: Ticket, *, escalate: bool, former_owner_id: int | None = None) -> list[User]:
    """The assignee (or, unassigned, the team's managers); an escalation adds the managers, and
    the assignee the breach took the ticket from. Then the ticket's watchers who may still see it."""
    return ticket_recipients(ticket, managers=escalate, also=(former_owner_id,))


def send_sla_notice(*, ticket_id: int, escalate: bool, former_owner_id: int | None = None) -> int:
    ticket = Ticket.objects.select_related("owner", "team", "priority").filter(pk=ticket_id).first()
    if ticket is None:
        return 0
    sent = 0
    for person in sla_recipients(ticket, escalate=escalate, former_owner_id=former_owner_id):
        with translation.override(person.language or settings.LANGUAGE_CODE):
            subject = render_to_string("tickets/sla_subject.txt", {"ticket": ticket, "escalate": escalate})
            body = render_to_string(
                "tickets/sla_email.txt",
                {"ticket": ticket, "escalate": escalate, "url": absolute_url(ticket.get_absolute_url())},
            )
        # Machine-made: an agent's out-of-office reply must not answer it.
        EmailMessage(
            subject=" ".join(subject.split()),
            body=body,
            to=[person.email],
            headers={"Auto-Submitted": "auto-generated"},
        ).send()
        sent += 1
    return sent


EXCERPT_CHARS = 500


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of `text`, cut at `limit` characters with an ellipsis when it goes on."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def send_customer_message_notice(*, message_id: int, skip_user_id: int | None = None) -> int:
    """Tell the assignee (unassigned: the team's managers) and the watchers that the customer
    wrote on the ticket, each in their own language, with the start of the message and the
    ticket's address. `skip_user_id` is the agent whose action brought the message (a merge)."""
    message = (
        Message.objects.select_related("ticket", "ticket__owner", "ticket__contact")
        .filter(pk=message_id, kind=Message.Kind.CUSTOMER)
        .first()
    )
    if message is None:
        return 0
    ticket = message.ticket
    context = {
        "ticket": ticket,
        # Header fields stay on one line whatever the customer typed.
        "customer": " ".join((message.author_name or str(ticket.contact or "")).split()),
        "subject": " ".join(ticket.subject.split()),
        "excerpt": excerpt(message.body),
        "url": absolute_url(ticket.get_absolute_url()),
    }
    emails = []
    for person in ticket_recipients(ticket, skip=skip_user_id):
        with translation.override(person.language or settings.LANGUAGE_CODE):
            subject = render_to_string("tickets/customer_message_subject.txt", context)
            body = render_to_string("tickets/customer_message_email.txt", context)
        emails.append(
            EmailMessage(
                subject=" ".join(subject.split()),
                body=body,
                to=[person.email],
                headers={"Auto-Submitted": "auto-generated"},
            )
        )
    if emails:
        emails[0].get_connection().send_messages(emails)
    return len(emails)
