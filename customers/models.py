"""The customer information centre: companies, contacts, their history and purchases.

Lists sort by keyset over (column, id) indexes, so every sortable column is NOT NULL.
`search_text` holds application-built search tokens (see `crm.search`) behind a GIN index
created by a PostgreSQL-only migration.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from crm.fields import (
    BlindIndexField,
    EncryptedCharField,
    normalize_phone,
    normalize_tax_id,
)
from crm.models import Job, OwnedModel
from crm.people import Person
from crm.record_urls import record_url
from crm.search import search_tokens
from crm.storage import SealedFileStorage


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    colour = models.CharField(
        _("colour"),
        max_length=7,
        default="#6c757d",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour such as #1f77b4."))],
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self):
        return self.name


class Source(models.TextChoices):
    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    TRADE_SHOW = "trade_show", _("Trade show")
    CAMPAIGN = "campaign", _("Campaign")
    PHONE = "phone", _("Phone")
    IMPORT = "import", _("Import")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


class Company(OwnedModel):
    """A customer organisation."""

    class Lifecycle(models.TextChoices):
        POTENTIAL = "potential", _("Potential")
        ACTIVE = "active", _("Active")
        KEY = "key", _("Key account")
        DORMANT = "dormant", _("Dormant")
        LOST = "lost", pgettext_lazy("customer lifecycle", "Lost")

    class SizeBand(models.TextChoices):
        MICRO = "1-9", _("1–9 employees")
        SMALL = "10-49", _("10–49 employees")
        MEDIUM = "50-249", _("50–249 employees")
        LARGE = "250-999", _("250–999 employees")
        ENTERPRISE = "1000+", _("1000+ employees")

    name = models.CharField(_("name"), max_length=200)
    legal_name = models.CharField(_("legal name"), max_length=200, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size_band = models.CharField(_("size"), max_length=10, choices=SizeBand.choices, blank=True)
    website = models.URLField(_("website"), blank=True)
    website_domain = models.CharField(_("website domain"), max_length=200, blank=True, editable=False)
    country = models.CharField(_("country"), max_length=2, blank=True, default="CN", help_text=_("ISO code"))
    province = models.CharField(_("province / state"), max_length=100, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    street = models.CharField(_("street address"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20, blank=True)
    # Encrypted at rest; found by exact match through the blind index (see docs/encryption.md).
    phone = EncryptedCharField(
        _("phone"), max_length=40, blank=True, blind_index="phone_bidx", normalizer=normalize_phone
    )
    tax_id = EncryptedCharField(
        _("tax ID"), max_length=40, blank=True, blind_index="tax_id_bidx", normalizer=normalize_tax_id
    )
    phone_bidx = BlindIndexField()
    tax_id_bidx = BlindIndexField()
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, blank=True)
    lifecycle = models.CharField(
        _("lifecycle status"), max_length=20, choices=Lifecycle.choices, default=Lifecycle.POTENTIAL
    )
    grade = models.CharField(_("grade"), max_length=2, blank=True, db_default="", default="")
    grade_reason = models.JSONField(_("grade reason"), default=dict, blank=True, editable=False)
    graded_at = models.DateTimeField(_("graded"), null=True, blank=True, editable=False)
    lifetime_value = models.DecimalField(
        _("lifetime value"),
        max_digits=16,
        decimal_places=2,
        default=Decimal("0"),
        db_default=Decimal("0"),
        editable=False,
    )
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now, db_default=Now(), editable=False)
    external_id = models.CharField(_("external ID"), max_length=100, blank=True, db_default="", default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies", verbose_name=_("tags"))
    search_text = models.TextField(blank=True, editable=False, db_default="", default="")

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        permissions = [
            ("reveal_sensitive", _("Can reveal sensitive fields")),
            ("export_records", _("Can export customer records")),
        ]
        indexes = [
            models.Index(fields=["owner", "id"], name="company_owner_id"),
            models.Index(fields=["team", "id"], name="company_team_id"),
            models.Index(fields=["name", "id"], name="company_name_id"),
            models.Index(fields=["created_at", "id"], name="company_created_id"),
            models.Index(fields=["last_activity_at", "id"], name="company_activity_id"),
            models.Index(fields=["lifetime_value", "id"], name="company_value_id"),
            models.Index(fields=["grade", "id"], name="company_grade_id"),
            models.Index(fields=["lifecycle", "id"], name="company_lifecycle_id"),
            models.Index(fields=["industry", "id"], name="company_industry_id"),
            models.Index(fields=["city", "id"], name="company_city_id"),
            models.Index(fields=["website_domain"], name="company_domain"),
            models.Index(fields=["external_id"], name="company_external_id"),
            # Blind indexes: equality only, so a plain btree and no LIKE index (see BlindIndexField).
            models.Index(fields=["phone_bidx"], name="company_phone_bidx"),
            models.Index(fields=["tax_id_bidx"], name="company_tax_id_bidx"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.website_domain = website_domain(self.website)
        self.search_text = search_tokens(self.name, self.legal_name, self.website_domain)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "website_domain", "search_text"}
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return record_url("customers:company_detail", self.pk)


class Contact(OwnedModel, Person):
    """A person: at a customer company, or an individual customer (names, e-mail, phones, consent: Person)."""

    title = models.CharField(_("job title"), max_length=100, blank=True)
    company = models.ForeignKey(
        Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="contacts", verbose_name=_("company")
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    last_activity_at = models.DateTimeField(_("last activity"), default=timezone.now, db_default=Now(), editable=False)
    external_id = models.CharField(_("external ID"), max_length=100, blank=True, db_default="", default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts", verbose_name=_("tags"))
    search_text = models.TextField(blank=True, editable=False, db_default="", default="")

    class Meta(Person.Meta):
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        permissions = [
            ("reveal_sensitive", _("Can reveal sensitive fields")),
            ("export_records", _("Can export customer records")),
        ]
        indexes = [
            *Person.Meta.indexes,  # the blind indexes, replaced by this list otherwise
            # A rep's contact list, by name: the first page straight from the index.
            models.Index(fields=["owner", "display_name", "id"], name="contact_owner_name"),
            models.Index(fields=["team", "id"], name="contact_team_id"),
            models.Index(fields=["display_name", "id"], name="contact_name_id"),
            models.Index(fields=["created_at", "id"], name="contact_created_id"),
            models.Index(fields=["last_activity_at", "id"], name="contact_activity_id"),
            models.Index(fields=["company", "display_name", "id"], name="contact_company_name"),
            models.Index(fields=["external_id"], name="contact_external_id"),
        ]

    def refresh_derived_fields(self) -> tuple[str, ...]:
        derived = super().refresh_derived_fields()
        self.search_text = search_tokens(self.display_name, self.email)
        return (*derived, "search_text")

    def get_absolute_url(self):
        return record_url("customers:contact_detail", self.pk)


class Interaction(models.Model):
    """One entry in a customer's history. Other modules write here only through
    `customers.services.record_interaction`."""

    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        CALL = "call", _("Call")
        MEETING = "meeting", _("Meeting")
        VISIT = "visit", _("Visit")
        EMAIL = "email", pgettext_lazy("interaction kind", "Email")
        ORDER = "order", _("Order")
        TICKET = "ticket", _("Ticket event")
        CAMPAIGN = "campaign", _("Campaign event")
        OPPORTUNITY = "opportunity", _("Opportunity event")

    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, default=Kind.NOTE)
    occurred_at = models.DateTimeField(_("when"))
    summary = models.CharField(_("summary"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    company = models.ForeignKey(
        Company,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="interactions",
        verbose_name=_("company"),
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="interactions",
        verbose_name=_("contact"),
    )
    # Where an entry written by another module came from, e.g. "pipeline.opportunity:42".
    source_ref = models.CharField(_("written by"), max_length=100, blank=True, editable=False)
    # The record the entry is about when it is not the customer itself (a deal, a task, an order).
    # A timeline shows the entry only to those who may see it, when it is an owned record.
    subject_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        db_index=False,  # led by the (subject_type, subject_id) index
        related_name="+",
        verbose_name=_("related record type"),
    )
    subject_id = models.BigIntegerField(_("related record ID"), null=True, blank=True, editable=False)
    subject = GenericForeignKey("subject_type", "subject_id")
    link = models.CharField(_("link"), max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(fields=["company", "-occurred_at", "-id"], name="interaction_company_time"),
            models.Index(fields=["contact", "-occurred_at", "-id"], name="interaction_contact_time"),
            models.Index(fields=["source_ref"], name="interaction_source"),
            models.Index(fields=["subject_type", "subject_id"], name="interaction_subject"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(company__isnull=False) | models.Q(contact__isnull=False),
                name="interaction_has_customer",
            ),
            models.CheckConstraint(
                condition=models.Q(subject_type__isnull=True, subject_id__isnull=True)
                | models.Q(subject_type__isnull=False, subject_id__isnull=False),
                name="interaction_subject_whole",
            ),
        ]

    def __str__(self):
        return self.summary


class Transaction(models.Model):
    """A purchase or order of a customer: the basis of its grade and lifetime value."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="transactions", verbose_name=_("company")
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="transactions",
        verbose_name=_("contact"),
    )
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default="CNY",
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Use a three-letter currency code such as CNY."))],
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PAID)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        indexes = [models.Index(fields=["company", "-date", "-id"], name="transaction_company_date")]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "reference"],
                condition=~models.Q(reference=""),
                name="transaction_unique_reference",
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="transaction_amount_not_negative"),
        ]

    def __str__(self):
        return f"{date_format(self.date, 'SHORT_DATE_FORMAT')} {self.amount} {self.currency}"


