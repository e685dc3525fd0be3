"""Service tickets: customer requests, their conversation, and the SLA clocks they run against.

Tickets import customers (companies, contacts, tags) and crm; never pipeline, campaigns or the
reverse. A ticket's `owner` is its assignee and may be empty (the team's unassigned queue); the
team's members work its tickets together (`crm.permissions.register_team_worked`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from crm.fields import EncryptedCharField
from crm.models import OwnedModel, Team
from crm.record_urls import record_url
from crm.search import search_tokens
from customers.models import Company, Contact, Tag
from tickets.holidays import parse_holiday_lines
from tickets.sla import WEEKDAY_NAMES, BusinessCalendar

NUMBER_PATTERN = r"T-\d{4}-\d{6}"

# The deal a ticket is about, named by reference ("pipeline.opportunity:42", the convention of
# `Interaction.source_ref`): tickets never import pipeline, and find its model through the pick
# source pipeline registers (`crm.pickers.record_source_model`).
RELATED_SOURCE = "pipeline.opportunity"
_MAX_PK = 2**63 - 1


def related_ref_for(pk: int | None) -> str:
    """The stored reference to the deal `pk`, or "" for none."""
    return f"{RELATED_SOURCE}:{pk}" if pk else ""


class Category(models.Model):
    """What a request is about (billing, installation, fault…); configured in the admin site."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("ticket category")
        verbose_name_plural = _("ticket categories")

    def __str__(self):
        return self.name


class Priority(models.Model):
    """How urgent a request is; the SLA targets are set per priority."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0, help_text=_("Lower comes first."))
    is_default = models.BooleanField(_("default"), default=False, help_text=_("For requests that name none."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("ticket priority")
        verbose_name_plural = _("ticket priorities")

    def __str__(self):
        return self.name


def _check_weekly_hours(text: str) -> None:
    try:
        week = BusinessHours.parse_week(text)
        BusinessCalendar("UTC", week)  # the intervals themselves: times, order, overlaps
    except ValueError as error:
        raise ValidationError(str(error)) from None
    if not week:
        raise ValidationError(_("Give the hours of at least one day: a clock with no working hours never runs."))


def _check_holidays(text: str) -> None:
    try:
        parse_holiday_lines(text)
    except ValueError as error:
        raise ValidationError(str(error)) from None


class BusinessHours(models.Model):
    """Working hours in a time zone, with holidays and make-up working days, for SLA clocks."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    weekly_hours = models.TextField(
        _("weekly hours"),
        default="mon-fri 09:00-12:00 13:00-18:00",
        validators=[_check_weekly_hours],
        help_text=_(
            'One line per day or range of days, then intervals: "mon-fri 09:00-12:00 13:00-18:00", '
            '"sat 10:00-16:00". "24:00" ends a day. Days not listed have no hours.'
        ),
    )
    holidays = models.TextField(
        _("holidays and make-up working days"),
        blank=True,
        validators=[_check_holidays],
        help_text=_(
            'One per line: "2026-10-01..2026-10-07 holiday National Day", "2026-09-27 workday:mon". '
            "Use the import action to read an iCalendar (.ics) file of public holidays."
        ),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")

    def __str__(self):
        return self.name

    def clean(self):
        # The weekly hours and the holidays are checked by their fields' validators.
        try:
            BusinessCalendar(self.time_zone, {})
        except ValueError as error:
            raise ValidationError({"time_zone": str(error)}) from None

    @staticmethod
    def parse_week(text: str) -> dict[int, list[str]]:
        """`mon-fri 09:00-12:00 13:00-18:00` lines as weekday -> ["09:00-12:00", ...]."""
        keys = {name[:3].lower(): index for index, name in enumerate(WEEKDAY_NAMES)}
        week: dict[int, list[str]] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            days, *intervals = line.split()
            first, _dash, last = days.lower().partition("-")
            if first[:3] not in keys or (last and last[:3] not in keys):
                raise ValueError(_("Line %(number)d: unknown day %(day)r.") % {"number": number, "day": days})
            if not intervals:
                raise ValueError(_("Line %(number)d: no working hours given.") % {"number": number})
            start, end = keys[first[:3]], keys[(last or first)[:3]]
            for day in range(start, (end if end >= start else end + 7) + 1):
                if day % 7 in week:
                    raise ValueError(_("Line %(number)d: a day is listed twice.") % {"number": number})
                week[day % 7] = intervals
        return week

    def calendar(self) -> BusinessCalendar:
        holidays, extra = parse_holiday_lines(self.holidays)
        return BusinessCalendar(self.time_zone, self.parse_week(self.weekly_hours), frozenset(holidays), extra)


class SlaPolicy(models.Model):
    """Targets for the first response and the resolution, per priority, in business hours."""

    class BreachAction(models.TextChoices):
        KEEP = "keep", _("Keep the assignee")
        UNASSIGN = "unassign", _("Move to the team's unassigned queue")
        MANAGER = "manager", _("Assign to the team's manager")

    name = models.CharField(_("name"), max_length=100, unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0, help_text=_("The first matching policy applies."))
    customer_grade = models.CharField(
        _("customer grade"), max_length=2, blank=True, help_text=_("Empty: customers of any grade.")
    )
    hours = models.ForeignKey(BusinessHours, on_delete=models.PROTECT, verbose_name=_("business hours"))
    active = models.BooleanField(_("active"), default=True)
    on_resolution_breach = models.CharField(
        _("on resolution breach"),
        max_length=10,
        choices=BreachAction.choices,
        default=BreachAction.KEEP,
        help_text=_(
            "Applied once, when the escalation records that a ticket missed its resolution target. "
            "Without a team (or a manager) the assignee stays."
        ),
    )

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self):
        return self.name


