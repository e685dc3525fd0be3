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


@dataclass(frozen=True)
class ImportKind:
    """One kind of import.

    `prepare(data)` turns a row's {field: text} into keyword arguments for `create`/`update`, or
    raises ValidationError; `find(visible, fields)` returns the existing record the row matches,
    searching only `visible` (what the importer may see); `create(actor=, owner=, team=, tags=,
    fields=)` and `update(obj=, actor=, changes=)` write through the owning app's services;
    `restore(obj=, previous=, actor=)` puts back values an update replaced (revert);
    `check_mapping(fields)` refuses a mapping that cannot make a record.
    """

    name: str
    label: Any
    model: type
    fields: dict[str, Any]
    aliases: dict[str, list[str]]
    prepare: Callable[[dict], dict]
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
        from django.utils.translation import gettext as _

        raise ValidationError(_("Unknown kind of import.")) from None


def find_kind(name: str) -> ImportKind | None:
    return _KINDS.get(name)


def kind_for_model(model_name: str) -> ImportKind | None:
    """The kind whose records have this model name (ImportedRecord.model)."""
    for kind in _KINDS.values():
        if kind.model._meta.model_name == model_name:
            return kind
    return None
