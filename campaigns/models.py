"""Marketing campaigns: who is reached (segments), with what (the message), and what came of it
(one delivery per recipient and the events it collects).

Campaigns import customers, pipeline (conversions) and crm; nothing imports campaigns but
reports. A delivery row is written for every recipient before anything is sent and marked once
the SMTP server has taken the message, which is what makes a send resumable without duplicates
(campaigns/sending.py).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from crm.models import OwnedModel
from crm.record_urls import record_url
from customers.models import Contact
from pipeline.models import Lead, LeadSource


class Segment(OwnedModel):
    """An audience: a saved filter over contacts (dynamic) or a fixed list of them (static)."""

    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", _("Dynamic (saved filter)")
        STATIC = "static", _("Static list")

    class People(models.TextChoices):
        CONTACTS = "contacts", _("Contacts")
        LEADS = "leads", _("Leads")

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.DYNAMIC)
    # Who the segment holds: customers' contacts, or leads not yet qualified. Fixed once saved
    # (its conditions and members are of that kind).
    people = models.CharField(
        _("people"), max_length=10, choices=People.choices, default=People.CONTACTS, db_default=People.CONTACTS
    )
    # Validated by campaigns.segments.Criteria; the keys it knows, nothing else.
    criteria = models.JSONField(_("conditions"), default=dict, blank=True)
    members = models.ManyToManyField(
        Contact, through="SegmentMember", related_name="+", blank=True, verbose_name=_("members")
    )

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        indexes = [
            models.Index(fields=["owner", "-created_at", "-id"], name="segment_owner_recent"),
            models.Index(fields=["team", "-created_at", "-id"], name="segment_team_recent"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return record_url("campaigns:segment_detail", self.pk)

    @property
    def of_leads(self) -> bool:
        return self.people == self.People.LEADS

    @property
    def person_model(self):
        return Lead if self.of_leads else Contact

    @property
    def member_field(self) -> str:
        """The membership's (and a delivery's) column naming a person of this segment's kind."""
        return "lead_id" if self.of_leads else "contact_id"


ONE_PERSON = models.Q(contact__isnull=False, lead__isnull=True) | models.Q(contact__isnull=True, lead__isnull=False)


