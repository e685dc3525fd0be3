"""Export pages: the company or contact list, as filtered on its list page, to CSV, XLSX or vCard.

Needs the `customers.export_records` permission; up to `INLINE_LIMIT` rows stream at once,
larger exports run in the background and are downloaded by the person who asked for them.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.exports import XLSX_CONTENT_TYPE, csv_response, log_export, write_xlsx
from crm.models import Job
from crm.network import client_address
from crm.pagination import capped_count
from crm.permissions import has_role_permission
from customers import exporting
from customers.importing.vcard import vcard_chunks
from customers.models import Company, Contact

WHAT = {"companies": Company, "contacts": Contact}


def _check(user, what: str) -> None:
    if what not in WHAT:
        raise Http404
    if not (has_role_permission(user, WHAT[what], "view") and exporting.may_export(user)):
        raise PermissionDenied


def _query(request) -> str:
    params = request.GET.copy()
    for key in ("after", "before"):
        params.pop(key, None)
    return params.urlencode()


@login_required
@require_GET
def export_page(request, what):
    _check(request.user, what)
    queryset, _given = exporting.export_queryset(what=what, user=request.user, query=_query(request))
    count, capped = capped_count(queryset, exporting.INLINE_LIMIT)
    list_url = reverse(f"customers:{'contact' if what == 'contacts' else 'company'}_list")
    return render(
        request,
        "customers/export_page.html",
        {
            "what": what,
            "title": _("Export contacts") if what == "contacts" else _("Export companies"),
            "count": count,
            "background": capped,
            "query": _query(request),
            "list_url": list_url,
            "masked": not request.user.has_perm(exporting.REVEAL),
            "recent": Job.objects.filter(owner=request.user, kind=exporting.JOB_KIND)[:5],
        },
    )


@login_required
@require_POST
def export_download(request, what):
    _check(request.user, what)
    fmt = request.POST.get("format", "csv")
    version = request.POST.get("version", "3.0")
    if fmt not in exporting.FORMATS or (fmt == "vcf" and what != "contacts") or version not in ("3.0", "4.0"):
        return redirect(f"{reverse('customers:export_page', args=[what])}?{_query(request)}")
    query = _query(request)
    queryset, given = exporting.export_queryset(what=what, user=request.user, query=query)
    count = queryset[: exporting.INLINE_LIMIT + 1].count()
    if count > exporting.INLINE_LIMIT:
        job = exporting.export_start(user=request.user, what=what, fmt=fmt, query=query, version=version)
        return redirect("customers:export_job", pk=job.pk)
    reveal = request.user.has_perm(exporting.REVEAL)
    log_export(
        actor=request.user, what=what, rows=count, filters=given, file_format=fmt, remote_addr=client_address(request)
    )
    name = exporting.filename(what, fmt)
    if fmt == "csv":
        return csv_response(exporting.headers(what), exporting.rows(queryset, reveal=reveal), filename=name)
    if fmt == "vcf":
        chunks = (
            card.encode("utf-8")
            for card in vcard_chunks(queryset.iterator(chunk_size=2000), version=version, reveal=reveal)
        )
        response = StreamingHttpResponse(chunks, content_type="text/vcard; charset=utf-8")
    else:
        import io

        buffer = io.BytesIO()  # at most INLINE_LIMIT rows: small enough to build in memory
        write_xlsx(buffer, exporting.headers(what), exporting.rows(queryset, reveal=reveal), sheet=what)
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
    response = render(request, template, {"job": job})
    response["Vary"] = "HX-Request"
    return response


@login_required
@require_GET
def export_file(request, pk):
    job = _job_for(request.user, pk)
    if not exporting.may_export(request.user):
        raise PermissionDenied
    if job.status != Job.Status.DONE or not job.file:
        raise Http404
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1])
