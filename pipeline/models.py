"""The sales pipeline: leads, opportunities through configurable stages, tasks, quotas.

Pipeline imports customers (companies, contacts) and crm; never the reverse. Stage history is
rows (`StageChange`), the basis of velocity, aging and stale-deal checks.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Now
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from crm.models import OwnedModel, Team
from crm.people import Person
from crm.record_urls import record_url
from crm.search import search_tokens
from customers.models import Company, Contact

CURRENCY = RegexValidator(r"^[A-Z]{3}$", _("Use a three-letter currency code such as CNY."))
PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class LeadSource(models.Model):
    """Where leads come from; the list is configured in the admin site."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("lead source")
        verbose_name_plural = _("lead sources")

    def __str__(self):
        return self.name


class Lead(OwnedModel, Person):
    """A prospective customer not yet qualified: a person (see Person), their company, how they reached us."""

    class Status(models.TextChoices):
        NEW = "new", pgettext_lazy("lead status", "New")
        CONTACTED = "contacted", _("Contacted")
        QUALIFIED = "qualified", _("Qualified")
        DISQUALIFIED = "disqualified", _("Disqualified")
        CONVERTED = "converted", _("Converted")

    company_name = models.CharField(_("company"), max_length=200, blank=True)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    province = models.CharField(_("province / state"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    website = models.URLField(_("website"), blank=True)
    source = models.ForeignKey(
        LeadSource, on_delete=models.PROTECT, null=True, blank=True, related_name="leads", verbose_name=_("source")
    )
    web_form = models.ForeignKey(
        "WebForm", on_delete=models.SET_NULL, null=True, blank=True, related_name="leads", verbose_name=_("web form")
    )
    # What brought the lead, written by the module that did ("campaigns.campaign:42"); pipeline
    # does not read it, the module shows and counts its own through `leads_from`.
    source_ref = models.CharField(_("origin"), max_length=100, blank=True, default="", db_default="", editable=False)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NEW)
    disqualified_reason = models.CharField(_("reason for disqualifying"), max_length=200, blank=True)
    score = models.IntegerField(_("score"), default=0, db_default=0)
    notes = models.TextField(_("notes"), blank=True)
    converted_company = models.ForeignKey(
        Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("company")
    )
    converted_contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("contact")
    )
    converted_opportunity = models.ForeignKey(
        "Opportunity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("opportunity"),
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)
    search_text = models.TextField(blank=True, editable=False, db_default="", default="")

    class Meta(Person.Meta):
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        permissions = [("reveal_sensitive", _("Can reveal sensitive fields"))]
        indexes = [
            *Person.Meta.indexes,  # the blind indexes, replaced by this list otherwise
            models.Index(fields=["owner", "id"], name="lead_owner_id"),
            models.Index(fields=["team", "id"], name="lead_team_id"),
            models.Index(fields=["display_name", "id"], name="lead_name_id"),
            models.Index(fields=["created_at", "id"], name="lead_created_id"),
            models.Index(fields=["score", "id"], name="lead_score_id"),
            models.Index(fields=["status", "id"], name="lead_status_id"),
            models.Index(fields=["source_ref"], name="lead_source_ref", condition=~models.Q(source_ref="")),
        ]

    def name_fallback(self) -> str:
        return self.company_name

    def refresh_derived_fields(self) -> tuple[str, ...]:
        derived = super().refresh_derived_fields()
        self.search_text = search_tokens(self.display_name, self.company_name, self.email)
        return (*derived, "search_text")

    def get_absolute_url(self):
        return record_url("pipeline:lead_detail", self.pk)


