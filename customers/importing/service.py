"""The import as the user drives it: upload, map, start (dry run or for real), resume, revert.

The web request only stores the upload; the worker reads it (`running.import_read`) and then
imports it, each time as a stream.

Rows go through the same services as the forms (`company_create`, `contact_update`, ...), so
the same validation, team rules and reach re-checks apply, and auditlog records every write;
`customers.importing.running` processes them in the background, in resumable chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.audit import EVENT_IMPORT, acting_as, log_event
from crm.jobs import job_queue
from crm.models import Job, Team, User
from crm.permissions import can, has_role_permission, is_administrator
from crm.selectors import assignable_teams
from crm.writes import DeleteBlocked, record_delete
from customers.importing.columns import MULTI_VALUE, fields_for, mapping_by_header
from customers.importing.kinds import get_kind, kind_for_model, kind_names
from customers.importing.reading import UnreadableFile, canonical_encoding, file_format
from customers.importing.sealed import open_previous, row_errors
from customers.models import ImportBatch, ImportedRecord, ImportMapping

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
JOB_KIND = "customers.import"


def model_for(target: str):
    return get_kind(target).model


def may_import(user, target: str) -> bool:
    return has_role_permission(user, model_for(target), "add")


def teams_for(user) -> list[Team]:
    """Teams a user may import into: those they may assign records to (crm.selectors)."""
    return list(assignable_teams(user))


def visible_mappings(user, target: str | None = None):
    """Saved mappings a user may apply: their own and the shared ones."""
    mappings = ImportMapping.objects.filter(Q(owner=user) | Q(shared=True))
    return mappings.filter(target=target) if target else mappings


# --- upload, configuration and start ---------------------------------------------------------------


@transaction.atomic
def import_create(
    *,
    actor: User,
    target: str,
    filename: str,
    data: bytes | File,
    team: Team | None = None,
    saved_mapping: ImportMapping | None = None,
    encoding: str = "",
    queue: bool = True,
) -> ImportBatch:
    """Store an uploaded file as a new import and queue its reading (`running.import_read`: the
    header, the first rows, the row count and a guessed column mapping). Nothing of the file is
    parsed here; `data` may be an uploaded file, which is stored as it streams in.

    `queue=False`: the caller runs `running.import_run` itself."""
    if target not in kind_names() or not may_import(actor, target):
        raise PermissionDenied
    size = len(data) if isinstance(data, (bytes, bytearray)) else data.size
    if size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is larger than 20 MB. Split it into smaller files."))
    if team is not None and team not in teams_for(actor):
        raise ValidationError(_("You can only import into your own teams."))
    fmt = file_format(filename)
    if fmt == "unsupported":
        raise ValidationError(_("This kind of spreadsheet cannot be read. Save it as XLSX or CSV and upload that."))
    if fmt == "vcard" and not get_kind(target).vcard:
        raise ValidationError(_("vCard files hold contacts: import them as contacts."))
    try:
        encoding = canonical_encoding(encoding)
    except UnreadableFile as error:
        raise ValidationError(str(error)) from None
    batch = ImportBatch(
        kind=JOB_KIND,
        owner=actor,
        target=target,
        source_name=filename[:255],
        source_format=fmt,
        encoding=encoding,
        delimiter="",
        import_team=team,
        stage=ImportBatch.Stage.READING,
        status=Job.Status.QUEUED,
        # The worker writes its messages in the language the importer is using now.
        params={
            "language": translation.get_language() or "",
            **({"saved_columns": saved_mapping.columns} if saved_mapping else {}),
        },
    )
    content = ContentFile(data) if isinstance(data, (bytes, bytearray)) else data
    batch.source.save(filename[-100:] or "import", content, save=False)
    batch.save()
    if queue:
        job_queue(batch)
    return batch


def check_editable(batch: ImportBatch, actor: User, *, rereading: bool = False) -> None:
    if batch.owner_id != actor.pk:
        raise PermissionDenied
    if batch.stage == ImportBatch.Stage.READING and (not rereading or batch.status != Job.Status.FAILED):
        message = _("The file could not be read.") if batch.finished else _("The file is still being read.")
        raise ValidationError(message)
    checking = batch.stage == ImportBatch.Stage.CHECKING and batch.status in (Job.Status.QUEUED, Job.Status.RUNNING)
    if checking or batch.stage in (ImportBatch.Stage.IMPORTING, ImportBatch.Stage.IMPORTED, ImportBatch.Stage.REVERTED):
        raise ValidationError(_("This import has already run."))


@transaction.atomic
def import_reread(*, batch: ImportBatch, actor: User, encoding: str, delimiter: str) -> ImportBatch:
    """Read the file again, in the background, with the encoding or delimiter the user chose;
    the mapping is guessed anew."""
    check_editable(batch, actor, rereading=True)
    try:
        batch.encoding = canonical_encoding(encoding)
    except UnreadableFile as error:
        raise ValidationError(str(error)) from None
    batch.delimiter = delimiter
    batch.stage, batch.status = ImportBatch.Stage.READING, Job.Status.QUEUED
    batch.message, batch.started_at, batch.finished_at = "", None, None
    batch.save()
    job_queue(batch)
    return batch


@transaction.atomic
def import_configure(
    *,
    batch: ImportBatch,
    actor: User,
    mapping: dict[str, str],
    duplicates: str,
    company_policy: str,
    team: Team | None,
    save_as: str = "",
    share: bool = False,
    date_order: str = "mdy",
) -> ImportBatch:
    check_editable(batch, actor)
    if team is not None and team not in teams_for(actor):
        raise ValidationError(_("You can only import into your own teams."))
    valid = fields_for(batch.target)
    cleaned = {}
    for index, name in mapping.items():
        if not name:
            continue
        if name not in valid or not index.isdigit() or int(index) >= len(batch.headers):
            raise ValidationError(_("Unknown column or field."))
        if name in cleaned.values() and name not in MULTI_VALUE:
            raise ValidationError(_("“%(field)s” is chosen for more than one column.") % {"field": valid[name]})
        cleaned[index] = name
    get_kind(batch.target).check_mapping(set(cleaned.values()))
    batch.mapping = cleaned
    batch.duplicates = duplicates
    batch.company_policy = company_policy
    batch.import_team = team
    batch.params = {**batch.params, "date_order": "dmy" if date_order == "dmy" else "mdy"}
    batch.save()
    if save_as:
        ImportMapping.objects.update_or_create(
            owner=actor,
            target=batch.target,
            name=save_as[:100],
            defaults={"columns": mapping_by_header(batch.headers, cleaned), "shared": share},
        )
    return batch


@transaction.atomic
def import_start(*, batch: ImportBatch, actor: User, dry_run: bool, queue: bool = True) -> ImportBatch:
    """Queue a dry run (writes nothing) or the import itself (`queue=False`: the caller runs it)."""
    check_editable(batch, actor)
    if not may_import(actor, batch.target):
        raise PermissionDenied
    batch.dry_run = dry_run
    batch.stage = ImportBatch.Stage.CHECKING if dry_run else ImportBatch.Stage.IMPORTING
    batch.status = Job.Status.QUEUED
    batch.next_row = batch.done = batch.error_count = 0
    batch.created_count = batch.updated_count = batch.skipped_count = 0
    batch.row_errors = []
    batch.result = {k: v for k, v in batch.result.items() if k != "warnings"}
    batch.started_at = batch.finished_at = None
    batch.message = ""
    batch.save()
    if not dry_run:
        # Who imported which file from where (the address comes from the request's context).
        log_event(batch, actor=actor, event=EVENT_IMPORT, changes={"source_name": ["", batch.source_name]})
    if queue:
        job_queue(batch)
    return batch


# --- resuming after a failure ---------------------------------------------------------------------


@transaction.atomic
def import_resume(*, batch: ImportBatch, actor: User) -> ImportBatch:
    """Continue an import that stopped with an error, after the last row it committed."""
    if batch.owner_id != actor.pk:
        raise PermissionDenied
    if batch.stage != ImportBatch.Stage.IMPORTING or batch.status != Job.Status.FAILED:
        raise ValidationError(_("Only an interrupted import can be resumed."))
    batch.status, batch.message, batch.finished_at = Job.Status.QUEUED, "", None
    batch.save(update_fields=["status", "message", "finished_at"])
    job_queue(batch)
    return batch


# --- revert ------------------------------------------------------------------------------------


@dataclass
class RevertOutcome:
    deleted: int = 0
    restored: int = 0
    kept: list = field(default_factory=list)  # (record, reason)


def _revert_order(model_name: str) -> int:
    kind = kind_for_model(model_name)
    return kind.revert_order if kind else 1000


@transaction.atomic
def import_revert(*, batch: ImportBatch, actor: User) -> RevertOutcome:
    """Delete what the import created and restore what it updated, except records changed since
    (or out of the user's reach now), which are kept and listed."""
    if batch.owner_id != actor.pk and not is_administrator(actor):
        raise PermissionDenied
    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.stage != ImportBatch.Stage.IMPORTED:
        raise ValidationError(_("Only a finished import can be reverted."))
    outcome = RevertOutcome()
    # Contacts before companies, later rows first: undo in the reverse order of doing.
    records = sorted(batch.records.all(), key=lambda r: (_revert_order(r.model), -r.row, -r.pk))
    with acting_as(actor):
        for record in records:
            kind = kind_for_model(record.model)
            obj = kind.model.objects.filter(pk=record.object_id).first() if kind else None
            if obj is None:
                continue
            if obj.updated_at != record.stamp:
                outcome.kept.append((str(obj), _("changed after the import")))
                continue
            created = record.action == ImportedRecord.Action.CREATED
            if not can(actor, obj, "assign" if created else "change"):
                outcome.kept.append((str(obj), _("you may no longer change it")))
                continue
            if created:
                try:
                    record_delete(record=obj, actor=actor, action="assign")
                except DeleteBlocked as error:
                    outcome.kept.append((str(obj), error.messages[0]))
                    continue
                outcome.deleted += 1
            else:
                kind.restore(obj=obj, previous=open_previous(obj, record.previous), actor=actor)
                outcome.restored += 1
    batch.stage = ImportBatch.Stage.REVERTED
    batch.reverted_at = timezone.now()
    batch.result = {
        **batch.result,
        "reverted": {
            "deleted": outcome.deleted,
            "restored": outcome.restored,
            "kept": [f"{name}: {why}" for name, why in outcome.kept],
        },
    }
    batch.save(update_fields=["stage", "reverted_at", "result"])
    return outcome


def error_report_rows(batch: ImportBatch):
    """Header and rows of the downloadable error report: the row number, the reason, the row
    (decrypted for the importing user; after the retention period only the row and reason)."""
    yield [_("Row"), _("Problem"), *batch.headers]
    for error in row_errors(batch):
        outcome = _("Imported, a value left out") if error["warning"] else _("Not imported")
        yield [error["row"], f"{outcome}: {error['message']}", *error["values"]]
