"""Export pages: the company or contact list, as filtered on its list page, to CSV, XLSX or vCard.

Needs the `customers.export_records` permission; up to `INLINE_LIMIT` rows stream at once,
larger exports run in the background and are downloaded by the person who asked for them,
until IMPORT_EXPORT_RETENTION_DAYS have passed (then 410: the file has expired).
"""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from crm.crypto import DecryptionError
from crm.exports import XLSX_CONTENT_TYPE, csv_response, log_export, write_xlsx
from crm.models import Job
from crm.network import client_address
from crm.pagination import capped_count
from crm.permissions import has_role_permission
from customers import exporting
from customers.importing.vcard import vcard_chunks

logger = logging.getLogger(__name__)


def _kind(user, what: str) -> exporting.ExportKind:
    kind = exporting.get_export_kind(what)
    if kind is None:
        raise Http404
    if not (has_role_permission(user, kind.model, "view") and user.has_perm(kind.permission)):
        raise PermissionDenied
    return kind


def _query(request) -> str:
    params = request.GET.copy()
    for key in ("after", "before"):
        params.pop(key, None)
    return params.urlencode()


@login_required
@require_GET
def export_page(request, what):
    kind = _kind(request.user, what)
    queryset, _given = exporting.export_queryset(what=what, user=request.user, query=_query(request))
    count, capped = capped_count(queryset, exporting.INLINE_LIMIT)
    return render(
        request,
        "customers/export_page.html",
        {
            "what": what,
            "title": kind.title,
            "count": count,
            "background": capped,
            "query": _query(request),
            "list_url": reverse(kind.list_url),
            "vcard": kind.vcard,
            "masked": bool(kind.reveal_permission) and not kind.may_reveal(request.user),
            "recent": Job.objects.filter(owner=request.user, kind=exporting.JOB_KIND)[:5],
        },
    )


@login_required
@require_POST
def export_download(request, what):
    kind = _kind(request.user, what)
    fmt = request.POST.get("format", "csv")
    version = request.POST.get("version", "3.0")
    if fmt not in kind.formats or version not in ("3.0", "4.0"):
        return redirect(f"{reverse('customers:export_page', args=[what])}?{_query(request)}")
    query = _query(request)
    queryset, given = exporting.export_queryset(what=what, user=request.user, query=query)
    count = queryset[: exporting.INLINE_LIMIT + 1].count()
    if count > exporting.INLINE_LIMIT:
        job = exporting.export_start(user=request.user, what=what, fmt=fmt, query=query, version=version)
        return redirect("customers:export_job", pk=job.pk)
    reveal = kind.may_reveal(request.user)
    log_export(
        actor=request.user,
        what=what,
        rows=count,
        filters=given,
        file_format=fmt,
        sensitive=reveal,
        remote_addr=client_address(request),
    )
    name = exporting.filename(what, fmt)
    if fmt == "csv":
        return csv_response(exporting.headers(what), exporting.rows(queryset, reveal=reveal, what=what), filename=name)
    if fmt == "vcf":
        chunks = (
            card.encode("utf-8")
            for card in vcard_chunks(queryset.iterator(chunk_size=2000), version=version, reveal=reveal)
        )
        response = StreamingHttpResponse(chunks, content_type="text/vcard; charset=utf-8")
    else:
        import io

        buffer = io.BytesIO()  # at most INLINE_LIMIT rows: small enough to build in memory
        write_xlsx(buffer, exporting.headers(what), exporting.rows(queryset, reveal=reveal, what=what), sheet=what)
        buffer.seek(0)
        return FileResponse(buffer, as_attachment=True, filename=name, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _job_for(user, pk) -> Job:
    try:
        return Job.objects.get(pk=pk, owner=user, kind=exporting.JOB_KIND)
    except Job.DoesNotExist:
        raise Http404 from None


@login_required
@require_GET
def export_job(request, pk):
    job = _job_for(request.user, pk)
    template = "customers/export_job.html#progress" if request.htmx else "customers/export_job.html"
    response = render(request, template, _job_context(job))
    response["Vary"] = "HX-Request"
    return response


def _job_context(job: Job) -> dict:
    return {"job": job, "expired": exporting.file_expired(job), "retention_days": settings.IMPORT_EXPORT_RETENTION_DAYS}


@login_required
@require_GET
def export_file(request, pk):
    """The file of a background export, for the person who asked for it (anyone else: 404), until
    it expires (then 410 with the export's page, which says so)."""
    job = _job_for(request.user, pk)
    if not exporting.may_export(request.user, job.params.get("what", "")):
        raise PermissionDenied
    if job.status != Job.Status.DONE:
        raise Http404
    if not exporting.file_expired(job):
        try:
            handle = job.file.open("rb")
        except FileNotFoundError:
            pass  # deleted from disk ahead of its row: expired all the same
        except DecryptionError:
            # Altered on disk, or its key was removed: the user can only export again.
            logger.exception("export %s: the stored file cannot be decrypted", job.pk)
        else:
            return FileResponse(handle, as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1])
    context = {**_job_context(job), "expired": True}
    return render(request, "customers/export_job.html", context, status=410)