class GradeLevel(models.Model):
    """A grade and the RFM score it starts at; configured in the admin site."""

    class Tier(models.TextChoices):
        IMPORTANT = "important", pgettext_lazy("customer class", "Important")
        GENERAL = "general", pgettext_lazy("customer class", "General")
        POTENTIAL = "potential", pgettext_lazy("customer class", "Potential")

    code = models.CharField(_("grade"), max_length=2, unique=True)
    label = models.CharField(_("label"), max_length=50)
    tier = models.CharField(_("customer class"), max_length=20, choices=Tier.choices)
    min_score = models.PositiveSmallIntegerField(_("minimum RFM score"), help_text=_("From 3 to 15."))

    class Meta:
        ordering = ["-min_score"]
        verbose_name = _("grade level")
        verbose_name_plural = _("grade levels")

    def __str__(self):
        return f"{self.code} · {self.label}"


class GradingPolicy(models.Model):
    """How recency, frequency and monetary value are scored 1–5 (one row, edited in the admin site).

    Each list holds four ascending thresholds: a value at or past the n-th threshold scores n+1.
    Recency thresholds are days since the last purchase, where fewer days score higher.
    """

    window_days = models.PositiveIntegerField(_("look-back window (days)"), default=365)
    recency_days = models.JSONField(_("recency thresholds (days)"), default=list)
    frequency_counts = models.JSONField(_("frequency thresholds (purchases)"), default=list)
    monetary_amounts = models.JSONField(_("monetary thresholds (amount)"), default=list)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("grading policy")
        verbose_name_plural = _("grading policy")

    def __str__(self):
        return str(_("Grading policy"))


