"""One abstract person and one lookup, shared by contacts, leads, ticket requesters and campaign recipients.

    class Contact(OwnedModel, Person):
        ...
        class Meta(Person.Meta):
            ...

    find_people(restrict(Contact.objects.all(), user), phone="+86 138 0013 8000")

A person's `display_name` is derived on save (Chinese names family name first without a space),
its e-mail is kept readable with a blind index beside it (campaigns send to it), and its phone
and mobile are encrypted with blind indexes keyed by the shared phone scope, so a number
matches in either column and across models.

Columns added to an existing table carry a `db_default`, so adding them is a catalogue change
on PostgreSQL, not a table rewrite; nullable timestamps need none.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.fields import BlindIndexField, EncryptedCharField, blind_index_for, normalize_email, normalize_phone


def display_name(family: str, given: str) -> str:
    """Chinese names read family name first without a space (王小明); others given name first."""
    family, given = (family or "").strip(), (given or "").strip()
    if any("\u3400" <= ch <= "\u9fff" for ch in family + given):
        return f"{family}{given}"
    return " ".join(part for part in (given, family) if part)


BLIND_INDEXES = ("email_bidx", "phone_bidx", "mobile_bidx")


class Person(models.Model):
    """Names, e-mail, encrypted phones with blind indexes, language and consent."""

    family_name = models.CharField(_("family name"), max_length=100, blank=True)
    given_name = models.CharField(_("given name"), max_length=100, blank=True)
    display_name = models.CharField(_("name"), max_length=200, editable=False)
    email = models.EmailField(_("email"), blank=True)
    email_bidx = BlindIndexField()
    phone = EncryptedCharField(
        _("phone"), max_length=40, blank=True, blind_index="phone_bidx", normalizer=normalize_phone
    )
    mobile = EncryptedCharField(
        _("mobile"), max_length=40, blank=True, blind_index="mobile_bidx", normalizer=normalize_phone
    )
    phone_bidx = BlindIndexField()
    mobile_bidx = BlindIndexField()
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=10,
        blank=True,
        choices=settings.LANGUAGES,
        default="",
        db_default="",
    )
    email_opt_in = models.BooleanField(_("agreed to marketing email"), default=False, db_default=False)
    email_opt_in_at = models.DateTimeField(_("agreed on"), null=True, blank=True)
    email_opt_in_source = models.CharField(_("consent source"), max_length=100, blank=True, default="", db_default="")
    sms_opt_in = models.BooleanField(_("agreed to marketing SMS"), default=False, db_default=False)
    sms_opt_in_at = models.DateTimeField(_("agreed to SMS on"), null=True, blank=True)
    sms_opt_in_source = models.CharField(_("SMS consent source"), max_length=100, blank=True, default="", db_default="")
    unsubscribed = models.BooleanField(_("unsubscribed"), default=False, db_default=False)
    unsubscribed_at = models.DateTimeField(_("unsubscribed on"), null=True, blank=True)
    do_not_contact = models.BooleanField(
        _("do not contact"),
        default=False,
        db_default=False,
        help_text=_("No calls, messages or campaigns of any kind."),
    )

    class Meta:
        abstract = True
        # One plain btree per blind index (equality and IN only, so no LIKE index: see
        # BlindIndexField), named e.g. contact_email_bidx. A subclass whose Meta declares its own
        # `indexes` replaces this list, so it starts with `*Person.Meta.indexes`.
        indexes = [models.Index(fields=[name], name=f"%(class)s_{name}") for name in BLIND_INDEXES]

    def __str__(self):
        return self.display_name

    def save(self, *args, **kwargs):
        derived = self.refresh_derived_fields()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, *derived}
        super().save(*args, **kwargs)

    def name_fallback(self) -> str:
        """What to call a person without a name before falling back to the e-mail (e.g. a lead's company)."""
        return ""

    def refresh_derived_fields(self) -> tuple[str, ...]:
        """Recompute the columns derived from the others; return their names.

        Subclasses that derive more (search tokens) extend this, calling super() first.
        """
        self.display_name = display_name(self.family_name, self.given_name) or self.name_fallback() or self.email or "—"
        self.email_bidx = blind_index_for(normalize_email, self.email)
        return ("display_name", "email_bidx")


def find_people(
    queryset: QuerySet, *, email: str | None = None, phone: str | None = None, name: str | None = None
) -> QuerySet:
    """The people of `queryset` with that e-mail, phone or name (any one of those given matches).

    - email: normalised (width- and case-folded) and matched on the e-mail blind index;
    - phone: normalised with `normalize_phone` ('+86 138…', '0086 138…', '138 0013 8000' alike)
      and matched on the phone or the mobile blind index;
    - name: `display_name` starting with it, case-insensitively (the exact name included).

    Each test is an indexed equality or a prefix (served by an `upper(display_name)` trigram
    index on PostgreSQL). `queryset` is only narrowed, never widened: pass one already scoped
    to what the user may see. A value that normalises to nothing is ignored; with none left
    the answer is empty.
    """
    condition = Q()
    email_key = blind_index_for(normalize_email, email)
    if email_key:
        condition |= Q(email_bidx=email_key)
    phone_key = blind_index_for(normalize_phone, phone)
    if phone_key:
        condition |= Q(phone_bidx=phone_key) | Q(mobile_bidx=phone_key)
    name = (name or "").strip()
    if name:
        condition |= Q(display_name__istartswith=name)
    if not condition:
        return queryset.none()
    return queryset.filter(condition)


# The consent a person's form edits (contacts and leads alike); the times are stamped by
# `stamp_consent`, never typed.
CONSENT_FIELDS = (
    "preferred_language",
    "email_opt_in",
    "email_opt_in_source",
    "sms_opt_in",
    "sms_opt_in_source",
    "unsubscribed",
    "do_not_contact",
)


def stamp_consent(person: Person, data: dict, before: tuple[bool, bool] = (False, False)) -> None:
    """When consent was given or withdrawn: `before` is (email_opt_in, unsubscribed) as stored
    before the change; an import or a lead's conversion may give the original times
    (`email_opt_in_at`, `sms_opt_in_at`, `unsubscribed_at`)."""
    now = timezone.now()
    if person.email_opt_in and not before[0]:
        person.email_opt_in_at = data.get("email_opt_in_at") or now
    if not person.email_opt_in:
        person.email_opt_in_at = None
    if person.sms_opt_in and not person.sms_opt_in_at:
        person.sms_opt_in_at = data.get("sms_opt_in_at") or now
    if not person.sms_opt_in:
        person.sms_opt_in_at = None
    if person.unsubscribed and not before[1]:
        person.unsubscribed_at = data.get("unsubscribed_at") or now
    if not person.unsubscribed:
        person.unsubscribed_at = None
