"""What customers send in: e-mail from the support mailboxes, replies and ratings through their
signed links, and the files that come with them.

An e-mail opens a ticket, or threads onto the ticket it answers. Ticket numbers are sequential,
so a number in the subject proves nothing about the sender: an e-mail threads when its
In-Reply-To / References names one of the ticket's messages (the sender had the conversation),
or when its subject names the ticket and it comes from the requester, another contact of the
ticket's company or an address that already wrote on the ticket. Anyone else opens a new ticket
that says which ticket the e-mail named. Automatic replies and bounces are recorded and dropped,
never answered, so two help desks cannot mail each other forever.
Each message is handled once: the `InboundMail` row is written in the transaction that acts on
it, under a unique (mailbox, Message-ID).

The customer's links are signed with the project's secret key and expire: the status page
(TICKET_STATUS_LINK_DAYS) shows one ticket's public conversation and takes a reply, and the
feedback page (TICKET_FEEDBACK_LINK_DAYS) takes one rating. A link names one ticket by id and
number; an altered, expired or foreign link opens nothing.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from crm.audit import acting_as
from crm.network import absolute_url
from crm.outbox import queue_task
from crm.people import find_people
from customers.importing.columns import split_full_name
from customers.models import Contact
from customers.services import contact_create
from tickets import services
from tickets.attachments import store_attachment
from tickets.mail import InboundMessage, find_ticket_number, strip_quoted_reply
from tickets.models import Channel, InboundMail, Mailbox, Message, Ticket

Status = Ticket.Status
logger = logging.getLogger(__name__)
ACK_TASK = "tickets.tasks.mail_acknowledgement"
STATUS_SALT = "tickets.status-link"
FEEDBACK_SALT = "tickets.feedback-link"


# --- E-mail -----------------------------------------------------------------------------------


def answered_ticket(parsed: InboundMessage) -> tuple[Ticket | None, bool]:
    """The ticket whose conversation an e-mail answers, and whether it names a message we sent.

    An id we made (an agent's mailed reply) is known only to those who received it, so naming it
    is enough. An id the customer's side chose (the e-mail that opened the ticket, a customer
    message) is no secret: such a match is trusted only from the ticket's people, like a number
    in the subject, and the oldest ticket carrying the id wins, so a later copy of the id sent to
    another mailbox cannot take the conversation over."""
    parents = parsed.parent_ids
    if not parents:
        return None, False
    messages = Message.objects.filter(message_id__in=parents).select_related("ticket").order_by("pk")
    ours = messages.exclude(kind=Message.Kind.CUSTOMER).first()
    if ours is not None:
        return ours.ticket, True
    theirs = messages.filter(kind=Message.Kind.CUSTOMER).first()
    if theirs is not None:
        return theirs.ticket, False
    return Ticket.objects.filter(origin_message_id__in=parents).order_by("pk").first(), False


def numbered_ticket(parsed: InboundMessage) -> Ticket | None:
    """The ticket whose number the subject carries, if there is one."""
    number = find_ticket_number(parsed.subject)
    return Ticket.objects.filter(number=number).first() if number else None


def writes_on(ticket: Ticket, address: str) -> bool:
    """Whether `address` may write on `ticket` by naming it: it is the requester's, another
    contact's of the ticket's company (both through the e-mail blind index, as the people lookup
    finds them), or it already wrote on the ticket by e-mail. Only a plain address counts: one
    the index's normalisation would fold into another (a fullwidth letter, a trailing em-space)
    could pass for the requester's."""
    if not _plain_address(address):
        return False
    people = Q(pk=ticket.contact_id) if ticket.contact_id else Q()
    if ticket.company_id:
        people |= Q(company_id=ticket.company_id)
    if people and find_people(Contact.objects.filter(people), email=address).exists():
        return True
    return InboundMail.objects.filter(
        ticket=ticket,
        sender__iexact=address[:254],
        outcome__in=(InboundMail.Outcome.OPENED, InboundMail.Outcome.THREADED),
    ).exists()


def _plain_address(address: str) -> bool:
    """A valid address that reads as it is: no surrounding space, nothing NFKC changes."""
    if not address or address != address.strip() or unicodedata.normalize("NFKC", address) != address:
        return False
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def _thread_of(parsed: InboundMessage) -> tuple[Ticket | None, Ticket | None]:
    """The open ticket the e-mail threads onto; else None and the ticket it named (by number, or
    by an id the customer's side chose) although the sender is not on it, or its receiving
    server found the sender forged (None when it named none, or one the sender is on)."""
    answered, ours = answered_ticket(parsed)
    if answered is not None and ours and answered.status != Status.CLOSED:
        return answered, None
    named = numbered_ticket(parsed)
    if named is None and answered is not None and not ours:
        named = answered
    if named is None or (ours and named == answered):
        return None, None
    if not parsed.sender_forged and writes_on(named, parsed.from_address):
        # A closed ticket is not written on again: the e-mail opens a new one.
        return (named if named.status != Status.CLOSED else None), None
    return None, named


