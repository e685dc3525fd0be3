"""The write kit: the one path by which a service changes an owned record.

    @transaction.atomic
    def company_update(*, company: Company, actor: User, **data) -> Company:
        return record_update(record=company, actor=actor, data=data, fields=COMPANY_FIELDS, m2m=("tags",))

In one transaction each function checks the action on the record, checks that a new owner or
team is one the actor may assign, saves, lets auditlog write its entry naming the actor (also in
Celery tasks and imports, through `crm.audit.acting_as`), and re-checks afterwards that the
actor can still see the record. Changing owner or team needs "assign" (owner, team manager,
administrator): a share never grants it. Deleting refuses clearly when protected relations
block it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models.deletion import ProtectedError, RestrictedError
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.audit import acting_as, log_bulk_change
from crm.models import OwnedModel
from crm.permissions import can, has_role_permission, may_assign_owner, may_assign_team, restrict

ASSIGNMENT_FIELDS = ("owner", "team")

# Sent (sender=model, pks=[...]) around a bulk UPDATE, which sends no save signals, so that data
# derived from the rows (pipeline's stage totals) can take them out before and add them back after.
bulk_changing = Signal()
bulk_changed = Signal()


@contextmanager
def bulk_change(model: type[models.Model], pks: list) -> Iterator[None]:
    """Wrap a queryset `update()` of the rows `pks`; inside the caller's transaction."""
    bulk_changing.send(sender=model, pks=pks)
    yield
    bulk_changed.send(sender=model, pks=pks)


def ensure_still_visible(record: models.Model, actor) -> None:
    """After a write the actor must still see the record (STYLE 15); otherwise the transaction
    is rolled back by the PermissionDenied."""
    model = type(record)
    if not restrict(model._default_manager.filter(pk=record.pk), actor, "view").exists():
        raise PermissionDenied(_("That change would move the record out of your reach."))


def ensure_may(actor, record: models.Model, action: str, message: str = "") -> None:
    if not can(actor, record, action):
        raise PermissionDenied(message or _("You may not make this change."))


def ensure_change_on(actor, *records: models.Model | None) -> None:
    """A write on a related record (a task's customer, a note on a company) needs change on it."""
    for record in records:
        if record is not None and not can(actor, record, "change"):
            raise PermissionDenied(
                _("You may view %(record)s but not add to it: ask its owner to share it with you for editing.")
                % {"record": record}
            )


def check_assignment(actor, *, owner=None, team=None) -> None:
    """A new owner must be the actor or someone in a team they manage; a new team must be theirs."""
    errors = {}
    if owner is not None and not may_assign_owner(actor, owner):
        errors["owner"] = _("You cannot hand records to this person.")
    if team is not None and not may_assign_team(actor, team):
        errors["team"] = _("You can only assign records to your own teams.")
    if errors:
        raise ValidationError(errors)


def _changed_assignment(stored: models.Model, data: dict) -> dict:
    changed = {}
    for name in ASSIGNMENT_FIELDS:
        if name in data:
            value = data[name]
            new_id = value.pk if value is not None else None
            if new_id != getattr(stored, f"{name}_id"):
                changed[name] = value
    return changed


def apply_fields(record: models.Model, fields: Iterable[str], data: dict) -> list[str]:
    """Set the given fields from `data`; returns the names whose value changed."""
    changed = []
    for name in fields:
        if name in data and getattr(record, name) != data[name]:
            setattr(record, name, data[name])
            changed.append(name)
    return changed


def _set_m2m(record: models.Model, m2m: Iterable[str], data: dict) -> None:
    for name in m2m:
        if name in data and data[name] is not None:
            getattr(record, name).set(data[name])


@transaction.atomic
def record_create(
    *,
    model: type[models.Model],
    actor,
    data: dict,
    fields: Iterable[str],
    m2m: Iterable[str] = (),
    before_save: Callable[[models.Model], None] | None = None,
    **initial,
) -> models.Model:
    """Create a record the actor owns (or hands to someone they may), audited and re-checked."""
    if not has_role_permission(actor, model, "add"):
        raise PermissionDenied(_("You may not add this kind of record."))
    owner = data.get("owner") or actor
    team = data.get("team")
    check_assignment(actor, owner=owner, team=team)
    record = model(owner=owner, team=team, **initial)
    apply_fields(record, fields, data)
    if before_save is not None:
        before_save(record)
    with acting_as(actor):
        record.full_clean()
        record.save()
        _set_m2m(record, m2m, data)
    ensure_still_visible(record, actor)
    return record


