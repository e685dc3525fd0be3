"""Running an import: the file's rows in chunks, each written through the kind's services.

Each chunk commits together with the batch's `next_row`, so a task that dies mid-import resumes
after the last committed chunk and never writes a row twice. A dry run writes each chunk and
rolls it back, so it reports exactly what the import would do.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from itertools import islice

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.audit import acting_as
from crm.fields import mask_numbers
from crm.models import Job, User
from crm.permissions import can, may_assign_owner, restrict, shares_held
from customers import services
from customers.importing.columns import MULTI_VALUE, auto_mapping
from customers.importing.kinds import RowContext, get_kind
from customers.importing.reading import UnreadableFile
from customers.importing.sealed import safe_headers, seal_preview, seal_previous, seal_row_error
from customers.importing.source import open_batch_table
from customers.models import Company, Contact, ImportBatch, ImportedRecord, Tag

CHUNK_SIZE = 200
MAX_ROWS = 100_000
PREVIEW_ROWS = 5
MAX_STORED_ERRORS = 5000
_TAG_SPLIT = re.compile(r"[,;，；、|]+|:::")
# Google Contacts joins several values of one cell with " ::: ".
_GOOGLE_JOIN = " ::: "


class _DryRunRollback(Exception):
    pass


@dataclass
class _Chunk:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)  # (row, message, values): imported, a value left out
    companies: dict = field(default_factory=dict)  # company name -> Company, for the contacts' column


def _clean_values(batch: ImportBatch, values: list[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """({field: text} of the row, {field: further texts}): where several columns fill one field,
    the leftmost non-empty one fills it and the others are kept in the second dict, in order."""
    data: dict[str, str] = {}
    more: dict[str, list[str]] = {}
    for index, name in sorted(batch.mapping.items(), key=lambda item: int(item[0])):
        position = int(index)
        if name and position < len(values):
            value = (values[position] or "").strip()
            if _GOOGLE_JOIN in value and name in MULTI_VALUE:
                value, *rest = (part.strip() for part in value.split(_GOOGLE_JOIN))
                more.setdefault(name, []).extend(part for part in rest if part)
            if value and name in data:
                if value != data[name] and value not in more.get(name, []):
                    more.setdefault(name, []).append(value)
            elif value:
                data[name] = value
    return data, more


def _owner_for(batch: ImportBatch, actor: User, username: str | None) -> User:
    if not username or username == actor.get_username():
        return actor
    owner = User.objects.filter(username=username, is_active=True).first()
    if owner is None:
        raise ValidationError(_("There is no user “%(name)s”.") % {"name": username})
    if not may_assign_owner(actor, owner):
        raise ValidationError(_("You may not give records to %(name)s.") % {"name": username})
    return owner


def _tags(value: str | None) -> list[Tag]:
    tags = []
    for name in _TAG_SPLIT.split(value or ""):
        name = name.strip()[:50]
        if name and not name.startswith("* "):  # Google's own groups: "* myContacts", "* starred"
            tags.append(Tag.objects.get_or_create(name=name)[0])
    return tags


def _snapshot(obj, names) -> dict:
    previous = {}
    for name in names:
        if name == "tags":
            previous["tags"] = sorted(obj.tags.values_list("pk", flat=True))
        elif obj._meta.get_field(name).is_relation:
            previous[name] = getattr(obj, obj._meta.get_field(name).attname)
        else:
            value = getattr(obj, name)
            previous[name] = value.isoformat() if isinstance(value, datetime.date) else value
    return seal_previous(obj, previous)


def _tag_record(batch: ImportBatch, obj, *, action: str, row: int, previous: dict | None = None) -> None:
    record, made = ImportedRecord.objects.get_or_create(
        batch=batch,
        model=obj._meta.model_name,
        object_id=obj.pk,
        defaults={"action": action, "row": row, "previous": previous or {}, "stamp": obj.updated_at},
    )
    if not made:  # a second row of this file wrote the same record: keep the first previous values
        record.stamp = obj.updated_at
        record.save(update_fields=["stamp"])


def _company_for_contact(batch: ImportBatch, actor: User, chunk: _Chunk, name: str, row: int, team) -> Company | None:
    if name in chunk.companies:
        return chunk.companies[name]
    company = restrict(Company.objects.all(), actor, "view").filter(name=name).order_by("id").first()
    if company is None and batch.company_policy == ImportBatch.CompanyPolicy.MATCH_OR_CREATE:
        company = services.company_create(actor=actor, team=team, name=name, source="import")
        _tag_record(batch, company, action=ImportedRecord.Action.CREATED, row=row)
    chunk.companies[name] = company
    return company


def _import_row(batch: ImportBatch, actor: User, chunk: _Chunk, row: int, values: list[str]) -> str:
    """Write one row; returns "created", "updated" or "skipped", or raises ValidationError."""
    kind = get_kind(batch.target)
    data, more = _clean_values(batch, values)
    context = RowContext(date_order=batch.params.get("date_order", "mdy"), more=more)
    try:
        owner = _owner_for(batch, actor, data.get("owner"))
    except ValidationError as error:
        context.reject("; ".join(error.messages))  # reported with the row's other problems
        owner = actor
    team = batch.import_team
    model = kind.model
    if extra := context.more_emails_line():
        data["notes"] = "\n".join(filter(None, [data.get("notes"), extra]))
    fields = kind.prepare(data, context)
    context.check()
    chunk.warnings.extend((row, message, values) for message in context.warnings)
    tags = _tags(data.get("tags"))
    visible = restrict(model.objects.all(), actor, "view")
    existing = None
    if batch.duplicates != ImportBatch.Duplicates.CREATE:
        existing = kind.find(visible, fields)
    if existing is not None and batch.duplicates == ImportBatch.Duplicates.SKIP:
        return "skipped"
    if kind.company_column and data.get("company"):
        fields["company"] = _company_for_contact(batch, actor, chunk, data["company"], row, team)
        if fields["company"] is None:
            del fields["company"]
    if existing is not None:
        # Empty cells leave existing values alone; tags are added, never removed.
        changes = {k: v for k, v in fields.items() if getattr(existing, k) != v}
        if tags:
            changes["tags"] = list({*existing.tags.all(), *tags})
        if not changes:
            return "skipped"
        if not can(actor, existing, "change"):
            raise ValidationError(_("It matches %(record)s, which you may not change.") % {"record": existing})
        previous = _snapshot(existing, changes)
        obj = kind.update(obj=existing, actor=actor, changes=changes)
        _tag_record(batch, obj, action=ImportedRecord.Action.UPDATED, row=row, previous=previous)
        outcome = "updated"
    else:
        obj = kind.create(actor=actor, owner=owner, team=team, tags=tags, fields=fields)
        _tag_record(batch, obj, action=ImportedRecord.Action.CREATED, row=row)
        outcome = "created"
    if kind.notes_to_timeline and data.get("notes"):
        services.record_interaction(
            kind="note",
            summary=data["notes"][:200],
            body=data["notes"],
            actor=actor,
            company=obj if model is Company else None,
            contact=obj if model is Contact else None,
            source_ref=f"customers.import:{batch.pk}",
        )
    return outcome


def _error_text(error: Exception, model) -> str:
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        parts = []
        for name, errors in error.message_dict.items():
            try:
                label = str(model._meta.get_field(name).verbose_name) if name != "__all__" else ""
            except Exception:  # a non-field key
                label = name
            parts.extend(f"{label}: {message}" if label else message for message in errors)
        return "; ".join(parts)
    if isinstance(error, ValidationError):
        return "; ".join(error.messages)
    if isinstance(error, PermissionDenied):
        return str(error) or _("You may not do that.")
    return str(error)


def _run_chunk(batch: ImportBatch, actor: User, rows: list[tuple[int, list[str]]]) -> _Chunk:
    chunk = _Chunk()
    model = get_kind(batch.target).model
    with shares_held(actor):  # the importer's shared records, read once per chunk, not per row
        _run_rows_of_chunk(batch, actor, chunk, model, rows)
    return chunk


def _run_rows_of_chunk(batch: ImportBatch, actor: User, chunk: _Chunk, model, rows) -> None:
    for row, values in rows:
        try:
            with transaction.atomic():
                outcome = _import_row(batch, actor, chunk, row, values)
        except (ValidationError, PermissionDenied) as error:
            chunk.errors.append(seal_row_error(batch.pk, row=row, message=_error_text(error, model), values=values))
            chunk.warnings = [warning for warning in chunk.warnings if warning[0] != row]  # not imported after all
            # A company created for this row was rolled back with it.
            chunk.companies = {k: v for k, v in chunk.companies.items() if v is None or _exists(v)}
            continue
        if outcome == "created":
            chunk.created += 1
        elif outcome == "updated":
            chunk.updated += 1
        else:
            chunk.skipped += 1


def _exists(company: Company) -> bool:
    return Company.objects.filter(pk=company.pk).exists()


def import_read(batch: ImportBatch) -> None:
    """Read the stored upload once through: its header, first rows and row count, refused as soon
    as it passes MAX_ROWS; then the batch waits for its column mapping (stage MAPPING). A file
    that cannot be read fails the batch with the reason, and the user may read it again with
    another encoding or delimiter."""
    ImportBatch.objects.filter(pk=batch.pk).update(status=Job.Status.RUNNING, started_at=timezone.now())
    preview: list[list[str]] = []
    total = 0
    try:
        with open_batch_table(batch, max_rows=MAX_ROWS) as table:
            for _number, values in table.rows:
                if total < PREVIEW_ROWS:
                    preview.append(values)
                total += 1
    except UnreadableFile as error:
        ImportBatch.objects.filter(pk=batch.pk, stage=ImportBatch.Stage.READING).update(
            status=Job.Status.FAILED, message=mask_numbers(str(error))[:500], finished_at=timezone.now()
        )
        return
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.stage != ImportBatch.Stage.READING:
            return
        locked.headers = safe_headers(table.headers)
        locked.mapping = auto_mapping(table.headers, locked.target, locked.params.get("saved_columns"))
        locked.total = total
        locked.params = {
            **locked.params,
            "detected_encoding": table.encoding,
            "detected_delimiter": table.delimiter,
            "preview": seal_preview(locked.pk, preview),
        }
        locked.stage, locked.status = ImportBatch.Stage.MAPPING, Job.Status.QUEUED
        locked.message, locked.finished_at = "", None
        locked.save()


def import_run(*, batch_id: int, max_chunks: int | None = None) -> bool:
    """Read the upload (stage READING) or process the import from its last committed row;
    returns whether this step has finished.

    Safe to call again at any time: a finished import does nothing, an interrupted one resumes.
    `max_chunks` bounds one call's work (the task then queues itself again). The rows are read
    from the file as they are imported; rows already committed are skipped unparsed where the
    format allows (CSV lines are still decoded).
    """
    batch = ImportBatch.objects.select_related("owner").get(pk=batch_id)
    if batch.status in (Job.Status.DONE, Job.Status.FAILED, Job.Status.CANCELLED):
        return True
    actor = batch.owner
    # The report is written in the importer's language, not the worker's.
    language = getattr(actor, "language", "") or batch.params.get("language") or settings.LANGUAGE_CODE
    with acting_as(actor), translation.override(language):
        if batch.stage == ImportBatch.Stage.READING:
            import_read(batch)
            return True
        if batch.stage not in (ImportBatch.Stage.CHECKING, ImportBatch.Stage.IMPORTING):
            return True
        ImportBatch.objects.filter(pk=batch.pk, started_at__isnull=True).update(started_at=timezone.now())
        ImportBatch.objects.filter(pk=batch.pk).update(status=Job.Status.RUNNING)
        try:
            with open_batch_table(batch) as table:
                if not _run_rows(batch, actor, table.rows, max_chunks):
                    return False
        except UnreadableFile as error:
            import_fail(batch_id=batch.pk, message=str(error))
            return True
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status == Job.Status.RUNNING:
            locked.status = Job.Status.DONE
            locked.stage = ImportBatch.Stage.CHECKED if locked.dry_run else ImportBatch.Stage.IMPORTED
            locked.finished_at = timezone.now()
            locked.save(update_fields=["status", "stage", "finished_at"])
    return True


def _run_rows(batch: ImportBatch, actor: User, rows, max_chunks: int | None) -> bool:
    """Import `rows` chunk by chunk from the batch's `next_row`; False when `max_chunks` ran out."""
    rows = iter(rows)
    position = chunks = 0
    while True:
        with transaction.atomic():
            locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            start = locked.next_row
            if locked.status != Job.Status.RUNNING or start < position:
                return True
            next(islice(rows, start - position, start - position), None)  # skip what is committed
            part = list(islice(rows, CHUNK_SIZE))
            position = start + len(part)
            if not part:
                return True
            if locked.dry_run:
                try:
                    with transaction.atomic():
                        result = _run_chunk(locked, actor, part)
                        raise _DryRunRollback(result)
                except _DryRunRollback as rollback:
                    result = rollback.args[0]
            else:
                result = _run_chunk(locked, actor, part)
            locked.next_row = position
            locked.done = locked.next_row
            locked.created_count += result.created
            locked.updated_count += result.updated
            locked.skipped_count += result.skipped
            locked.error_count += len(result.errors)
            warned = [
                {**seal_row_error(batch.pk, row=row, message=message, values=values), "warning": True}
                for row, message, values in result.warnings
            ]
            locked.result = {**locked.result, "warnings": locked.result.get("warnings", 0) + len(warned)}
            room = MAX_STORED_ERRORS - len(locked.row_errors)
            reported = sorted([*result.errors, *warned], key=lambda entry: entry["row"])
            locked.row_errors = locked.row_errors + reported[: max(room, 0)]
            locked.save(
                update_fields=[
                    "next_row",
                    "done",
                    "created_count",
                    "updated_count",
                    "skipped_count",
                    "error_count",
                    "row_errors",
                    "result",
                ]
            )
        chunks += 1
        if max_chunks is not None and chunks >= max_chunks:
            return False


def import_fail(*, batch_id: int, message: str) -> None:
    ImportBatch.objects.filter(pk=batch_id).exclude(status=Job.Status.DONE).update(
        status=Job.Status.FAILED, message=mask_numbers(message)[:500], finished_at=timezone.now()
    )