class MergeRecord(models.Model):
    """What a merge did: which record survived, what the merged one held, and who did it."""

    model = models.CharField(_("record type"), max_length=50)
    survivor_id = models.BigIntegerField(_("kept record"))
    merged_id = models.BigIntegerField(_("merged record"))
    merged_data = models.JSONField(_("merged record's values"), default=dict)
    chosen_fields = models.JSONField(_("values taken from the merged record"), default=list)
    moved = models.JSONField(_("related records moved"), default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("merged"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("merge record")
        verbose_name_plural = _("merge records")
        indexes = [models.Index(fields=["model", "survivor_id"], name="merge_survivor")]

    def __str__(self):
        return f"{self.model} #{self.merged_id} → #{self.survivor_id}"

    def get_absolute_url(self):
        return record_url("customers:merge_record", self.pk)


class CompanyUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Company, on_delete=models.CASCADE)


class CompanyGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Company, on_delete=models.CASCADE)


class ContactUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Contact, on_delete=models.CASCADE)


class ContactGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Contact, on_delete=models.CASCADE)


def website_domain(url: str) -> str:
    """'https://www.Huawei.com/cn/' -> 'huawei.com'."""
    from urllib.parse import urlsplit

    if not url:
        return ""
    host = urlsplit(url if "//" in url else f"//{url}").hostname or ""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


# --- Imports --------------------------------------------------------------------------------


class ImportTarget(models.TextChoices):
    COMPANIES = "companies", _("Companies")
    CONTACTS = "contacts", _("Contacts")


