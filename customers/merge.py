"""Merging two duplicate companies or two duplicate contacts into one.

The user picks, per field, whether the survivor keeps its value or takes the merged record's.
Everything attached to the merged record moves to the survivor: contacts, history, purchases,
tags, explicit shares, and later modules' records through `customers.extensions` merge
handlers; any relation nobody claimed is moved too, so deleting the merged record never
cascades data away. It all happens in one transaction with both rows locked, leaves a
`MergeRecord`, an audit "merge" event on the survivor and auditlog's delete entry for the
merged record.

Purchase references are unique per company: when the merged company's reference is already
used by the survivor, the moved purchase keeps it with a suffix (`SO-1` -> `SO-1-M42`); the
renaming is listed in the merge record, so no purchase is lost or silently dropped.
"""

from __future__ import annotations

from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Greatest
from django.utils.translation import gettext as _

from crm.audit import log_bulk_change, log_event
from crm.fields import encrypted_fields, mask_encrypted
from crm.models import User
from crm.permissions import can, object_permission_models, shares_changed
from crm.writes import ASSIGNMENT_FIELDS, check_assignment, ensure_may
from customers import extensions
from customers.models import Company, Contact, Interaction, MergeRecord, Transaction
from customers.services import COMPANY_FIELDS, CONTACT_FIELDS, company_refresh_value

SURVIVOR, MERGED = "survivor", "merged"
COMPANY_MERGE_FIELDS = [*COMPANY_FIELDS, "owner", "team"]
# Consent travels with its timestamps and source; an unsubscribe is never lost (see _merge_consent).
CONTACT_MERGE_FIELDS = [f for f in CONTACT_FIELDS if f not in ("unsubscribed", "email_opt_in_source")] + [
    "owner",
    "team",
]
_PAIRED = {"email_opt_in": ("email_opt_in_at", "email_opt_in_source")}
# Derived or bookkeeping columns that are not shown in the merged record's snapshot.
_SNAPSHOT_SKIP = {"search_text", "website_domain", "display_name", "grade_reason"}


def merge_fields(model) -> list[str]:
    return COMPANY_MERGE_FIELDS if model is Company else CONTACT_MERGE_FIELDS


@transaction.atomic
def company_merge(*, survivor: Company, merged: Company, field_choices: dict[str, str], actor: User) -> MergeRecord:
    """Merge `merged` into `survivor`; returns the merge record."""
    return _merge(Company, survivor=survivor, merged=merged, field_choices=field_choices, actor=actor)


@transaction.atomic
def contact_merge(*, survivor: Contact, merged: Contact, field_choices: dict[str, str], actor: User) -> MergeRecord:
    """Merge `merged` into `survivor`; returns the merge record."""
    return _merge(Contact, survivor=survivor, merged=merged, field_choices=field_choices, actor=actor)


def _merge(model, *, survivor, merged, field_choices: dict[str, str], actor: User) -> MergeRecord:
    if survivor.pk == merged.pk:
        raise ValidationError(_("A record cannot be merged with itself."))
    # Lock both rows in primary-key order, so two merges of the same pair cannot deadlock.
    locked = {
        obj.pk: obj for obj in model.objects.select_for_update().filter(pk__in=[survivor.pk, merged.pk]).order_by("pk")
    }
    if len(locked) != 2:
        raise ValidationError(_("One of the records no longer exists; perhaps it was merged already."))
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    # Merging removes the other record (its values and history survive in the merge record and
    # the survivor): that needs full control of it, as assigning does — never a share.
    if not (can(actor, survivor, "change") and can(actor, merged, "assign")):
        raise PermissionDenied(
            _("You may merge a record away only if you own it, manage its team or administer the CRM.")
        )
    allowed = merge_fields(model)
    unknown = [
        name for name, choice in field_choices.items() if name not in allowed or choice not in (SURVIVOR, MERGED)
    ]
    if unknown:
        raise ValidationError(_("Unknown merge choice: %(fields)s") % {"fields": ", ".join(sorted(unknown))})

    snapshot = _snapshot(merged)
    chosen = [name for name in allowed if field_choices.get(name) == MERGED]
    assignment = {
        name: getattr(merged, name)
        for name in ASSIGNMENT_FIELDS
        if name in chosen and getattr(merged, f"{name}_id") != getattr(survivor, f"{name}_id")
    }
    if assignment:
        ensure_may(actor, survivor, "assign", _("You may not change who owns the surviving record."))
        check_assignment(actor, **assignment)
    for name in chosen:
        setattr(survivor, name, getattr(merged, name))
        for paired in _PAIRED.get(name, ()):
            setattr(survivor, paired, getattr(merged, paired))
    if model is Contact:
        _merge_consent(survivor, merged)

    moved: dict[str, int] = {}
    renamed: dict[str, str] = {}
    if model is Company:
        moved["contacts"] = _move(Contact, "company", merged, survivor, actor)
        moved["interactions"] = _move(Interaction, "company", merged, survivor, actor)
        moved["transactions"], renamed = _move_transactions(merged, survivor, actor)
    else:
        moved["interactions"] = _move(Interaction, "contact", merged, survivor, actor)
        moved["transactions"] = _move(Transaction, "contact", merged, survivor, actor)
    has_tags = set(survivor.tags.values_list("pk", flat=True))
    new_tags = [tag for tag in merged.tags.all() if tag.pk not in has_tags]
    if new_tags:
        survivor.tags.add(*new_tags)  # audited by auditlog as an m2m change
    moved["tags"] = len(new_tags)
    moved["shares"] = _move_object_permissions(model, merged, survivor)
    target = "company" if model is Company else "contact"
    for label, handler in extensions.merge_handlers(target):
        moved[label] = int(handler(survivor=survivor, merged=merged, actor=actor) or 0)
    moved.update(_move_unclaimed(model, merged, survivor, actor))

    # The merged record's values are kept only in the merge record (secrets masked), so its
    # identifiers (external ID, tax ID...) no longer clash when the survivor takes them.
    last_activity = merged.last_activity_at
    merged.delete()
    survivor.full_clean()
    survivor.save()
    model.objects.filter(pk=survivor.pk).update(last_activity_at=Greatest(F("last_activity_at"), last_activity))
    if model is Company:
        company_refresh_value(company=survivor)
        from customers.grading import grade_companies

        grade_companies([survivor.pk])

    record = MergeRecord.objects.create(
        model=model._meta.label_lower,
        survivor_id=survivor.pk,
        merged_id=snapshot["id"],
        merged_data=snapshot,
        chosen_fields=chosen,
        moved={**moved, **({"renamed_references": renamed} if renamed else {})},
        actor=actor,
    )
    log_event(
        survivor,
        actor=actor,
        action=LogEntry.Action.UPDATE,
        changes={"merged_with": [f"#{snapshot['id']} {snapshot.get('__str__', '')}".strip(), None]},
        event="merge",
    )
    # The chosen owner or team must not move the survivor out of the actor's reach (STYLE 15).
    if not can(actor, model.objects.get(pk=survivor.pk), "view"):
        raise PermissionDenied(_("That merge would move the record out of your reach."))
    return record


