"""Import pages: upload, map the columns, dry run, import with progress, error report, revert.

An import belongs to the person who started it: anyone else gets 404 for it.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.exports import csv_response
from crm.fields import mask_numbers
from crm.models import Job
from customers.import_forms import MappingForm, RereadForm, UploadForm
from customers.importing import service
from customers.importing.kinds import find_kind, kind_names
from customers.importing.sealed import open_preview, row_errors
from customers.importing.source import upload_deleted
from customers.models import ImportBatch


def _require_importer(user) -> None:
    if not any(service.may_import(user, target) for target in kind_names()):
        raise PermissionDenied


def _batch_for(user, pk) -> ImportBatch:
    """The user's own import, or 404: imports hold other people's files."""
    _require_importer(user)
    try:
        return ImportBatch.objects.select_related("import_team").get(pk=pk, owner=user)
    except ImportBatch.DoesNotExist:
        raise Http404 from None


def _messages_from(request, error: ValidationError) -> None:
    # A flash message waits in a cookie or the session: a reading error quoting the file's line
    # must not carry a phone number or tax ID there.
    for message in error.messages:
        messages.error(request, mask_numbers(message))


def _render_list(request, form, status=200):
    batches = ImportBatch.objects.filter(owner=request.user).order_by("-created_at")[:30]
    # The kind is looked up here, not by the model: other apps register theirs (pipeline's leads).
    rows = [(batch, find_kind(batch.target)) for batch in batches]
    return render(request, "customers/import_list.html", {"form": form, "rows": rows}, status=status)


@login_required
@require_GET
def import_list(request):
    _require_importer(request.user)
    return _render_list(request, UploadForm(user=request.user))


@login_required
@require_POST
def import_upload(request):
    _require_importer(request.user)
    form = UploadForm(request.POST, request.FILES, user=request.user)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = service.import_create(
                actor=request.user,
                target=form.cleaned_data["target"],
                filename=upload.name,
                data=upload,  # stored as it streams in; the worker reads it
                team=form.cleaned_data["team"],
                saved_mapping=form.cleaned_data["saved_mapping"],
            )
        except ValidationError as error:
            form.add_error("file", error)
        else:
            return redirect(batch)
    return _render_list(request, form, status=400)


def _detail_context(request, batch: ImportBatch, mapping_form=None) -> dict:
    Stage = ImportBatch.Stage
    mappable = batch.stage in (Stage.MAPPING, Stage.CHECKED) or (batch.stage == Stage.CHECKING and batch.finished)
    # The first rows as the worker read them (sealed in the batch): the page never parses the file.
    preview = open_preview(batch) if mappable else []
    read_failed = batch.stage == Stage.READING and batch.status == Job.Status.FAILED
    mapping_form = mapping_form or MappingForm(batch=batch, user=request.user)
    columns = []
    for index, bound in enumerate(mapping_form.columns()):
        columns.append({"field": bound, "samples": [row[index] for row in preview if index < len(row)]})
    return {
        "batch": batch,
        "kind": find_kind(batch.target),
        "editable": mappable,
        # Another encoding or delimiter may read a text file; a workbook that failed must be re-saved.
        "rereadable": mappable or (read_failed and batch.source_format != "xlsx"),
        # After the retention period the upload is gone: say so before the user maps its columns.
        "upload_deleted": str(upload_deleted()) if (mappable or read_failed) and not batch.source else "",
        "mapping_form": mapping_form,
        "columns": columns,
        "reread_form": RereadForm(initial={"encoding": batch.encoding, "delimiter": batch.delimiter}),
        "detected": batch.params,
        "shown_errors": row_errors(batch, limit=100),
        "running": not batch.finished and batch.stage in (Stage.READING, Stage.CHECKING, Stage.IMPORTING),
    }


@login_required
@require_GET
def import_detail(request, pk):
    batch = _batch_for(request.user, pk)
    return render(request, "customers/import_detail.html", _detail_context(request, batch))


@login_required
@require_GET
def import_progress(request, pk):
    batch = _batch_for(request.user, pk)
    context = _detail_context(request, batch)
    response = render(request, "customers/import_detail.html#progress", context)
    response["Vary"] = "HX-Request"
    if not context["running"] and request.htmx:
        response["HX-Refresh"] = "true"  # show the results part of the page, or the column mapping
    return response


@login_required
@require_POST
def import_reread(request, pk):
    batch = _batch_for(request.user, pk)
    form = RereadForm(request.POST)
    if form.is_valid():
        try:
            service.import_reread(batch=batch, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _messages_from(request, error)
    return redirect(batch)


def _configure_and_start(request, pk, *, dry_run: bool):
    batch = _batch_for(request.user, pk)
    try:
        service.check_editable(batch, request.user)
    except ValidationError as error:  # still being read, or already run: no mapping form to show it on
        _messages_from(request, error)
        return render(request, "customers/import_detail.html", _detail_context(request, batch), status=400)
    form = MappingForm(request.POST, batch=batch, user=request.user)
    if form.is_valid():
        try:
            service.import_configure(
                batch=batch,
                actor=request.user,
                mapping=form.mapping(),
                duplicates=form.cleaned_data["duplicates"],
                company_policy=form.cleaned_data.get("company_policy") or batch.company_policy,
                team=form.cleaned_data["team"],
                save_as=form.cleaned_data["save_as"],
                share=form.cleaned_data["share"],
                date_order=form.cleaned_data["date_order"] or "mdy",
            )
            service.import_start(batch=batch, actor=request.user, dry_run=dry_run)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect(batch)
    batch.refresh_from_db()
    return render(request, "customers/import_detail.html", _detail_context(request, batch, form), status=400)


@login_required
@require_POST
def import_check(request, pk):
    """Dry run: every row is validated and matched, nothing is written."""
    return _configure_and_start(request, pk, dry_run=True)


@login_required
@require_POST
def import_start(request, pk):
    return _configure_and_start(request, pk, dry_run=False)


@login_required
@require_POST
def import_resume(request, pk):
    batch = _batch_for(request.user, pk)
    try:
        service.import_resume(batch=batch, actor=request.user)
    except ValidationError as error:
        _messages_from(request, error)
    return redirect(batch)


@login_required
@require_POST
def import_revert(request, pk):
    batch = _batch_for(request.user, pk)
    try:
        outcome = service.import_revert(batch=batch, actor=request.user)
    except ValidationError as error:
        _messages_from(request, error)
        return redirect(batch)
    messages.success(
        request,
        _("Import reverted: %(deleted)d records deleted, %(restored)d restored.")
        % {"deleted": outcome.deleted, "restored": outcome.restored},
    )
    if outcome.kept:
        messages.warning(
            request,
            _("Kept as they are: %(records)s")
            % {"records": "; ".join(f"{name} ({why})" for name, why in outcome.kept[:20])},
        )
    return redirect(batch)


@login_required
@require_GET
def import_errors(request, pk):
    batch = _batch_for(request.user, pk)
    rows = list(service.error_report_rows(batch))
    return csv_response(rows[0], rows[1:], filename=f"import-{batch.pk}-errors.csv")
