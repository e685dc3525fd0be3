"""What can be imported: a registry of import kinds, so other apps reuse the import machinery.

Customers registers "companies" and "contacts"; another app (pipeline's leads) registers its own
kind from its `AppConfig.ready()`. A kind says which fields a column may map to, the header
aliases that pick them, how a row finds an existing record, and how records are written through
that app's services, so the upload, mapping, dry run, progress and revert pages stay generic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


@dataclass
class RowContext:
    """What `prepare` knows about the import beyond the row, and where it reports problems.

    `more` holds the further values of fields several columns fill ({"email": ["b@x.cn"]}: the
    first non-empty column filled the field, these came after it)."""

    date_order: str = "mdy"  # how to read 03/04/2024: "mdy" (English exports) or "dmy"
    more: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def drop(self, message: str) -> None:
        """An optional value that cannot be used: left out, the row still imported."""
        self.warnings.append(str(message))

    def reject(self, message: str) -> None:
        """A problem that stops the row; the others are still looked for and reported with it."""
        self.problems.append(str(message))

    def check(self) -> None:
        """Reject the row if anything stops it, naming every problem (also the values that would
        only have been left out)."""
        if self.problems:
            raise ValidationError([*self.problems, *self.warnings])

    def more_emails_line(self) -> str:
        """Further e-mail addresses of the row as a line for its notes (phones are never copied
        there: a number stays only in its encrypted field)."""
        more = self.more.get("email", [])
        return _("Other e-mail addresses: %(emails)s") % {"emails": ", ".join(more)} if more else ""


def keep_valid_email(fields: dict, row: RowContext) -> None:
    """A malformed e-mail address is left out with a warning; the record is still written."""
    if fields.get("email"):
        email = fields["email"].strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            row.drop(_("E-mail address “%(value)s” is not valid; left out.") % {"value": email})
            del fields["email"]
        else:
            fields["email"] = email


def keep_valid_website(fields: dict, row: RowContext) -> None:
    """A website that is no web address is left out with a warning ("https://" is added when missing)."""
    if fields.get("website"):
        website = fields["website"].strip()
        if "://" not in website:
            website = "https://" + website
        try:
            URLValidator(schemes=["http", "https"])(website)
        except ValidationError:
            row.drop(_("Website “%(value)s” is not a web address; left out.") % {"value": fields["website"]})
            del fields["website"]
        else:
            fields["website"] = website


def keep_more_phones(fields: dict, row: RowContext, *, slots: tuple[str, ...]) -> None:
    """Further phone columns fill an empty phone slot; what is left is dropped with a warning (a
    number is kept only in its encrypted field, never copied into notes)."""
    spare = [value for slot in slots for value in row.more.get(slot, [])]
    for slot in slots:
        if not fields.get(slot) and spare:
            fields[slot] = spare.pop(0)
    if spare:
        row.drop(
            ngettext(
                "%(count)d more phone number left out: a record keeps one phone and one mobile.",
                "%(count)d more phone numbers left out: a record keeps one phone and one mobile.",
                len(spare),
            )
            % {"count": len(spare)}
        )


@dataclass(frozen=True)
class ImportKind:
    """One kind of import.

    `prepare(data, row)` turns a row's {field: text} into keyword arguments for `create`/`update`;
    it reports through `row` (a `RowContext`): a bad optional value is dropped with a warning and
    the row still imported, a missing or bad required one rejects the row, every problem named.
    `find(visible, fields)` returns the existing record the row matches, searching only `visible`
    (what the importer may see); `create(actor=, owner=, team=, tags=, fields=)` and
    `update(obj=, actor=, changes=)` write through the owning app's services;
    `restore(obj=, previous=, actor=)` puts back values an update replaced (revert);
    `check_mapping(fields)` refuses a mapping that cannot make a record.
    """

    name: str
    label: Any
    model: type
    fields: dict[str, Any]
    aliases: dict[str, list[str]]
    prepare: Callable[[dict, RowContext], dict]
    find: Callable[..., Any]
    create: Callable[..., Any]
    update: Callable[..., Any]
    restore: Callable[..., None]
    check_mapping: Callable[[set[str]], None] = lambda fields: None
    list_url: str = ""
    list_label: Any = ""
    # How rows match existing records, shown next to the duplicates choice ('' keeps the default text).
    match_help: Any = ""
    order: int = 100
    # Undo later: records of a lower revert_order are reverted first (contacts before their companies).
    revert_order: int = 100
    vcard: bool = False
    company_column: bool = False
    notes_to_timeline: bool = False
    extra: dict = field(default_factory=dict)


_KINDS: dict[str, ImportKind] = {}


def register_kind(kind: ImportKind) -> None:
    _KINDS[kind.name] = kind


def all_kinds() -> list[ImportKind]:
    return sorted(_KINDS.values(), key=lambda k: (k.order, k.name))


def kind_names() -> list[str]:
    return [k.name for k in all_kinds()]


def get_kind(name: str) -> ImportKind:
    """The registered kind, or ValidationError for a name nobody registered."""
    try:
        return _KINDS[name]
    except KeyError:
        raise ValidationError(_("Unknown kind of import.")) from None


def find_kind(name: str) -> ImportKind | None:
    return _KINDS.get(name)


def kind_for_model(model_name: str) -> ImportKind | None:
    """The kind whose records have this model name (ImportedRecord.model)."""
    for kind in _KINDS.values():
        if kind.model._meta.model_name == model_name:
            return kind
    return None