class ScoringRule(models.Model):
    """Points a lead earns for a field value or for something it did (configured in the admin site)."""

    class Kind(models.TextChoices):
        FIELD = "field", _("Field value")
        EVENT = "event", _("Behaviour")

    class Event(models.TextChoices):
        WEB_FORM = "web_form", _("Submitted a web form")
        CAMPAIGN_OPEN = "campaign_open", _("Opened a campaign email")
        CAMPAIGN_CLICK = "campaign_click", _("Clicked a campaign link")

    FIELDS = [
        ("source", _("Source")),
        ("industry", _("Industry")),
        ("city", _("City")),
        ("province", _("Province / state")),
        ("title", _("Job title")),
        ("has_email", _("Has an email address")),
        ("has_phone", _("Has a phone number")),
    ]

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.FIELD)
    field = models.CharField(_("field"), max_length=20, choices=FIELDS, blank=True)
    value = models.CharField(
        _("value"), max_length=100, blank=True, help_text=_("Matched without regard to case; source by its code.")
    )
    event = models.CharField(_("event"), max_length=20, choices=Event.choices, blank=True)
    points = models.IntegerField(_("points"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "field", "value"]
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")

    def __str__(self):
        return self.name


class LeadEvent(models.Model):
    """Something a lead did that scoring rules may reward (a web-form submission, a campaign click)."""

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events", verbose_name=_("lead"))
    event = models.CharField(_("event"), max_length=20, choices=ScoringRule.Event.choices)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("lead event")
        verbose_name_plural = _("lead events")
        indexes = [models.Index(fields=["lead", "event"], name="lead_event_lead")]

    def __str__(self):
        return f"{self.lead} {self.event}"


class AssignmentRule(models.Model):
    """Which team receives new leads that match; the first matching rule by order wins."""

    class Method(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_LOADED = "least_loaded", _("Fewest open leads")

    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    source = models.ForeignKey(
        LeadSource,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("source"),
        help_text=_("Empty: any source."),
    )
    region = models.CharField(_("province or city"), max_length=100, blank=True, help_text=_("Empty: any region."))
    industry = models.CharField(_("industry"), max_length=100, blank=True, help_text=_("Empty: any industry."))
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+", verbose_name=_("team"))
    method = models.CharField(_("method"), max_length=20, choices=Method.choices, default=Method.ROUND_ROBIN)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")

    def __str__(self):
        return self.name


class RoundRobinState(models.Model):
    """The last rep a team's round robin gave a lead to; locked with SELECT … FOR UPDATE."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="+", primary_key=True)
    last_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        verbose_name = _("round-robin position")
        verbose_name_plural = _("round-robin positions")

    def __str__(self):
        return f"{self.team_id} → {self.last_user_id}"


class WebForm(models.Model):
    """A public web-to-lead form, embeddable on the company's website."""

    FIELD_CHOICES = [
        ("family_name", _("Family name")),
        ("given_name", _("Given name")),
        ("company_name", _("Company")),
        ("title", _("Job title")),
        ("email", _("Email")),
        ("phone", _("Phone")),
        ("mobile", _("Mobile")),
        ("city", _("City")),
        ("industry", _("Industry")),
        ("notes", _("Message")),
        ("email_opt_in", _("I agree to receive marketing e-mail")),
    ]

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("address"), max_length=50, unique=True)
    fields = models.JSONField(_("fields"), default=list, help_text=_("Field names the form asks for."))
    required_fields = models.JSONField(_("required fields"), default=list, blank=True)
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("team"),
        help_text=_("Empty: the assignment rules decide."),
    )
    source = models.ForeignKey(LeadSource, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("source"))
    title = models.CharField(_("heading"), max_length=200, blank=True)
    thank_you_text = models.TextField(_("thank-you text"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("pipeline:web_form", args=[self.slug])


class Pipeline(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_default = models.BooleanField(_("default"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "name"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self):
        return self.name


class Stage(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", pgettext_lazy("deal outcome", "Open")
        WON = "won", pgettext_lazy("deal outcome", "Won")
        LOST = "lost", pgettext_lazy("deal outcome", "Lost")

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages", verbose_name=_("pipeline"))
    name = models.CharField(_("name"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(_("win probability (%)"), default=10, validators=PERCENT)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.OPEN)
    stale_after_days = models.PositiveSmallIntegerField(
        _("stale after (days)"), null=True, blank=True, help_text=_("Flag deals that stay longer in this stage.")
    )

    class Meta:
        ordering = ["pipeline", "order", "pk"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [models.UniqueConstraint(fields=["pipeline", "name"], name="stage_unique_name")]

    def __str__(self):
        return f"{self.pipeline} · {self.name}"


class LostReason(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")

    def __str__(self):
        return self.name


class Opportunity(OwnedModel):
    """A deal: a customer, an amount, and the stage it has reached in a pipeline."""

    name = models.CharField(_("name"), max_length=200)
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("company")
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
        verbose_name=_("contact"),
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="+", verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities", verbose_name=_("stage"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, default="CNY", validators=[CURRENCY])
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"),
        null=True,
        blank=True,
        validators=PERCENT,
        help_text=_("Empty: the stage's probability."),
    )
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    next_step_date = models.DateField(_("next step date"), null=True, blank=True)
    lost_reason = models.ForeignKey(
        LostReason, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("lost reason")
    )
    source_lead = models.ForeignKey(
        Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("source lead")
    )
    won_at = models.DateTimeField(_("won"), null=True, blank=True)
    lost_at = models.DateTimeField(_("lost"), null=True, blank=True)
    stage_changed_at = models.DateTimeField(_("in stage since"), default=timezone.now, db_default=Now())
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now, db_default=Now())
    search_text = models.TextField(blank=True, editable=False, db_default="", default="")

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        permissions = [("export_records", _("Can export opportunities"))]
        indexes = [
            models.Index(fields=["owner", "id"], name="opp_owner_id"),
            models.Index(fields=["team", "id"], name="opp_team_id"),
            models.Index(fields=["name", "id"], name="opp_name_id"),
            models.Index(fields=["created_at", "id"], name="opp_created_id"),
            models.Index(fields=["stage", "-amount", "-id"], name="opp_stage_amount"),
            models.Index(fields=["pipeline", "expected_close_date"], name="opp_pipeline_close"),
            models.Index(fields=["company", "id"], name="opp_company_id"),
            models.Index(fields=["contact", "id"], name="opp_contact_id"),
            models.Index(fields=["expected_close_date", "id"], name="opp_close_id"),
            models.Index(fields=["amount", "id"], name="opp_amount_id"),
            models.Index(fields=["next_step_date"], name="opp_next_step_date"),
            # The board's per-stage totals read only this index (an index-only scan), whatever the filters.
            models.Index(
                fields=["pipeline", "stage"],
                include=["amount", "probability", "owner", "team", "expected_close_date"],
                name="opp_board_totals",
            ),
            # One rep's or one team's board: totals from a short index-only range, each column's first cards in order.
            models.Index(
                fields=["owner", "pipeline", "stage", "-amount", "-id"],
                include=["probability", "team", "expected_close_date"],
                name="opp_board_owner",
            ),
            models.Index(
                fields=["team", "pipeline", "stage", "-amount", "-id"],
                include=["probability", "owner", "expected_close_date"],
                name="opp_board_team",
            ),
            models.Index(fields=["last_activity_at", "id"], name="opp_activity_id"),
            models.Index(fields=["stage", "stage_changed_at"], name="opp_stage_since"),
            # The forecast's "won in period": only won deals carry a date.
            models.Index(fields=["won_at"], name="opp_won_at", condition=models.Q(won_at__isnull=False)),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.search_text = search_tokens(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return record_url("pipeline:opportunity_detail", self.pk)

    @property
    def effective_probability(self) -> int:
        return self.probability if self.probability is not None else self.stage.probability

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.effective_probability / Decimal(100)).quantize(Decimal("0.01"))


class StageChange(models.Model):
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes", verbose_name=_("opportunity")
    )
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("from")
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", verbose_name=_("to"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("by")
    )
    changed_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [models.Index(fields=["opportunity", "-changed_at"], name="stage_change_opp")]

    def __str__(self):
        return f"{self.opportunity}: {self.from_stage} → {self.to_stage}"


# Keys of a StageTotal cell that stand for "none": a unique constraint treats NULLs as distinct,
# so an upsert could not find the cell of deals without a team, probability or date.
NO_KEY = 0
NO_PROBABILITY = -1
NO_MONTH = datetime.date(1, 1, 1)


class StageTotal(models.Model):
    """How many deals and what amount sit in one cell of (stage, team, owner, expected close
    month, own probability, month won). The board's column totals and the forecast add up these
    cells instead of every deal: a few thousand rows at a million deals.

    Derived data, kept by `pipeline.stage_totals` as deals are saved (same transaction) and
    reconciled nightly; not audited, since the deals it sums are. Team and owner are plain
    numbers, not foreign keys: the cell outlives nothing (teams and owners with deals cannot be
    deleted) and must not cascade.
    """

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    team_key = models.IntegerField(default=NO_KEY)
    owner_key = models.IntegerField(default=NO_KEY)
    close_month = models.DateField(default=NO_MONTH)
    probability_key = models.SmallIntegerField(default=NO_PROBABILITY)
    won_month = models.DateField(default=NO_MONTH)
    deals = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("0"))

    class Meta:
        verbose_name = _("stage total")
        verbose_name_plural = _("stage totals")
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "team_key", "owner_key", "close_month", "probability_key", "won_month"],
                name="stage_total_cell",
            )
        ]
        indexes = [
            models.Index(fields=["owner_key"], name="stage_total_owner"),
            models.Index(fields=["team_key"], name="stage_total_team"),
        ]

    def __str__(self):
        return f"{self.stage_id}/{self.team_key}/{self.owner_key}/{self.close_month}: {self.deals}"


class Task(OwnedModel):
    """A to-do, call or meeting, due at a time, for the owner (the assignee)."""

    class Kind(models.TextChoices):
        TASK = "task", pgettext_lazy("task kind", "Task")
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("task status", "Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.TASK)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    due_at = models.DateTimeField(_("due"))
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=30)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("company")
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("contact")
    )
    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks", verbose_name=_("lead")
    )
    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
        verbose_name=_("opportunity"),
    )

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="task_owner_due"),
            models.Index(fields=["team", "status", "due_at"], name="task_team_due"),
            models.Index(fields=["status", "due_at"], name="task_status_due"),
            models.Index(fields=["company", "due_at"], name="task_company_due"),
            models.Index(fields=["opportunity", "due_at"], name="task_opp_due"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return record_url("pipeline:task_detail", self.pk)


class Quota(models.Model):
    """A sales target for one user in one month (quarters add up their months)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quotas", verbose_name=_("user")
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY", validators=[CURRENCY])

    class Meta:
        ordering = ["-month", "user"]
        verbose_name = _("quota")
        verbose_name_plural = _("quotas")
        constraints = [models.UniqueConstraint(fields=["user", "month"], name="quota_unique_month")]

    def __str__(self):
        return f"{self.user} {date_format(self.month, 'YEAR_MONTH_FORMAT')}"


class ReminderDelivery(models.Model):
    """One reminder email sent: the unique key makes each reminder go out once, even on retries."""

    key = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")

    def __str__(self):
        return self.key


class CalendarFeed(models.Model):
    """A user's secret, revocable iCalendar feed address (calendar clients send no cookies)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self):
        return str(self.user)


class LeadUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Lead, on_delete=models.CASCADE)


class LeadGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Lead, on_delete=models.CASCADE)


class OpportunityUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Opportunity, on_delete=models.CASCADE)


class OpportunityGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Opportunity, on_delete=models.CASCADE)


class TaskUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Task, on_delete=models.CASCADE)


class TaskGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Task, on_delete=models.CASCADE)
