"""Encrypted model fields and their blind indexes.

    phone = EncryptedCharField(_("phone"), max_length=40, blank=True,
                               blind_index="phone_bidx", normalizer=normalize_phone)
    phone_bidx = BlindIndexField()

    Company.objects.filter(**blind_lookup(Company, "phone", "+86 138-0013-8000"))

In Python the field holds plaintext; the column holds only `enc1:` ciphertext (see
`crm.crypto`), bound to its column ("app_label.model.field") so a value copied elsewhere does
not decrypt. An empty string is stored as an empty string and None as NULL: encrypting them
would hide nothing, since ciphertext length reveals plaintext length anyway. A column that held
plaintext before it became encrypted still reads (values without the `enc1:` prefix are taken
as plaintext) until `manage.py reencrypt_fields` encrypts them.

The blind index holds HMAC-SHA256 of the normalised value and is kept in step on every save,
including `save(update_fields=[...])` that names the encrypted field but not its index. It
answers equality only, and reveals which rows share a value.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from django import forms
from django.core import checks, validators
from django.core.exceptions import FieldError
from django.db import models
from django.db.models.lookups import Exact
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _

from crm.crypto import get_keyring, is_ciphertext

MASKED = "[encrypted]"


def normalize_text(value: str) -> str:
    """Default normaliser: Unicode-compatible form (full-width to ASCII), trimmed."""
    return unicodedata.normalize("NFKC", value or "").strip()


def normalize_email(value: str) -> str:
    return normalize_text(value).lower()


def normalize_tax_id(value: str) -> str:
    """Upper case without spaces: '9131 0000 mA1k' and '91310000MA1K' match."""
    return "".join(normalize_text(value).upper().split())


def normalize_phone(value: str) -> str:
    """Digits with a leading + for foreign numbers; Chinese numbers in their national form.

    '+86 138-0013-8000', '0086 13800138000' and '13800138000' all give '13800138000';
    '+86 10 6552 9988' gives the landline's national form '01065529988'.
    """
    text = normalize_text(value)
    digits = "".join(ch for ch in text if "0" <= ch <= "9")
    if not digits:
        return ""
    international = text.startswith("+")
    if not international and digits.startswith("00"):
        international, digits = True, digits[2:]
    elif not international and len(digits) == 13 and digits.startswith("861"):
        international = True  # "86 138 0013 8000" written without the plus
    if international and digits.startswith("86"):
        national = digits[2:]
        is_mobile = len(national) == 11 and national.startswith("1")
        return national if is_mobile or national.startswith("0") else "0" + national
    return ("+" if international else "") + digits


normalize_email.scope = "email"
normalize_tax_id.scope = "tax_id"
normalize_phone.scope = "phone"


def phone_query(query: str) -> str:
    """The normalised number when a search box query is a whole phone number, else ''.

    Phones are found by blind-index equality only, never by part: a masked number cannot be
    recovered digit by digit through searches."""
    digits = normalize_phone(query)
    if len(digits.lstrip("+")) >= 7 and not re.search(r"[^\d\s+\-()]", query):
        return digits
    return ""


# A tax ID once normalised (China's 18-character unified social credit code, older numbers of
# 15 to 20 characters): at least ten digits, so that words and column headers do not match.
TAX_ID_LIKE = re.compile(r"^(?=(?:[A-Z]*\d){10})[0-9A-Z]{15,20}$")


_PHONE_IN_TEXT = re.compile(r"(?<![\w+])\+?\d(?:[\s\-.()/]{0,2}\d){6,}")
_TAX_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?=(?:[A-Za-z]*\d){10})[0-9A-Za-z]{15,20}(?![0-9A-Za-z])")


def mask_numbers(text: str) -> str:
    """`text` with every run that could be a phone number (7 digits or more) or a tax ID replaced
    by ******: for messages that are stored or shown and may quote a line of a user's file."""
    return _PHONE_IN_TEXT.sub("******", _TAX_ID_IN_TEXT.sub("******", text))


