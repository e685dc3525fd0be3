"""The import: upload, map, dry run, batched upsert tagged with the import, resume, revert.

Rows go through the same services as the forms (`company_create`, `contact_update`, ...), so
the same validation, team rules and reach re-checks apply, and auditlog records every write.
Rows are processed in chunks; each chunk commits together with the batch's `next_row`, so a
task that dies mid-import resumes after the last committed chunk and never writes a row twice.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass, field

from auditlog.context import set_actor
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.fields import blind_index_for, normalize_email, normalize_phone, normalize_tax_id
from crm.models import Job, Team, User
from crm.permissions import can, has_role_permission, is_administrator, managed_team_ids, restrict
from customers import services
from customers.importing import columns
from customers.importing.columns import auto_mapping, fields_for, split_full_name
from customers.importing.kinds import ImportKind, get_kind, kind_for_model, kind_names, register_kind
from customers.importing.reading import Table, UnreadableFile, file_format, read_table
from customers.models import Company, Contact, ImportBatch, ImportedRecord, ImportMapping, ImportTarget, Tag

logger = logging.getLogger(__name__)

CHUNK_SIZE = 200
MAX_STORED_ERRORS = 5000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
JOB_KIND = "customers.import"
_TAG_SPLIT = re.compile(r"[,;，；、|]+")
COUNTRIES = {
    "中国": "CN",
    "中国大陆": "CN",
    "china": "CN",
    "prc": "CN",
    "香港": "HK",
    "hong kong": "HK",
    "台湾": "TW",
    "taiwan": "TW",
    "美国": "US",
    "usa": "US",
    "united states": "US",
    "日本": "JP",
    "japan": "JP",
    "英国": "GB",
    "uk": "GB",
    "united kingdom": "GB",
    "德国": "DE",
    "germany": "DE",
    "新加坡": "SG",
    "singapore": "SG",
}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d", "%m/%d/%Y", "%d.%m.%Y")


def model_for(target: str):
    return get_kind(target).model


def may_import(user, target: str) -> bool:
    return has_role_permission(user, model_for(target), "add")


def teams_for(user) -> list[Team]:
    """Teams a user may import into: the ones they belong to (all, for an administrator)."""
    if is_administrator(user):
        return list(Team.objects.all())
    return list(Team.objects.filter(memberships__user=user).distinct())


def visible_mappings(user, target: str | None = None):
    """Saved mappings a user may apply: their own and the shared ones."""
    from django.db.models import Q

    mappings = ImportMapping.objects.filter(Q(owner=user) | Q(shared=True))
    return mappings.filter(target=target) if target else mappings


# --- upload and configuration -------------------------------------------------------------------


def read_batch_table(batch: ImportBatch) -> Table:
    with batch.source.open("rb") as handle:
        data = handle.read()
    return read_table(data, file_format=batch.source_format, encoding=batch.encoding, delimiter=batch.delimiter)


@transaction.atomic
def import_create(
    *,
    actor: User,
    target: str,
    filename: str,
    data: bytes,
    team: Team | None = None,
    saved_mapping: ImportMapping | None = None,
    encoding: str = "",
) -> ImportBatch:
    """Store an uploaded file as a new import, read its header and guess the column mapping."""
    if target not in kind_names() or not may_import(actor, target):
        raise PermissionDenied
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is larger than 20 MB. Split it into smaller files."))
    if team is not None and team not in teams_for(actor):
        raise ValidationError(_("You can only import into your own teams."))
    fmt = file_format(filename)
    if fmt == "vcard" and not get_kind(target).vcard:
        raise ValidationError(_("vCard files hold contacts: import them as contacts."))
    try:
        table = read_table(data, file_format=fmt, encoding=encoding)
    except UnreadableFile as error:
        raise ValidationError(str(error)) from None
    if len(table.rows) > MAX_ROWS:
        raise ValidationError(
            _("The file has more than %(max)d rows. Split it into smaller files.") % {"max": MAX_ROWS}
        )
    batch = ImportBatch(
        kind=JOB_KIND,
        owner=actor,
        target=target,
        source_name=filename[:255],
        source_format=fmt,
        encoding=table.encoding if encoding else "",
        delimiter="",
        headers=table.headers,
        mapping=auto_mapping(table.headers, target, saved_mapping.columns if saved_mapping else None),
        import_team=team,
        total=len(table.rows),
        params={"detected_encoding": table.encoding, "detected_delimiter": table.delimiter},
    )
    batch.source.save(filename[-100:] or "import", ContentFile(data), save=False)
    batch.save()
    return batch


def _check_editable(batch: ImportBatch, actor: User) -> None:
    if batch.owner_id != actor.pk:
        raise PermissionDenied
    checking = batch.stage == ImportBatch.Stage.CHECKING and batch.status in (Job.Status.QUEUED, Job.Status.RUNNING)
    if checking or batch.stage in (ImportBatch.Stage.IMPORTING, ImportBatch.Stage.IMPORTED, ImportBatch.Stage.REVERTED):
        raise ValidationError(_("This import has already run."))


@transaction.atomic
def import_reread(*, batch: ImportBatch, actor: User, encoding: str, delimiter: str) -> ImportBatch:
    """Read the file again with the encoding or delimiter the user chose; the mapping is guessed anew."""
    _check_editable(batch, actor)
    batch.encoding, batch.delimiter = encoding, delimiter
    try:
        table = read_batch_table(batch)
    except UnreadableFile as error:
        raise ValidationError(str(error)) from None
    batch.headers = table.headers
    batch.mapping = auto_mapping(table.headers, batch.target)
    batch.total = len(table.rows)
    batch.stage = ImportBatch.Stage.MAPPING
    batch.save()
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
) -> ImportBatch:
    _check_editable(batch, actor)
    if team is not None and team not in teams_for(actor):
        raise ValidationError(_("You can only import into your own teams."))
    valid = fields_for(batch.target)
    cleaned = {}
    for index, name in mapping.items():
        if not name:
            continue
        if name not in valid or not index.isdigit() or int(index) >= len(batch.headers):
            raise ValidationError(_("Unknown column or field."))
        if name in cleaned.values():
            raise ValidationError(_("“%(field)s” is chosen for more than one column.") % {"field": valid[name]})
        cleaned[index] = name
    get_kind(batch.target).check_mapping(set(cleaned.values()))
    batch.mapping = cleaned
    batch.duplicates = duplicates
    batch.company_policy = company_policy
    batch.import_team = team
    batch.save()
    if save_as:
        from customers.importing.columns import mapping_by_header

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
    _check_editable(batch, actor)
    if not may_import(actor, batch.target):
        raise PermissionDenied
    batch.dry_run = dry_run
    batch.stage = ImportBatch.Stage.CHECKING if dry_run else ImportBatch.Stage.IMPORTING
    batch.status = Job.Status.QUEUED
    batch.next_row = batch.done = batch.error_count = 0
    batch.created_count = batch.updated_count = batch.skipped_count = 0
    batch.row_errors = []
    batch.started_at = batch.finished_at = None
    batch.message = ""
    batch.save()
    if queue:
        from customers.import_tasks import run_import

        transaction.on_commit(lambda: run_import.delay(batch.pk))
    return batch


# --- running --------------------------------------------------------------------------------------


@transaction.atomic
def import_resume(*, batch: ImportBatch, actor: User) -> ImportBatch:
    """Continue an import that stopped with an error, after the last row it committed."""
    if batch.owner_id != actor.pk:
        raise PermissionDenied
    if batch.stage != ImportBatch.Stage.IMPORTING or batch.status != Job.Status.FAILED:
        raise ValidationError(_("Only an interrupted import can be resumed."))
    batch.status, batch.message, batch.finished_at = Job.Status.QUEUED, "", None
    batch.save(update_fields=["status", "message", "finished_at"])
    from customers.import_tasks import run_import

    transaction.on_commit(lambda: run_import.delay(batch.pk))
    return batch


class _DryRunRollback(Exception):
    pass


@dataclass
class _Chunk:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list = field(default_factory=list)
    companies: dict = field(default_factory=dict)  # company name -> Company, for the contacts' column


def _clean_values(batch: ImportBatch, values: list[str]) -> dict[str, str]:
    data = {}
    for index, name in batch.mapping.items():
        position = int(index)
        if name and position < len(values):
            value = (values[position] or "").strip()
            if value:
                data[name] = value
    return data


def _parse_date(value: str) -> datetime.date:
    text = value.strip()
    for fmt in DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text[:19] if "T" not in text else text[:10], fmt).date()
        except ValueError:
            continue
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise ValidationError(_("“%(value)s” is not a date (use 2024-05-31).") % {"value": value}) from None


def _owner_for(batch: ImportBatch, actor: User, username: str | None) -> User:
    if not username or username == actor.get_username():
        return actor
    owner = User.objects.filter(username=username, is_active=True).first()
    if owner is None:
        raise ValidationError(_("There is no user “%(name)s”.") % {"name": username})
    if is_administrator(actor):
        return owner
    if not owner.memberships.filter(team_id__in=managed_team_ids(actor)).exists():
        raise ValidationError(_("You may not give records to %(name)s.") % {"name": username})
    return owner


def _tags(value: str | None) -> list[Tag]:
    tags = []
    for name in _TAG_SPLIT.split(value or ""):
        name = name.strip()[:50]
        if name:
            tags.append(Tag.objects.get_or_create(name=name)[0])
    return tags


def _company_data(data: dict) -> dict:
    fields = {k: v for k, v in data.items() if k in services.COMPANY_FIELDS}
    if "website" in fields and "://" not in fields["website"]:
        fields["website"] = "https://" + fields["website"]
    if "country" in fields:
        country = fields["country"].strip()
        code = COUNTRIES.get(country.lower(), country.upper() if len(country) == 2 and country.isascii() else None)
        if code is None:
            raise ValidationError(_("Use a two-letter country code such as CN, not “%(value)s”.") % {"value": country})
        fields["country"] = code
    return fields


def _contact_data(data: dict) -> dict:
    fields = {k: v for k, v in data.items() if k in services.CONTACT_FIELDS and k != "company"}
    if "full_name" in data and not ({"family_name", "given_name"} & data.keys()):
        family, given = split_full_name(data["full_name"])
        fields.update({k: v for k, v in (("family_name", family), ("given_name", given)) if v})
    if "email" in fields:
        fields["email"] = fields["email"].lower()
    if "birthday" in fields:
        fields["birthday"] = _parse_date(fields["birthday"])
    if not ({"family_name", "given_name", "email", "mobile", "phone"} & {k for k, v in fields.items() if v}):
        raise ValidationError(_("The row has no name, email or phone."))
    return fields


def _find_company(visible, data: dict) -> Company | None:
    if data.get("external_id"):
        found = visible.filter(external_id=data["external_id"]).order_by("id").first()
        if found:
            return found
    if data.get("tax_id"):
        index = blind_index_for(normalize_tax_id, data["tax_id"])
        found = visible.filter(tax_id_bidx=index).order_by("id").first() if index else None
        if found:
            return found
    return visible.filter(name=data["name"], city=data.get("city", "")).order_by("id").first()


def _find_contact(visible, data: dict) -> Contact | None:
    from django.db.models import Q

    if data.get("external_id"):
        found = visible.filter(external_id=data["external_id"]).order_by("id").first()
        if found:
            return found
    if data.get("email"):
        found = visible.filter(email_bidx=blind_index_for(normalize_email, data["email"])).order_by("id").first()
        if found:
            return found
    for key in ("mobile", "phone"):
        index = blind_index_for(normalize_phone, data.get(key))
        if index:
            found = visible.filter(Q(mobile_bidx=index) | Q(phone_bidx=index)).order_by("id").first()
            if found:
                return found
    return None


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
    return previous


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
    data = _clean_values(batch, values)
    owner = _owner_for(batch, actor, data.get("owner"))
    team = batch.import_team
    model = kind.model
    fields = kind.prepare(data)
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
    model = model_for(batch.target)
    for row, values in rows:
        try:
            with transaction.atomic():
                outcome = _import_row(batch, actor, chunk, row, values)
        except (ValidationError, PermissionDenied) as error:
            chunk.errors.append({"row": row, "message": _error_text(error, model), "values": values})
            # A company created for this row was rolled back with it.
            chunk.companies = {k: v for k, v in chunk.companies.items() if v is None or _exists(v)}
            continue
        if outcome == "created":
            chunk.created += 1
        elif outcome == "updated":
            chunk.updated += 1
        else:
            chunk.skipped += 1
    return chunk


def _exists(company: Company) -> bool:
    return Company.objects.filter(pk=company.pk).exists()


def import_run(*, batch_id: int, max_chunks: int | None = None) -> bool:
    """Process the import from its last committed row; returns whether it has finished.

    Safe to call again at any time: a finished import does nothing, an interrupted one resumes.
    `max_chunks` bounds one call's work (the task then queues itself again).
    """
    batch = ImportBatch.objects.select_related("owner").get(pk=batch_id)
    if batch.status in (Job.Status.DONE, Job.Status.FAILED, Job.Status.CANCELLED):
        return True
    actor = batch.owner
    try:
        table = read_batch_table(batch)
    except UnreadableFile as error:
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=Job.Status.FAILED, message=str(error)[:500], finished_at=timezone.now()
        )
        return True
    rows = table.rows
    ImportBatch.objects.filter(pk=batch.pk, started_at__isnull=True).update(started_at=timezone.now())
    ImportBatch.objects.filter(pk=batch.pk).update(status=Job.Status.RUNNING, total=len(rows))
    chunks = 0
    with set_actor(actor):
        while True:
            with transaction.atomic():
                locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
                start = locked.next_row
                if start >= len(rows) or locked.status != Job.Status.RUNNING:
                    break
                part = rows[start : start + CHUNK_SIZE]
                if locked.dry_run:
                    try:
                        with transaction.atomic():
                            result = _run_chunk(locked, actor, part)
                            raise _DryRunRollback(result)
                    except _DryRunRollback as rollback:
                        result = rollback.args[0]
                else:
                    result = _run_chunk(locked, actor, part)
                locked.next_row = start + len(part)
                locked.done = locked.next_row
                locked.created_count += result.created
                locked.updated_count += result.updated
                locked.skipped_count += result.skipped
                locked.error_count += len(result.errors)
                room = MAX_STORED_ERRORS - len(locked.row_errors)
                locked.row_errors = locked.row_errors + result.errors[: max(room, 0)]
                locked.save(
                    update_fields=[
                        "next_row",
                        "done",
                        "created_count",
                        "updated_count",
                        "skipped_count",
                        "error_count",
                        "row_errors",
                    ]
                )
            chunks += 1
            if max_chunks is not None and chunks >= max_chunks:
                return False
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if locked.status == Job.Status.RUNNING:
            locked.status = Job.Status.DONE
            locked.stage = ImportBatch.Stage.CHECKED if locked.dry_run else ImportBatch.Stage.IMPORTED
            locked.finished_at = timezone.now()
            locked.save(update_fields=["status", "stage", "finished_at"])
    return True


def import_fail(*, batch_id: int, message: str) -> None:
    ImportBatch.objects.filter(pk=batch_id).exclude(status=Job.Status.DONE).update(
        status=Job.Status.FAILED, message=message[:500], finished_at=timezone.now()
    )


# --- revert ------------------------------------------------------------------------------------


@dataclass
class RevertOutcome:
    deleted: int = 0
    restored: int = 0
    kept: list = field(default_factory=list)  # (record, reason)


def _restore(*, obj, previous: dict, actor: User) -> None:
    data = dict(previous)
    if "tags" in data:
        data["tags"] = list(Tag.objects.filter(pk__in=data["tags"]))
    if "company" in data:
        data["company"] = Company.objects.filter(pk=data["company"]).first() if data["company"] else None
    if "birthday" in data and data["birthday"]:
        data["birthday"] = datetime.date.fromisoformat(data["birthday"])
    if isinstance(obj, Company):
        services.company_update(company=obj, actor=actor, **data)
    else:
        services.contact_update(contact=obj, actor=actor, **data)


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
    with set_actor(actor):
        for record in records:
            kind = kind_for_model(record.model)
            obj = kind.model.objects.filter(pk=record.object_id).first() if kind else None
            if obj is None:
                continue
            if obj.updated_at != record.stamp:
                outcome.kept.append((str(obj), _("changed after the import")))
                continue
            if not can(actor, obj, "change"):
                outcome.kept.append((str(obj), _("you may no longer change it")))
                continue
            if record.action == ImportedRecord.Action.CREATED:
                obj.delete()
                outcome.deleted += 1
            else:
                kind.restore(obj=obj, previous=record.previous, actor=actor)
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
    """Header and rows of the downloadable error report: the row number, the reason, the row."""
    yield [_("Row"), _("Problem"), *batch.headers]
    for error in batch.row_errors:
        yield [error["row"], error["message"], *error["values"]]


# --- the customers' own kinds ------------------------------------------------------------------


def _check_company_mapping(fields: set[str]) -> None:
    if "name" not in fields:
        raise ValidationError(_("Choose the column that holds the company name."))


def _check_contact_mapping(fields: set[str]) -> None:
    if not {"full_name", "family_name", "given_name", "email", "mobile", "phone"} & fields:
        raise ValidationError(_("Choose at least a name, email or phone column."))


def _prepare_company(data: dict) -> dict:
    if not data.get("name"):
        raise ValidationError(_("The company name is empty."))
    return _company_data(data)


def _create_company(*, actor, owner, team, tags, fields) -> Company:
    return services.company_create(actor=actor, owner=owner, team=team, tags=tags, source="import", **fields)


def _create_contact(*, actor, owner, team, tags, fields) -> Contact:
    return services.contact_create(actor=actor, owner=owner, team=team, tags=tags, **fields)


def register_customer_kinds() -> None:
    """Called from CustomersConfig.ready()."""
    from django.utils.translation import gettext_lazy

    register_kind(
        ImportKind(
            name=ImportTarget.COMPANIES,
            label=ImportTarget.COMPANIES.label,
            model=Company,
            fields=columns.COMPANY_FIELDS,
            aliases=columns.COMPANY_ALIASES,
            prepare=_prepare_company,
            find=_find_company,
            create=_create_company,
            update=lambda *, obj, actor, changes: services.company_update(company=obj, actor=actor, **changes),
            restore=_restore,
            check_mapping=_check_company_mapping,
            list_url="customers:company_list",
            list_label=gettext_lazy("Go to companies"),
            order=10,
            revert_order=20,
            notes_to_timeline=True,
        )
    )
    register_kind(
        ImportKind(
            name=ImportTarget.CONTACTS,
            label=ImportTarget.CONTACTS.label,
            model=Contact,
            fields=columns.CONTACT_FIELDS,
            aliases=columns.CONTACT_ALIASES,
            prepare=_contact_data,
            find=_find_contact,
            create=_create_contact,
            update=lambda *, obj, actor, changes: services.contact_update(contact=obj, actor=actor, **changes),
            restore=_restore,
            check_mapping=_check_contact_mapping,
            list_url="customers:contact_list",
            list_label=gettext_lazy("Go to contacts"),
            order=20,
            revert_order=10,
            vcard=True,
            company_column=True,
            notes_to_timeline=True,
        )
    )