def requester_for(parsed: InboundMessage, mailbox: Mailbox) -> Contact:
    """The contact with the sender's address (whoever owns it), or a new one owned by the
    mailbox's contact owner: the people lookup keeps one person from becoming two contacts.
    Raises ValidationError for an address a contact cannot have."""
    validate_email(parsed.from_address)
    existing = find_people(Contact.objects.all(), email=parsed.from_address).order_by("pk").first()
    if existing is not None:
        return existing
    family, given = split_full_name(parsed.from_name)
    return contact_create(
        actor=mailbox.contact_owner,
        family_name=family[:100],
        given_name=given[:100],
        email=parsed.from_address,
        team=mailbox.team,
    )


def receive(*, mailbox: Mailbox, parsed: InboundMessage) -> InboundMail | None:
    """Act on one e-mail of `mailbox`, once. None when it was handled before."""
    try:
        with transaction.atomic():
            record = InboundMail.objects.create(
                mailbox=mailbox,
                message_id=parsed.message_id[:255],
                sender=parsed.from_address[:254],
                subject=parsed.subject[:200],
                outcome=InboundMail.Outcome.REFUSED,
            )
            _act(record, mailbox, parsed)
            record.save(update_fields=["outcome", "detail", "ticket"])
    except IntegrityError:
        if InboundMail.objects.filter(mailbox=mailbox, message_id=parsed.message_id[:255]).exists():
            return None  # handled before (by another worker, or before a crash)
        raise
    return record


def _act(record: InboundMail, mailbox: Mailbox, parsed: InboundMessage) -> None:
    if parsed.is_automatic:
        record.outcome = InboundMail.Outcome.AUTOMATIC
        return
    if not parsed.from_address:
        record.detail = "no sender address"
        return
    body = strip_quoted_reply(parsed.text).strip() or parsed.text.strip() or parsed.subject or "—"
    ticket, named = _thread_of(parsed)
    if ticket is not None:
        message = services.customer_message(
            ticket=ticket, body=body, author_name=parsed.from_name or parsed.from_address, message_id=parsed.message_id
        )
        _keep_attachments(ticket, message, parsed)
        record.outcome, record.ticket = InboundMail.Outcome.THREADED, ticket
        return
    contact = requester_for(parsed, mailbox)
    ticket = services.ticket_create(
        actor=None,
        subject=(parsed.subject or body.splitlines()[0])[:200],
        description=body,
        contact=contact,
        channel=Channel.EMAIL,
        category=mailbox.category,
        team=mailbox.team,
        origin_message_id=parsed.message_id[:255],
    )
    if named is not None:
        _note_foreign_number(ticket, named, parsed)
    _keep_attachments(ticket, None, parsed)
    record.outcome, record.ticket = InboundMail.Outcome.OPENED, ticket
    from celery import current_app

    queue_task(current_app.tasks[ACK_TASK], ticket_id=ticket.pk)


def _note_foreign_number(ticket: Ticket, named: Ticket, parsed: InboundMessage) -> None:
    """Tell the agents that the e-mail named another ticket, whose people it does not come from
    or whose sender its receiving mail server found forged."""
    if parsed.sender_forged:
        body = _(
            "This e-mail named ticket %(number)s, but the receiving mail server found that it did not "
            "really come from %(address)s (SPF/DKIM/DMARC), so it was opened as a new ticket."
        )
    else:
        body = _(
            "This e-mail named ticket %(number)s, but it came from %(address)s, an address not on "
            "that ticket, so it was opened as a new ticket."
        )
    with acting_as(None):
        Message.objects.create(
            ticket=ticket,
            kind=Message.Kind.NOTE,
            body=body % {"number": named.number, "address": parsed.from_address},
        )


def _keep_attachments(ticket: Ticket, message: Message | None, parsed: InboundMessage) -> None:
    skipped = []
    for item in parsed.attachments:
        try:
            store_attachment(ticket=ticket, message=message, filename=item.filename, content=item.content)
        except ValidationError:
            skipped.append(item.filename)
    if skipped:
        with acting_as(None):
            Message.objects.create(
                ticket=ticket,
                kind=Message.Kind.NOTE,
                body=_("Attachments too large to keep: %(names)s") % {"names": ", ".join(skipped)},
            )