def blind_index_for(normalizer: Callable[[str], str], value: str | None, *, context: str | None = None) -> str:
    """The blind index of `value` under `normalizer`'s scope ('' when it normalises to nothing).

    Also for readable columns that need the same exact-match key, such as a contact's email.
    """
    normalized = normalizer(value or "")
    if not normalized:
        return ""
    return get_keyring().blind_index(normalized, context=context or normalizer.scope)


class EncryptedExact(Exact):
    """Equality on an encrypted column answers only for the empty string (stored as-is)."""

    def get_prep_lookup(self):
        if self.rhs not in ("", None):
            field = self.lhs.output_field
            raise FieldError(
                f"{field.encryption_context} is encrypted and cannot be compared to a value in SQL; "
                f"use blind_lookup(model, {field.name!r}, value) on its blind index."
            )
        return super().get_prep_lookup()


class EncryptedTextField(models.TextField):
    """A text column whose value is encrypted at rest; optionally with a blind index for equality."""

    description = _("Encrypted text")

    def __init__(
        self,
        *args,
        blind_index: str | None = None,
        normalizer: Callable[[str], str] | None = None,
        **kwargs,
    ):
        self.blind_index = blind_index
        self.normalizer = normalizer
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if self.blind_index:
            kwargs["blind_index"] = self.blind_index
        if self.normalizer is not None:
            kwargs["normalizer"] = self.normalizer
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        if self.blind_index and not cls._meta.abstract:
            post_save.connect(
                _sync_blind_indexes_after_partial_save,
                sender=cls,
                dispatch_uid=f"crm.fields.blind_index:{cls._meta.label_lower}",
            )

    @property
    def encryption_context(self) -> str:
        return f"{self.model._meta.app_label}.{self.model._meta.model_name}.{self.name}"

    def from_db_value(self, value, expression, connection):
        if not is_ciphertext(value):
            return value  # None, "", or plaintext not yet encrypted
        return get_keyring().decrypt(value, context=self.encryption_context)

    def to_python(self, value):
        return value if value is None else str(value)

    def get_db_prep_value(self, value, connection, prepared=False):
        if not prepared:
            value = self.get_prep_value(value)
        if value is None or value == "":
            return value
        return get_keyring().encrypt(str(value), context=self.encryption_context)

    def get_lookup(self, lookup_name):
        # Only emptiness can be asked in SQL; everything else would compare ciphertext.
        if lookup_name == "exact":
            return EncryptedExact
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None

    def get_transform(self, lookup_name):
        return None

    def blind_index_of(self, value: str | None) -> str:
        """The blind index of a plaintext value: '' when it normalises to nothing.

        Normalisers with a `scope` (phone, email, tax ID) share it across columns, so a phone
        number matches whether it is stored as a company's phone, a contact's mobile or a
        lead's phone; other columns are keyed by their own name.
        """
        normalizer = self.normalizer or normalize_text
        return blind_index_for(normalizer, value, context=getattr(normalizer, "scope", self.encryption_context))

    def check(self, **kwargs):
        return [*super().check(**kwargs), *self._check_blind_index()]

    def _check_blind_index(self):
        if not self.blind_index:
            return []
        try:
            target = self.model._meta.get_field(self.blind_index)
        except models.FieldDoesNotExist:
            target = None
        if not isinstance(target, BlindIndexField):
            return [
                checks.Error(
                    f"blind_index={self.blind_index!r} must name a BlindIndexField on the same model.",
                    obj=self,
                    id="crm.E101",
                )
            ]
        return []


