"""Exports of the company and contact lists: the rows of the list page's filters that the user
may see, sensitive fields masked unless they may reveal them, audited as an access event.

Small exports stream straight to the browser; larger ones are written by a Celery task into a
Job's file, which only the person who asked for it downloads.
"""

from __future__ import annotations

import tempfile

from django.core.files import File
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.exports import log_export, write_csv, write_xlsx
from crm.jobs import job_queue
from crm.models import Job
from crm.permissions import restrict
from customers.importing.vcard import write_vcards
from customers.lists import COMPANY_LIST, CONTACT_LIST
from customers.models import Contact

INLINE_LIMIT = 5000
JOB_KIND = "customers.export"
MASK = "******"
FORMATS = ("csv", "xlsx", "vcf")
PERMISSION = "customers.export_records"
REVEAL = "customers.reveal_sensitive"


def may_export(user) -> bool:
    return user.has_perm(PERMISSION)


def list_spec(what: str):
    return CONTACT_LIST if what == "contacts" else COMPANY_LIST


def export_queryset(*, what: str, user, query: str):
    """(rows the user may see that match the list's filters, the filters as given)."""
    spec = list_spec(what)
    params = QueryDict(query)
    filters = {}
    if spec.filter_form is not None:
        form = spec.filter_form(params or None, user=user)
        if form.is_bound and form.is_valid():
            filters = {k: v for k, v in form.cleaned_data.items() if v not in (None, "", [])}
    queryset = restrict(spec.selector(user=user, filters=filters), user, "view")
    related = ["owner", "team"] + (["company"] if what == "contacts" else [])
    queryset = queryset.select_related(*related).prefetch_related("tags").order_by("pk")
    given = {k: params.getlist(k) for k in params if k not in ("after", "before", "format", "version")}
    return queryset, given


def _masked(value: str, reveal: bool) -> str:
    return value if reveal or not value else MASK


def _tags(obj) -> str:
    return ", ".join(tag.name for tag in obj.tags.all())


def headers(what: str) -> list[str]:
    if what == "contacts":
        return [
            _("ID"),
            _("Name"),
            _("Family name"),
            _("Given name"),
            _("Job title"),
            _("Company"),
            _("Email"),
            _("Phone"),
            _("Mobile"),
            _("Birthday"),
            _("External ID"),
            _("Tags"),
            _("Owner"),
            _("Team"),
            _("Created"),
        ]
    return [
        _("ID"),
        _("Name"),
        _("Legal name"),
        _("Industry"),
        _("Website"),
        _("Country"),
        _("Province / state"),
        _("City"),
        _("Street address"),
        _("Postcode"),
        _("Phone"),
        _("Tax ID"),
        _("Lifecycle status"),
        _("Grade"),
        _("External ID"),
        _("Tags"),
        _("Owner"),
        _("Team"),
        _("Created"),
    ]


def row(obj, *, reveal: bool) -> list:
    owner, team = str(obj.owner), str(obj.team or "")
    if isinstance(obj, Contact):
        return [
            obj.pk,
            obj.display_name,
            obj.family_name,
            obj.given_name,
            obj.title,
            obj.company.name if obj.company_id else "",
            obj.email,
            _masked(obj.phone, reveal),
            _masked(obj.mobile, reveal),
            obj.birthday,
            obj.external_id,
            _tags(obj),
            owner,
            team,
            obj.created_at,
        ]
    return [
        obj.pk,
        obj.name,
        obj.legal_name,
        obj.industry,
        obj.website,
        obj.country,
        obj.province,
        obj.city,
        obj.street,
        obj.postcode,
        _masked(obj.phone, reveal),
        _masked(obj.tax_id, reveal),
        obj.get_lifecycle_display(),
        obj.grade,
        obj.external_id,
        _tags(obj),
        owner,
        team,
        obj.created_at,
    ]


def rows(queryset, *, reveal: bool):
    for obj in queryset.iterator(chunk_size=2000):
        yield row(obj, reveal=reveal)


def filename(what: str, fmt: str) -> str:
    return f"{what}-{timezone.localtime():%Y%m%d-%H%M}.{fmt}"


@transaction.atomic
def export_start(*, user, what: str, fmt: str, query: str, version: str = "3.0") -> Job:
    """Queue a background export of the list as filtered by `query`."""
    job = Job.objects.create(
        kind=JOB_KIND, owner=user, params={"what": what, "format": fmt, "query": query, "version": version}
    )
    job_queue(job)
    return job


def export_run(*, job_id: int) -> None:
    job = Job.objects.select_related("owner").get(pk=job_id, kind=JOB_KIND)
    if job.finished:
        return
    user = job.owner
    what, fmt = job.params["what"], job.params["format"]
    queryset, given = export_queryset(what=what, user=user, query=job.params.get("query", ""))
    reveal = user.has_perm(REVEAL)
    total = queryset.count()
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING, total=total, started_at=timezone.now())

    def counted(source):
        for done, item in enumerate(source, start=1):
            if done % 1000 == 0:
                Job.objects.filter(pk=job.pk).update(done=done)
            yield item

    with tempfile.TemporaryFile() as handle:
        if fmt == "vcf":
            version = job.params.get("version", "3.0")
            count = write_vcards(handle, counted(queryset.iterator(chunk_size=2000)), version=version, reveal=reveal)
        elif fmt == "xlsx":
            count = write_xlsx(handle, headers(what), counted(rows(queryset, reveal=reveal)), sheet=what)
        else:
            count = write_csv(handle, headers(what), counted(rows(queryset, reveal=reveal)))
        handle.seek(0)
        with transaction.atomic():
            job.file.save(filename(what, fmt), File(handle), save=False)
            job.status, job.done, job.finished_at = Job.Status.DONE, count, timezone.now()
            job.save(update_fields=["file", "status", "done", "finished_at"])
            log_export(actor=user, what=what, rows=count, filters=given, file_format=fmt)


def export_fail(*, job_id: int, message: str) -> None:
    Job.objects.filter(pk=job_id).exclude(status=Job.Status.DONE).update(
        status=Job.Status.FAILED, message=message[:500], finished_at=timezone.now()
    )