@transaction.atomic
def record_update(
    *,
    record: models.Model,
    actor,
    data: dict,
    fields: Iterable[str],
    m2m: Iterable[str] = (),
    before_save: Callable[[models.Model, models.Model], None] | None = None,
    recheck_visible: bool = True,
) -> models.Model:
    """Change a record's fields. Owner and team change only for those who may assign them.

    The stored row is re-read under a lock and compared with `data`, so an instance a form has
    already modified in memory cannot hide an ownership change. `recheck_visible=False` is for a
    deliberate hand-over (reassigning to someone else), where leaving the actor's reach is the point.
    """
    model = type(record)
    stored = model._default_manager.select_for_update().get(pk=record.pk)
    ensure_may(actor, stored, "change", _("You may not change this record."))
    assignment = _changed_assignment(stored, data)
    if assignment:
        ensure_may(
            actor,
            stored,
            "assign",
            _("Only the owner, the manager of its team or an administrator may change who owns this record."),
        )
        check_assignment(actor, **assignment)
    values = {name: data[name] for name in fields if name in data}
    values.update(assignment)
    apply_fields(stored, [*fields, *assignment], values)
    if before_save is not None:
        before_save(stored, record)
    with acting_as(actor):
        stored.full_clean()
        stored.save()
        _set_m2m(stored, m2m, data)
    if recheck_visible:
        ensure_still_visible(stored, actor)
    # The caller's instance now shows what was saved.
    record.__dict__.update({k: v for k, v in stored.__dict__.items() if k != "_state"})
    record._state.fields_cache = dict(stored._state.fields_cache)
    return record


class DeleteBlocked(ValidationError):
    """Deleting is refused because other records still depend on this one."""

    def __init__(self, *, record: models.Model, blockers: Iterable[models.Model]):
        self.record = record
        self.blocker_pks: dict[type[models.Model], list[int]] = defaultdict(list)
        for obj in blockers:
            self.blocker_pks[type(obj)].append(obj.pk)
        parts = [
            ngettext("%(count)d %(name)s", "%(count)d %(name)s", len(pks))
            % {
                "count": len(pks),
                "name": model._meta.verbose_name if len(pks) == 1 else model._meta.verbose_name_plural,
            }
            for model, pks in self.blocker_pks.items()
        ]
        super().__init__(
            _("“%(record)s” cannot be deleted while it still has %(what)s: reassign or close them first.")
            % {"record": record, "what": ", ".join(parts)}
        )

    def visible_blockers(self, user, limit: int = 5) -> list[models.Model]:
        """Up to `limit` blocking records `user` may open, for links next to the message: one
        query per kind of blocker, whatever their number."""
        found: list[models.Model] = []
        for model, pks in self.blocker_pks.items():
            if len(found) >= limit or not hasattr(model, "get_absolute_url"):
                continue
            queryset = model._default_manager.filter(pk__in=pks)
            if issubclass(model, OwnedModel):
                queryset = restrict(queryset, user, "view")
            found.extend(queryset.order_by("pk")[: limit - len(found)])
        return found


@transaction.atomic
def record_delete(*, record: models.Model, actor, action: str = "delete") -> None:
    """Delete one record (owner, team manager or administrator only), refusing when protected.

    `action="assign"` is for undoing one's own work (reverting an import), where the role's
    delete permission is not the question but control of the record is."""
    ensure_may(actor, record, action, _("You may not delete this record."))
    try:
        with transaction.atomic(), acting_as(actor):
            record.delete()
    except (ProtectedError, RestrictedError) as error:
        blockers = getattr(error, "protected_objects", None) or getattr(error, "restricted_objects", None) or []
        raise DeleteBlocked(record=record, blockers=blockers) from None


@dataclass
class BulkResult:
    """What a bulk action did: how many rows changed and why others were refused."""

    changed: int = 0
    refused: list[str] = field(default_factory=list)


def bulk_delete(*, queryset, actor, data: dict) -> BulkResult:
    """Delete the selected rows one by one (each audited with its values); report the blocked ones."""
    result = BulkResult()
    for record in queryset:
        try:
            record_delete(record=record, actor=actor)
        except DeleteBlocked as error:
            result.refused.extend(error.messages)
        except PermissionDenied:
            continue
        else:
            result.changed += 1
    return result


@transaction.atomic
def bulk_assign_owner(*, queryset, actor, data: dict) -> int:
    """Hand the selected rows to one owner (the lists' "assign owner" action). Only rows the
    actor may assign are touched, and only to someone they may hand records to; one audit
    entry per row, since a bulk update sends no signals."""
    owner = data["owner"]
    check_assignment(actor, owner=owner)
    model = queryset.model
    pks = list(restrict(queryset, actor, "assign").values_list("pk", flat=True))
    if not pks:
        return 0
    with bulk_change(model, pks):
        model._default_manager.filter(pk__in=pks).update(owner=owner, updated_at=timezone.now())
    log_bulk_change(model, pks, actor=actor, changes={"owner": ["…", str(owner)]}, event="bulk_assign_owner")
    return len(pks)