class EncryptedCharField(EncryptedTextField):
    """An encrypted one-line value: max_length limits the plaintext, the column stays text."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(validators.MaxLengthValidator(self.max_length))

    def formfield(self, **kwargs):
        return super().formfield(**{"widget": forms.TextInput, **kwargs})


class BlindIndexField(models.CharField):
    """HMAC-SHA256 (hex) of the normalised value of the encrypted field naming it; kept in step on save.

    Not db_index: on PostgreSQL that would add a second `..._like` index (varchar_pattern_ops)
    for LIKE 'x%', and a blind index is only ever compared by equality or IN. The model declares
    one plain btree per blind index in its Meta.indexes instead (`Person.Meta.indexes`,
    `Company.Meta.indexes`). Migrations written before this default changed say db_index=True.
    """

    description = _("Blind index")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key, value in (("max_length", 64), ("editable", False), ("blank", True)):
            if kwargs.get(key) == value:
                del kwargs[key]
        if kwargs.get("default") == "":
            del kwargs["default"]
        return name, path, args, kwargs

    @property
    def source(self) -> EncryptedTextField | None:
        for field in self.model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField) and field.blind_index == self.name:
                return field
        return None

    def pre_save(self, model_instance, add):
        source = self.source
        if source is not None and source.attname in model_instance.__dict__:
            setattr(model_instance, self.attname, source.blind_index_of(getattr(model_instance, source.attname)))
        return super().pre_save(model_instance, add)


def blind_indexed_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField) and f.blind_index]


def encrypted_fields(model: type[models.Model]) -> list[EncryptedTextField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


def blind_lookup(model: type[models.Model], field_name: str, value: str) -> dict[str, str]:
    """Filter keywords finding rows whose encrypted `field_name` equals `value` once normalised."""
    field = model._meta.get_field(field_name)
    if not isinstance(field, EncryptedTextField) or not field.blind_index:
        raise FieldError(f"{model._meta.label}.{field_name} has no blind index.")
    return {field.blind_index: field.blind_index_of(value)}


def _sync_blind_indexes_after_partial_save(sender, instance, update_fields=None, raw=False, **kwargs):
    """`save(update_fields=["phone"])` skips phone_bidx's pre_save: write the index here instead."""
    if raw or not update_fields:
        return
    stale = {}
    for field in blind_indexed_fields(sender):
        if field.name in update_fields and field.blind_index not in update_fields:
            stale[field.blind_index] = field.blind_index_of(getattr(instance, field.attname))
    if stale:
        for name, value in stale.items():
            setattr(instance, name, value)
        sender._base_manager.filter(pk=instance.pk).update(**stale)


def mask_encrypted(value: str) -> str:
    """auditlog mask_callable: the audit trail says an encrypted field changed, never to what."""
    return value if value in ("", "None") else MASKED


def encrypted_audit_options(model: type[models.Model], **options) -> dict:
    """Keyword arguments for `auditlog.register(model, ...)` that keep encrypted values out of the log.

    Encrypted fields are masked as "[encrypted]" and blind indexes are left out of the diff.
    """
    fields = encrypted_fields(model)
    options["mask_fields"] = sorted({*options.get("mask_fields", []), *(f.name for f in fields)})
    options["exclude_fields"] = sorted(
        {*options.get("exclude_fields", []), *(f.blind_index for f in fields if f.blind_index)}
    )
    options.setdefault("mask_callable", "crm.fields.mask_encrypted")
    return options


@checks.register(checks.Tags.security)
def check_encrypted_fields_are_masked_in_audit(app_configs=None, **kwargs):
    """Every audited model must mask its encrypted fields, or the audit log would hold plaintext."""
    from auditlog.diff import get_mask_function
    from auditlog.registry import auditlog

    errors = []
    for model in auditlog.get_models():
        options = auditlog.get_model_fields(model)
        for field in encrypted_fields(model):
            if field.name in options["exclude_fields"] or (
                options["include_fields"] and field.name not in options["include_fields"]
            ):
                continue
            if field.name not in options["mask_fields"]:
                errors.append(
                    checks.Error(
                        f"{model._meta.label}.{field.name} is encrypted but auditlog records it in clear.",
                        hint="Register the model with auditlog.register(model, **encrypted_audit_options(model)).",
                        obj=model,
                        id="crm.E102",
                    )
                )
            elif any(ch.isdigit() for ch in get_mask_function(options.get("mask_callable"))("13800138000")):
                errors.append(
                    checks.Error(
                        f"{model._meta.label}.{field.name} is masked with a callable that keeps part of the value.",
                        hint="Use mask_callable='crm.fields.mask_encrypted' (encrypted_audit_options does).",
                        obj=model,
                        id="crm.E103",
                    )
                )
    return errors