class SegmentMember(models.Model):
    """A contact (or, on a segment of leads, a lead) on a static segment."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    added_at = models.DateTimeField(_("added"), auto_now_add=True)

    class Meta:
        verbose_name = _("segment member")
        verbose_name_plural = _("segment members")
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="segment_member_unique"),
            models.UniqueConstraint(fields=["segment", "lead"], name="segment_member_lead_unique"),
            models.CheckConstraint(condition=ONE_PERSON, name="segment_member_one_person"),
        ]
        indexes = [
            models.Index(fields=["contact"], name="segment_member_contact"),
            models.Index(fields=["lead"], name="segment_member_lead", condition=models.Q(lead__isnull=False)),
        ]

    def __str__(self):
        return f"{self.segment_id}:{self.contact_id or self.lead_id}"


class Campaign(OwnedModel):
    """One message sent to one audience, and its results."""

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("campaign status", "Draft")
        SCHEDULED = "scheduled", pgettext_lazy("campaign status", "Scheduled")
        SENDING = "sending", pgettext_lazy("campaign status", "Sending")
        PAUSED = "paused", pgettext_lazy("campaign status", "Paused")
        SENT = "sent", pgettext_lazy("campaign status", "Sent")
        CANCELLED = "cancelled", pgettext_lazy("campaign status", "Cancelled")

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("Text message (SMS)")

    EDITABLE_STATUSES = (Status.DRAFT, Status.SCHEDULED)
    RUNNING_STATUSES = (Status.SENDING, Status.PAUSED)

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    segment = models.ForeignKey(
        Segment, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("audience")
    )
    exclude_segments = models.ManyToManyField(
        Segment, blank=True, related_name="+", verbose_name=_("leave out"), help_text=_("Nobody in these is sent to.")
    )
    from_name = models.CharField(_("sender name"), max_length=100, blank=True)
    reply_to = models.EmailField(_("reply to"), blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    preheader = models.CharField(
        _("preheader"), max_length=255, blank=True, help_text=_("The line mail clients show after the subject.")
    )
    html_body = models.TextField(_("HTML message"), blank=True)
    text_body = models.TextField(
        _("plain-text message"), blank=True, help_text=_("Made from the HTML message when left empty.")
    )
    sms_body = models.TextField(
        _("text message"),
        blank=True,
        help_text=_("For SMS campaigns. The opt-out line is added at the end."),
    )
    # The same message in a second language, for contacts who prefer it (used when written).
    second_language = models.CharField(
        _("second language"), max_length=10, blank=True, default="en", choices=settings.LANGUAGES
    )
    second_subject = models.CharField(_("subject (second language)"), max_length=255, blank=True)
    second_preheader = models.CharField(_("preheader (second language)"), max_length=255, blank=True)
    second_html_body = models.TextField(_("HTML message (second language)"), blank=True)
    second_text_body = models.TextField(_("plain-text message (second language)"), blank=True)
    # A subject test: a share of the recipients gets one of two subjects; after the wait, the
    # rest get the subject with the better open (or click) rate.
    subject_b = models.CharField(
        _("second subject to test"),
        max_length=255,
        blank=True,
        help_text=_("Leave empty for no test. Recipients in the second language are not part of the test."),
    )
    ab_share = models.PositiveSmallIntegerField(
        _("test share (%)"),
        default=20,
        validators=[MinValueValidator(2), MaxValueValidator(50)],
        help_text=_("Of the recipients, half get each subject; the rest wait for the winner."),
    )
    ab_hours = models.PositiveSmallIntegerField(
        _("test time (hours)"), default=4, validators=[MinValueValidator(1), MaxValueValidator(168)]
    )
    ab_metric = models.CharField(
        _("winner by"),
        max_length=10,
        default="open",
        choices=[("open", _("Open rate")), ("click", _("Click rate"))],
    )
    ab_winner = models.CharField(_("winning subject"), max_length=1, blank=True, editable=False)
    ab_decided_at = models.DateTimeField(_("test decided"), null=True, blank=True, editable=False)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True, editable=False)
    # Every recipient has its delivery row (the audience was read once, at the start).
    prepared_at = models.DateTimeField(_("recipients listed"), null=True, blank=True, editable=False)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True, editable=False)
    # Touched by every batch of a running send; a send silent for minutes is picked up again.
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=2, default=Decimal("0"))
    lead_source = models.ForeignKey(
        LeadSource,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("source of its leads"),
        help_text=_(
            "Leads who fill in a web form reached through this campaign's links get this source "
            "(empty: the source named “campaign”) and the campaign itself as their origin."
        ),
    )
    conversion_days = models.PositiveSmallIntegerField(
        _("conversion window (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("A deal won within this many days of an open or click counts as a conversion."),
    )
    # Frozen when the send starts: the only addresses the click redirect may lead to.
    links = models.JSONField(_("links"), default=list, blank=True, editable=False)
    # The CRM's address the tracking links use when SITE_URL is not set: the one the send was
    # started from.
    link_base = models.CharField(_("address of the links"), max_length=200, blank=True, editable=False)
    # Kept by the send as it goes (one UPDATE per batch), so the page never counts deliveries.
    recipient_count = models.PositiveIntegerField(_("recipients"), default=0, editable=False)
    sent_count = models.PositiveIntegerField(_("sent"), default=0, editable=False)
    failed_count = models.PositiveIntegerField(_("failed"), default=0, editable=False)
    suppressed_count = models.PositiveIntegerField(_("left out"), default=0, editable=False)
    # Kept by the tracking endpoints on each first open, click, unsubscribe and hard bounce.
    opened_count = models.PositiveIntegerField(_("opened"), default=0, editable=False)
    clicked_count = models.PositiveIntegerField(_("clicked"), default=0, editable=False)
    unsubscribed_count = models.PositiveIntegerField(_("unsubscribed"), default=0, editable=False)
    bounced_count = models.PositiveIntegerField(_("bounced"), default=0, editable=False)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        indexes = [
            models.Index(fields=["owner", "-created_at", "-id"], name="campaign_owner_recent"),
            models.Index(fields=["team", "-created_at", "-id"], name="campaign_team_recent"),
            models.Index(fields=["status", "scheduled_at"], name="campaign_status_due"),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return record_url("campaigns:campaign_detail", self.pk)

    @property
    def editable(self) -> bool:
        return self.status in self.EDITABLE_STATUSES

    @property
    def is_sms(self) -> bool:
        return self.channel == self.Channel.SMS

    @property
    def testing_subject(self) -> bool:
        return not self.is_sms and bool(self.subject_b.strip())

    def ab_decision_due(self):
        """When the subject test's winner is chosen (None: no test, or already chosen)."""
        if not self.testing_subject or self.ab_winner or self.started_at is None:
            return None
        from datetime import timedelta

        return self.started_at + timedelta(hours=self.ab_hours)

    @property
    def percent(self) -> int:
        """How much of the send is done (sent, failed or left out), 0–100."""
        if not self.recipient_count:
            return 100 if self.status == self.Status.SENT else 0
        done = self.sent_count + self.failed_count + self.suppressed_count
        return min(100, done * 100 // self.recipient_count)

    @property
    def remaining(self) -> int:
        return max(0, self.recipient_count - self.sent_count - self.failed_count - self.suppressed_count)


class Delivery(models.Model):
    """One recipient of one campaign: written before sending, marked after (exactly once)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        HELD = "held", _("Waiting for the subject test")
        SENT = "sent", pgettext_lazy("delivery status", "Sent")
        FAILED = "failed", _("Failed")
        SUPPRESSED = "suppressed", _("Left out")
        BOUNCED = "bounced", _("Bounced")

    class Reason(models.TextChoices):
        NONE = "", "—"
        NO_EMAIL = "no_email", _("No e-mail address")
        NO_CONSENT = "no_consent", _("No consent to marketing e-mail")
        NO_MOBILE = "no_mobile", _("No mobile number")
        NO_SMS_CONSENT = "no_sms_consent", _("No consent to marketing SMS")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        DO_NOT_CONTACT = "do_not_contact", _("Do not contact")
        BOUNCED = "bounced", _("Address bounced before")
        DUPLICATE = "duplicate", _("Same address as another recipient")
        EXCLUDED = "excluded", _("In a left-out segment")
        NOT_VISIBLE = "not_visible", _("Out of the sender's reach")
        CONVERTED = "converted", _("Lead converted to a contact")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    # The recipient: a contact, or a lead when the audience is a segment of leads.
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    email = models.EmailField(_("e-mail"), blank=True)
    email_key = models.CharField(max_length=64, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    variant = models.CharField(_("subject"), max_length=1, blank=True, default="")  # "a" or "b" in a subject test
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    message_id = models.CharField(_("message id"), max_length=255, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    # Reported by the SMS provider (text messages have no open pixel).
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    opened_at = models.DateTimeField(_("first opened"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("first clicked"), null=True, blank=True)
    unsubscribed_at = models.DateTimeField(_("unsubscribed"), null=True, blank=True)
    bounced_at = models.DateTimeField(_("bounced"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact"], name="delivery_once_per_contact"),
            models.UniqueConstraint(fields=["campaign", "lead"], name="delivery_once_per_lead"),
            models.CheckConstraint(condition=ONE_PERSON, name="delivery_one_person"),
            # One message per address, whatever lists it (two contacts sharing it, two listings
            # racing): the database refuses a second live row.
            models.UniqueConstraint(
                fields=["campaign", "email_key"],
                name="delivery_once_per_address",
                condition=models.Q(status__in=["queued", "held", "sent"]) & ~models.Q(email_key=""),
            ),
        ]
        indexes = [
            # The sender claims the next queued rows of a campaign in id order.
            models.Index(fields=["campaign", "status", "id"], name="delivery_campaign_status"),
            models.Index(fields=["contact"], name="delivery_contact"),
            models.Index(fields=["lead"], name="delivery_lead", condition=models.Q(lead__isnull=False)),
            models.Index(fields=["message_id"], name="delivery_message_id"),
        ]

    def __str__(self):
        return f"{self.campaign_id} → {self.email or self.contact_id or self.lead_id}"

    @property
    def person(self):
        """The recipient, contact or lead (select_related both where many are read)."""
        return self.contact if self.contact_id else self.lead


class Event(models.Model):
    """Something that happened to a delivery: sent, opened, clicked, unsubscribed, bounced."""

    class Kind(models.TextChoices):
        SENT = "sent", pgettext_lazy("campaign event", "Sent")
        FAILED = "failed", pgettext_lazy("campaign event", "Failed")
        OPEN = "open", pgettext_lazy("campaign event", "Opened")
        CLICK = "click", pgettext_lazy("campaign event", "Clicked")
        UNSUBSCRIBE = "unsubscribe", pgettext_lazy("campaign event", "Unsubscribed")
        BOUNCE = "bounce", pgettext_lazy("campaign event", "Bounced")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=12, choices=Kind.choices)
    at = models.DateTimeField(_("when"), auto_now_add=True)
    url = models.URLField(_("link"), max_length=2000, blank=True)
    # Opened by a mail provider's image proxy (fetches every image on delivery), not by a person.
    proxied = models.BooleanField(_("by an image proxy"), default=False)

    class Meta:
        verbose_name = _("campaign event")
        verbose_name_plural = _("campaign events")
        indexes = [
            models.Index(fields=["campaign", "kind", "at"], name="campaign_event_kind"),
            models.Index(fields=["delivery", "kind"], name="campaign_event_delivery"),
            models.Index(fields=["campaign"], name="campaign_event_proxied", condition=models.Q(proxied=True)),
            # The campaign page's latest responses, without walking one "sent" event per recipient.
            models.Index(
                fields=["campaign", "-at", "-id"], name="campaign_event_responses", condition=~models.Q(kind="sent")
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.delivery_id}"


class Suppression(models.Model):
    """An address no campaign may mail again: it unsubscribed, bounced hard or complained.
    Keyed by the e-mail blind index, so it holds for every contact and lead with the address."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")
        BOUNCED = "bounced", _("Hard bounce")
        COMPLAINED = "complained", _("Marked as spam")

    # Unique through Meta.constraints rather than unique=True, which on PostgreSQL adds a second
    # `..._like` index for LIKE 'x%': the key is only ever compared by equality or IN.
    email_key = models.CharField(max_length=64)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("campaign")
    )
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("suppressed address")
        verbose_name_plural = _("suppressed addresses")
        constraints = [models.UniqueConstraint(fields=["email_key"], name="suppression_email_key_unique")]

    def __str__(self):
        return f"{self.get_reason_display()} · {date_format(timezone.localtime(self.created_at), 'SHORT_DATE_FORMAT')}"


class SegmentUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Segment, on_delete=models.CASCADE)


class SegmentGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Segment, on_delete=models.CASCADE)


class CampaignUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Campaign, on_delete=models.CASCADE)


class CampaignGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Campaign, on_delete=models.CASCADE)


def send_batch_size() -> int:
    return int(getattr(settings, "CAMPAIGN_BATCH_SIZE", 200))