# --- The customer's links ---------------------------------------------------------------------


def _link_days(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _link_value(ticket: Ticket) -> str:
    # The requester is part of what is signed: a link stops working for a requester replaced.
    return f"{ticket.pk}.{ticket.number}.{ticket.contact_id or 0}"


def status_token(ticket: Ticket) -> str:
    return signing.TimestampSigner(salt=STATUS_SALT).sign(_link_value(ticket))


def status_url(ticket: Ticket) -> str:
    return absolute_url(reverse("tickets:status", args=[status_token(ticket)]))


def feedback_token(ticket: Ticket) -> str:
    return signing.TimestampSigner(salt=FEEDBACK_SALT).sign(_link_value(ticket))


def feedback_url(ticket: Ticket) -> str:
    return absolute_url(reverse("tickets:feedback", args=[feedback_token(ticket)]))


def ticket_for_token(token: str, *, salt: str, days: int) -> Ticket | None:
    """The ticket a link names, or None when the link is altered, expired or names no ticket."""
    try:
        value = signing.TimestampSigner(salt=salt).unsign(token, max_age=timedelta(days=days))
    except signing.BadSignature:  # SignatureExpired is one too
        return None
    pk, number, contact = (value.split(".") + ["", "", ""])[:3]
    if not (pk.isdigit() and contact.isdigit()):
        return None
    ticket = Ticket.objects.select_related("priority", "contact").filter(pk=int(pk), number=number).first()
    if ticket is None or _link_value(ticket) != value:
        return None
    return ticket


def ticket_for_status(token: str) -> Ticket | None:
    return ticket_for_token(token, salt=STATUS_SALT, days=_link_days("TICKET_STATUS_LINK_DAYS", 90))


def ticket_for_feedback(token: str) -> Ticket | None:
    return ticket_for_token(token, salt=FEEDBACK_SALT, days=_link_days("TICKET_FEEDBACK_LINK_DAYS", 30))


@transaction.atomic
def record_feedback(*, ticket: Ticket, score: int, comment: str = "") -> bool:
    """The customer's rating, once: False when the ticket was rated already."""
    if not 1 <= score <= 5:
        raise ValidationError(_("Choose a rating from 1 to 5."))
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("company", "contact").get(pk=ticket.pk)
    if ticket.csat_score is not None:
        return False
    ticket.csat_score, ticket.csat_comment = score, comment.strip()[:2000]
    with acting_as(None):
        ticket.save(update_fields=["csat_score", "csat_comment", "updated_at"])
    services.record_ticket_event(
        ticket, None, _("Customer rated ticket %(number)s: %(score)d of 5") % {"number": ticket.number, "score": score}
    )
    return True


# --- The public request form ------------------------------------------------------------------


def web_contact_owner():
    """Who owns contacts the public form creates: a manager of TICKET_DEFAULT_TEAM, else the first
    administrator. None when the installation has neither."""
    from crm import roles
    from crm.models import TeamMembership, User

    team = services.default_team()
    if team is not None:
        manager = (
            TeamMembership.objects.filter(team=team, role=TeamMembership.Role.MANAGER, user__is_active=True)
            .select_related("user")
            .order_by("pk")
            .first()
        )
        if manager is not None:
            return manager.user
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=roles.ADMINISTRATOR))
        .order_by("pk")
        .first()
    )


@transaction.atomic
def web_request(*, name: str, email: str, subject: str, description: str) -> Ticket:
    """A request from the public form: the sender found or made a contact, the ticket placed by
    the rules, an acknowledgment with its number and status link mailed."""
    existing = find_people(Contact.objects.all(), email=email).order_by("pk").first()
    if existing is None:
        owner = web_contact_owner()
        not_set_up = _("The service desk is not set up yet. Please write to us by e-mail.")
        if owner is None:
            raise ValidationError(not_set_up)
        family, given = split_full_name(name)
        try:
            existing = contact_create(
                actor=owner, family_name=family[:100], given_name=given[:100], email=email, team=services.default_team()
            )
        except PermissionDenied:
            logger.warning("the public request form's contact owner %s may not add contacts", owner.pk)
            raise ValidationError(not_set_up) from None
    ticket = services.ticket_create(
        actor=None, subject=subject, description=description, contact=existing, channel=Channel.WEB
    )
    from celery import current_app

    queue_task(current_app.tasks[ACK_TASK], ticket_id=ticket.pk)
    return ticket