class SlaTarget(models.Model):
    policy = models.ForeignKey(SlaPolicy, on_delete=models.CASCADE, related_name="targets", verbose_name=_("policy"))
    priority = models.ForeignKey(Priority, on_delete=models.CASCADE, related_name="+", verbose_name=_("priority"))
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (business minutes)"), validators=[MaxValueValidator(525600)]
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution within (business minutes)"), validators=[MaxValueValidator(5256000)]
    )

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        constraints = [models.UniqueConstraint(fields=["policy", "priority"], name="sla_target_unique")]

    def __str__(self):
        return f"{self.policy} / {self.priority}"


class Channel(models.TextChoices):
    WEB = "web", _("Web form")
    EMAIL = "email", pgettext_lazy("ticket channel", "E-mail")
    PHONE = "phone", pgettext_lazy("ticket channel", "Phone")
    PORTAL = "portal", _("Customer portal")
    API = "api", _("API")


class AssignmentRule(models.Model):
    """Which team receives new tickets that match; the first matching rule by order wins."""

    class Method(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_LOADED = "least_loaded", _("Fewest open tickets")

    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    category = models.ForeignKey(
        Category,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("category"),
        help_text=_("Empty: any."),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, blank=True)
    customer_grade = models.CharField(_("customer grade"), max_length=2, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+", verbose_name=_("team"))
    method = models.CharField(_("method"), max_length=20, choices=Method.choices, default=Method.ROUND_ROBIN)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("ticket assignment rule")
        verbose_name_plural = _("ticket assignment rules")

    def __str__(self):
        return self.name


class AssignmentTurn(models.Model):
    """The agent a team's round robin gave the last ticket to; locked with SELECT … FOR UPDATE."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="+", primary_key=True)
    last_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        verbose_name = _("round-robin position")
        verbose_name_plural = _("round-robin positions")

    def __str__(self):
        return f"{self.team_id} → {self.last_user_id}"


class NumberSequence(models.Model):
    """The last ticket number given out in a year: locked while a ticket takes the next one, so
    numbers are gap-free (a rolled-back ticket rolls its number back too)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("ticket number sequence")
        verbose_name_plural = _("ticket number sequences")

    def __str__(self):
        return f"{self.year}: {self.last}"


# Fields the audit trail leaves out: the clock's due times and stamps, the search text and the
# times of the last change follow from the audited status, priority and events.
SLA_DERIVED = [
    "search_text",
    "updated_at",
    "last_activity_at",
    "sla_pauses",
    "first_response_due",
    "resolution_due",
    "warned_at",
    "escalated_at",
]


class Ticket(OwnedModel):
    """A customer's request, from its arrival to its resolution. `owner` is the assignee."""

    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("ticket status", "New")
        OPEN = "open", pgettext_lazy("ticket status", "Open")
        PENDING = "pending", _("Pending (waiting on customer)")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", pgettext_lazy("ticket status", "Closed")

    ACTIVE_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )
    number = models.CharField(_("number"), max_length=13, unique=True, editable=False)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets", verbose_name=_("company")
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.PROTECT, null=True, blank=True, related_name="tickets", verbose_name=_("requester")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.WEB)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("category")
    )
    priority = models.ForeignKey(Priority, on_delete=models.PROTECT, related_name="+", verbose_name=_("priority"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="+", verbose_name=_("tags"))
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_tickets", verbose_name=_("watchers")
    )

    # The SLA clock. Due times are recomputed by the services at every event that moves them.
    sla_policy = models.ForeignKey(
        SlaPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("SLA policy")
    )
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True, editable=False)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True, editable=False)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True, editable=False)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    # [[begin, end or null], ...] in ISO 8601 UTC: the spans spent waiting on the customer.
    sla_pauses = models.JSONField(_("SLA pauses"), default=list, blank=True, editable=False)
    first_response_breached = models.BooleanField(_("first response breached"), default=False, editable=False)
    resolution_breached = models.BooleanField(_("resolution breached"), default=False, editable=False)
    warned_at = models.DateTimeField(_("breach warning sent"), null=True, blank=True, editable=False)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True, editable=False)

    csat_score = models.PositiveSmallIntegerField(
        _("satisfaction"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    csat_comment = models.TextField(_("satisfaction comment"), blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), auto_now_add=True, editable=False)
    # The Message-ID of the e-mail that opened the ticket: replies name it in In-Reply-To.
    origin_message_id = models.CharField(_("message id"), max_length=255, blank=True, editable=False)
    # "pipeline.opportunity:<pk>" or "": set through the ticket form's "Related opportunity" field.
    related_ref = models.CharField(
        _("related opportunity"), max_length=100, blank=True, default="", db_default="", editable=False
    )
    search_text = models.TextField(blank=True, editable=False, db_default="", default="")

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            # Every queue is one of these ranges, newest first (keyset on (created_at, id)).
            models.Index(fields=["owner", "status", "-created_at", "-id"], name="ticket_owner_queue"),
            models.Index(fields=["team", "status", "-created_at", "-id"], name="ticket_team_queue"),
            models.Index(fields=["status", "-created_at", "-id"], name="ticket_status_queue"),
            models.Index(fields=["-created_at", "-id"], name="ticket_created_id"),
            models.Index(
                fields=["team", "-created_at", "-id"],
                condition=models.Q(owner__isnull=True),
                name="ticket_unassigned",
            ),
            # "Breaching soon" and the escalation task: active tickets by the next due time.
            models.Index(fields=["resolution_due", "id"], name="ticket_resolution_due"),
            models.Index(fields=["first_response_due", "id"], name="ticket_response_due"),
            models.Index(fields=["company", "-created_at"], name="ticket_company"),
            models.Index(fields=["contact", "-created_at"], name="ticket_contact"),
            models.Index(fields=["priority", "-created_at", "-id"], name="ticket_priority"),
            models.Index(
                fields=["origin_message_id"], name="ticket_origin_message", condition=~models.Q(origin_message_id="")
            ),
            # The tickets naming one deal, newest first: the deal page's panel, the list's filter.
            models.Index(
                fields=["related_ref", "-created_at", "-id"], name="ticket_related", condition=~models.Q(related_ref="")
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.subject}"

    def save(self, *args, **kwargs):
        self.search_text = search_tokens(self.number, self.subject)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return record_url("tickets:ticket_detail", self.pk)

    def get_additional_data(self) -> dict | None:
        """What auditlog stores with the entry of this save: the event a service names on the
        instance (`ticket.audit_event = "sla_breach_reassign"`), labelled on the history."""
        event = getattr(self, "audit_event", "")
        return {"event": event} if event else None

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def related_pk(self) -> int | None:
        """The id of the deal `related_ref` names, or None (no reference, or not a deal's)."""
        label, _colon, pk = self.related_ref.partition(":")
        if label != RELATED_SOURCE or not (pk.isascii() and pk.isdigit()):
            return None
        return int(pk) if 0 < int(pk) <= _MAX_PK else None

    @cached_property
    def pauses(self) -> list[tuple[datetime, datetime | None]]:
        return [
            (
                datetime.fromisoformat(begin).astimezone(UTC),
                datetime.fromisoformat(end).astimezone(UTC) if end else None,
            )
            for begin, end in self.sla_pauses
        ]

    def next_due(self) -> datetime | None:
        """The nearer of the open targets: first response until it is given, then resolution."""
        if not self.is_active or self.status == self.Status.PENDING:
            return None
        dues = [self.resolution_due]
        if self.first_responded_at is None:
            dues.append(self.first_response_due)
        dues = [d for d in dues if d is not None]
        return min(dues) if dues else None


class Message(models.Model):
    """One entry of a ticket's conversation: the customer's message, an agent's public reply
    (mailed to the customer) or an internal note (staff only, never sent)."""

    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("From the customer")
        REPLY = "reply", _("Public reply")
        NOTE = "note", _("Internal note")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket"))
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    author_name = models.CharField(_("from"), max_length=200, blank=True)
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    # E-mail threading: the Message-ID of this message (sent or received), and delivery state.
    message_id = models.CharField(_("message id"), max_length=255, blank=True, editable=False)
    mailed_at = models.DateTimeField(_("mailed"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("ticket message")
        verbose_name_plural = _("ticket messages")
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="ticket_message_order"),
            models.Index(fields=["message_id"], name="ticket_message_id", condition=~models.Q(message_id="")),
        ]

    def __str__(self):
        return f"{self.ticket_id}: {self.get_kind_display()}"

    @property
    def is_public(self) -> bool:
        return self.kind != self.Kind.NOTE


ATTACHMENT_FOLDER = "tickets"
"""The storage folder holding attachments and nothing else (tickets.attachments sweeps it)."""


def attachment_path(instance: Attachment, filename: str) -> str:
    # The stored name is ours: the customer's file name is kept in `filename` only.
    now = datetime.now(UTC)
    return f"{ATTACHMENT_FOLDER}/{now.year}/{now.month:02d}/{instance.token}"


class Attachment(models.Model):
    """A file the customer or an agent sent: with a message, or (message empty) with the request
    that opened the ticket. Served only as a download (tickets.views.attachment_download)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("ticket"))
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments", verbose_name=_("message")
    )
    file = models.FileField(_("file"), upload_to=attachment_path, max_length=200)
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    token = models.CharField(max_length=32, unique=True, editable=False)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        # The sweep of files no row names looks a batch of stored names up at a time.
        indexes = [models.Index(fields=["file"], name="ticket_attachment_file")]

    def __str__(self):
        return self.filename

    def get_absolute_url(self):
        return reverse("tickets:attachment", args=[self.pk, self.token])


class Mailbox(models.Model):
    """An IMAP mailbox whose new messages become tickets (or replies on the ticket they answer)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    host = models.CharField(_("IMAP server"), max_length=200)
    port = models.PositiveIntegerField(_("port"), default=993, validators=[MaxValueValidator(65535)])
    use_ssl = models.BooleanField(_("use SSL/TLS"), default=True)
    username = models.CharField(_("user name"), max_length=200)
    password = EncryptedCharField(_("password"), max_length=200, blank=True)
    folder = models.CharField(_("folder"), max_length=100, default="INBOX")
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
        help_text=_("Receives what no assignment rule places."),
    )
    category = models.ForeignKey(
        Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("category")
    )
    contact_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("owner of new contacts"),
        help_text=_("Senders not yet in the CRM become contacts owned by this person."),
    )
    active = models.BooleanField(_("active"), default=True)
    last_checked_at = models.DateTimeField(_("last checked"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self):
        return self.name


class InboundMail(models.Model):
    """One message read from a mailbox, stored in the transaction that acts on it: a message is
    handled once even when the worker dies between reading it and marking it seen."""

    class Outcome(models.TextChoices):
        OPENED = "opened", _("Opened a ticket")
        THREADED = "threaded", _("Added to a ticket")
        AUTOMATIC = "automatic", _("Ignored: automatic reply or bounce")
        REFUSED = "refused", _("Refused")

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="+", verbose_name=_("mailbox"))
    message_id = models.CharField(_("message id"), max_length=255)
    sender = models.CharField(_("from"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("ticket")
    )
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("received e-mail")
        verbose_name_plural = _("received e-mails")
        constraints = [models.UniqueConstraint(fields=["mailbox", "message_id"], name="inbound_mail_once")]

    def __str__(self):
        return self.message_id


class CannedResponse(models.Model):
    """A ready answer agents insert into a reply. Merge fields: {customer}, {number}, {subject},
    {agent}; anything else in braces is left as written."""

    title = models.CharField(_("title"), max_length=100, unique=True)
    body = models.TextField(_("text"), help_text=_("Merge fields: {customer}, {number}, {subject}, {agent}."))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")

    def __str__(self):
        return self.title

    def render(self, *, ticket: Ticket, agent) -> str:
        values = {
            "{customer}": str(ticket.contact or ticket.company or ""),
            "{number}": ticket.number,
            "{subject}": ticket.subject,
            "{agent}": str(agent),
        }
        text = self.body
        for field, value in values.items():
            text = text.replace(field, value)
        return text


class TicketUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Ticket, on_delete=models.CASCADE)


class TicketGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Ticket, on_delete=models.CASCADE)


def warning_lead_time() -> timedelta:
    """How long before a due time the assignee is warned (TICKET_SLA_WARNING_MINUTES)."""
    return timedelta(minutes=int(getattr(settings, "TICKET_SLA_WARNING_MINUTES", 60)))