class ImportBatch(Job):
    """One uploaded file on its way in: how it reads, how its columns map, and what it did.

    Progress lives in the Job columns; `next_row` is committed in the same transaction as the
    rows before it, so a retried task resumes exactly where the last committed chunk ended.
    """

    class Stage(models.TextChoices):
        READING = "reading", _("Reading the file")
        MAPPING = "mapping", _("Choose columns")
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked")
        IMPORTING = "importing", _("Importing")
        IMPORTED = "imported", _("Imported")
        REVERTED = "reverted", _("Reverted")

    class Duplicates(models.TextChoices):
        SKIP = "skip", _("Skip rows that match an existing record")
        UPDATE = "update", _("Update the existing record")
        CREATE = "create", _("Create a new record anyway")

    class CompanyPolicy(models.TextChoices):
        MATCH_OR_CREATE = "match_or_create", _("Use a company with that exact name, or create it")
        MATCH_ONLY = "match_only", _("Use a company with that exact name, else leave it empty")

    target = models.CharField(_("import"), max_length=20, choices=ImportTarget.choices)
    # Encrypted on disk, no URL, deleted after IMPORT_EXPORT_RETENTION_DAYS (crm/storage.py).
    source = models.FileField(_("file"), upload_to="imports/%Y/%m/", storage=SealedFileStorage())
    source_name = models.CharField(_("file name"), max_length=255)
    source_format = models.CharField(_("format"), max_length=10)
    encoding = models.CharField(_("encoding"), max_length=30, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=2, blank=True)
    headers = models.JSONField(_("columns"), default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    duplicates = models.CharField(
        _("when a row matches an existing record"), max_length=10, choices=Duplicates.choices, default=Duplicates.SKIP
    )
    company_policy = models.CharField(
        _("company column"), max_length=20, choices=CompanyPolicy.choices, default=CompanyPolicy.MATCH_OR_CREATE
    )
    import_team = models.ForeignKey(
        "crm.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("team")
    )
    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices, default=Stage.MAPPING)
    dry_run = models.BooleanField(_("dry run"), default=False)
    next_row = models.PositiveIntegerField(_("next row"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    skipped_count = models.PositiveIntegerField(_("skipped"), default=0)
    row_errors = models.JSONField(_("row errors"), default=list, blank=True)
    reverted_at = models.DateTimeField(_("reverted"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def get_absolute_url(self):
        return record_url("customers:import_detail", self.pk)

    def retention_updates(self) -> dict:
        """What else goes when the upload expires (`crm.storage.purge_expired_files`): the file's
        rows that the error report and the preview kept; the row numbers and problems stay."""
        return {
            "row_errors": [{k: v for k, v in error.items() if k != "values"} for error in self.row_errors],
            "params": {k: v for k, v in self.params.items() if k != "preview"},
        }


class ImportMapping(models.Model):
    """A saved column mapping ({header: field}), the user's own or shared with everyone."""

    name = models.CharField(_("name"), max_length=100)
    target = models.CharField(_("import"), max_length=20, choices=ImportTarget.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("owner")
    )
    shared = models.BooleanField(_("shared with everyone"), default=False)
    columns = models.JSONField(_("columns"), default=dict)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("saved import mapping")
        verbose_name_plural = _("saved import mappings")
        constraints = [
            models.UniqueConstraint(fields=["owner", "target", "name"], name="import_mapping_unique_name"),
        ]

    def __str__(self):
        return self.name


class ImportedRecord(models.Model):
    """A record an import created or updated, with the values it replaced, so it can be reverted."""

    class Action(models.TextChoices):
        CREATED = "created", pgettext_lazy("import result", "Created")
        UPDATED = "updated", pgettext_lazy("import result", "Updated")

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="records", verbose_name=_("import"))
    model = models.CharField(_("record type"), max_length=20)
    object_id = models.BigIntegerField(_("record"))
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    row = models.PositiveIntegerField(_("row"))
    previous = models.JSONField(_("previous values"), default=dict, blank=True)
    # The record's updated_at right after the import wrote it: a later edit means "do not revert".
    stamp = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("imported record")
        verbose_name_plural = _("imported records")
        constraints = [
            models.UniqueConstraint(fields=["batch", "model", "object_id"], name="imported_record_once"),
        ]
        indexes = [models.Index(fields=["model", "object_id"], name="imported_record_object")]

    def __str__(self):
        return f"{self.model} #{self.object_id} ({self.get_action_display()})"