def _snapshot(obj: models.Model) -> dict:
    """The merged record's values for the merge record; encrypted values masked, blind indexes left out."""
    secret = {f.name for f in encrypted_fields(type(obj))}
    blind = {f.blind_index for f in encrypted_fields(type(obj)) if f.blind_index} | {"email_bidx"}
    data: dict = {"id": obj.pk, "__str__": str(obj)}
    for field in obj._meta.concrete_fields:
        if field.name in blind or field.name in _SNAPSHOT_SKIP or field.primary_key:
            continue
        value = getattr(obj, field.attname)
        if field.name in secret:
            value = mask_encrypted(value or "")
        elif field.is_relation:
            related = getattr(obj, field.name)
            value = {"id": value, "repr": str(related)} if related is not None else None
        elif value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
            value = str(value)
        data[field.name] = value
    data["tags"] = sorted(obj.tags.values_list("name", flat=True))
    return data


def _merge_consent(survivor: Contact, merged: Contact) -> None:
    """An unsubscribe on either record stands: merging must never re-subscribe anyone."""
    if merged.unsubscribed and not survivor.unsubscribed:
        survivor.unsubscribed, survivor.unsubscribed_at = True, merged.unsubscribed_at
    if survivor.unsubscribed:
        survivor.email_opt_in, survivor.email_opt_in_at = False, None


def _move(model, fk: str, merged, survivor, actor) -> int:
    """Point `model.fk` from `merged` to `survivor` in one UPDATE, with one audit entry per row."""
    rows = model.objects.filter(**{fk: merged})
    pks = list(rows.values_list("pk", flat=True))
    if not pks:
        return 0
    model.objects.filter(pk__in=pks).update(**{fk: survivor})
    log_bulk_change(model, pks, actor=actor, changes={fk: [str(merged.pk), str(survivor.pk)]}, event="merge")
    return len(pks)


def _move_transactions(merged: Company, survivor: Company, actor) -> tuple[int, dict[str, str]]:
    """Move purchases; a reference the survivor already uses gets a suffix rather than a clash."""
    taken = set(survivor.transactions.exclude(reference="").values_list("reference", flat=True))
    renamed: dict[str, str] = {}
    for purchase in merged.transactions.exclude(reference="").filter(reference__in=taken):
        new = _free_reference(purchase.reference, merged.pk, taken)
        renamed[purchase.reference] = new
        taken.add(new)
        purchase.reference = new
        purchase.save(update_fields=["reference"])  # audited as a change of reference
    return _move(Transaction, "company", merged, survivor, actor), renamed


def _free_reference(reference: str, merged_pk: int, taken: set[str]) -> str:
    max_length = Transaction._meta.get_field("reference").max_length
    for n in range(1, 1000):
        suffix = f"-M{merged_pk}" if n == 1 else f"-M{merged_pk}-{n}"
        candidate = reference[: max_length - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
    raise ValidationError(_("Could not find a free purchase reference."))


def _move_object_permissions(model, merged, survivor) -> int:
    """Move explicit shares (user and group rows) to the survivor, skipping ones it already has."""
    moved = 0
    for perm_model, who in zip(object_permission_models(model), ("user", "group"), strict=True):
        already = perm_model.objects.filter(
            content_object=survivor, permission=OuterRef("permission"), **{who: OuterRef(who)}
        )
        moved += (
            perm_model.objects.filter(content_object=merged).exclude(Exists(already)).update(content_object=survivor)
        )
    if moved:
        # A queryset update sends no signal: the cached shares are forgotten here.
        shares_changed()
        transaction.on_commit(shares_changed)
    return moved  # rows the survivor already had are deleted with the merged record


def _move_unclaimed(model, merged, survivor, actor) -> dict[str, int]:
    """Move rows of relations no handler claimed, so deleting `merged` cascades nothing away."""
    handled = {
        (Contact, "company"),
        (Interaction, "company"),
        (Interaction, "contact"),
        (Transaction, "company"),
        (Transaction, "contact"),
    }
    handled |= {(m, "content_object") for m in object_permission_models(model)}
    moved: dict[str, int] = {}
    for relation in model._meta.related_objects:
        if not relation.one_to_many or (relation.related_model, relation.field.name) in handled:
            continue
        count = _move(relation.related_model, relation.field.name, merged, survivor, actor)
        if count:
            moved[relation.related_model._meta.label_lower] = count
    return moved
