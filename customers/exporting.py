"""Exports of the company and contact lists: the rows of the list page's filters that the user
may see, sensitive fields masked unless they may reveal them, audited as an access event.

Small exports stream straight to the browser; larger ones are written by a Celery task into a
Job's file, encrypted on disk, which only the person who asked for it downloads, until it is
deleted after IMPORT_EXPORT_RETENTION_DAYS (`crm.storage`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.files import File
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.crypto import is_ciphertext, open_json, seal_json
from crm.exports import log_export, write_csv, write_xlsx
from crm.fields import mask_numbers
from crm.jobs import job_queue
from crm.models import Job
from crm.permissions import restrict
from crm.storage import has_expired
from customers.importing.vcard import write_vcards
from customers.lists import COMPANY_LIST, CONTACT_LIST
from customers.models import Company, Contact

INLINE_LIMIT = 5000
JOB_KIND = "customers.export"
MASK = "******"
FORMATS = ("csv", "xlsx", "vcf")
PERMISSION = "customers.export_records"
REVEAL = "customers.reveal_sensitive"
QUERY_CONTEXT = "crm.job.params.query:" + JOB_KIND


@dataclass(frozen=True)
class ExportKind:
    """One list that can be exported, as filtered on its list page.

    Customers registers companies and contacts; pipeline registers opportunities from its
    `AppConfig.ready()` (customers never imports pipeline), so the export page, the background
    job, the audit entry and the download rules stay one piece of code."""

    name: str
    model: type
    title: Any
    list_spec: Any  # crm.lists.ListSpec
    headers: Callable[[], list]
    row: Callable[..., list]  # row(obj, reveal=bool)
    permission: str
    list_url: str  # URL name of the list page
    reveal_permission: str = ""  # "" for a list without encrypted fields
    select_related: tuple[str, ...] = ("owner", "team")
    prefetch_related: tuple[str, ...] = ()
    vcard: bool = False

    @property
    def formats(self) -> tuple[str, ...]:
        return FORMATS if self.vcard else ("csv", "xlsx")

    def may_reveal(self, user) -> bool:
        return bool(self.reveal_permission) and user.has_perm(self.reveal_permission)


_KINDS: dict[str, ExportKind] = {}


def register_export_kind(kind: ExportKind) -> None:
    _KINDS[kind.name] = kind


def get_export_kind(name: str) -> ExportKind | None:
    return _KINDS.get(name)


def may_export(user, what: str = "companies") -> bool:
    kind = get_export_kind(what)
    return kind is not None and user.has_perm(kind.permission)


def export_queryset(*, what: str, user, query: str):
    """(rows the user may see that match the list's filters, the filters as given)."""
    kind = _KINDS[what]
    spec = kind.list_spec
    params = QueryDict(query)
    filters = {}
    if spec.filter_form is not None:
        form = spec.filter_form(params or None, user=user)
        if form.is_bound and form.is_valid():
            filters = {k: v for k, v in form.cleaned_data.items() if v not in (None, "", [])}
    queryset = restrict(spec.selector(user=user, filters=filters), user, "view")
    queryset = queryset.select_related(*kind.select_related).prefetch_related(*kind.prefetch_related).order_by("pk")
    given = {k: params.getlist(k) for k in params if k not in ("after", "before", "format", "version")}
    return queryset, given


def _masked(value: str, reveal: bool) -> str:
    return value if reveal or not value else MASK


def _tags(obj) -> str:
    return ", ".join(tag.name for tag in obj.tags.all())


def _customer_headers(what: str) -> list[str]:
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


def headers(what: str) -> list[str]:
    return [str(header) for header in _KINDS[what].headers()]


def rows(queryset, *, reveal: bool, what: str | None = None):
    kind = _KINDS[what] if what else _kind_of(queryset.model)
    for obj in queryset.iterator(chunk_size=2000):
        yield kind.row(obj, reveal=reveal)


def _kind_of(model) -> ExportKind:
    return next(kind for kind in _KINDS.values() if kind.model is model)


def filename(what: str, fmt: str) -> str:
    return f"{what}-{timezone.localtime():%Y%m%d-%H%M}.{fmt}"


@transaction.atomic
def export_start(*, user, what: str, fmt: str, query: str, version: str = "3.0") -> Job:
    """Queue a background export of the list as filtered by `query`.

    The filters are sealed: a search by phone number or tax ID would otherwise wait in the
    job's row in clear."""
    sealed_query = seal_json(query, context=QUERY_CONTEXT) if query else ""
    job = Job.objects.create(
        kind=JOB_KIND, owner=user, params={"what": what, "format": fmt, "query": sealed_query, "version": version}
    )
    job_queue(job)
    return job


def _job_query(job: Job) -> str:
    query = job.params.get("query", "")
    return open_json(query, context=QUERY_CONTEXT) if is_ciphertext(query) else query


def file_expired(job: Job) -> bool:
    """Whether a finished export's file is gone: deleted after the retention period, or past it."""
    return job.status == Job.Status.DONE and (not job.file or has_expired(job.created_at))


def export_run(*, job_id: int) -> None:
    job = Job.objects.select_related("owner").get(pk=job_id, kind=JOB_KIND)
    if job.finished:
        return
    user = job.owner
    what, fmt = job.params["what"], job.params["format"]
    queryset, given = export_queryset(what=what, user=user, query=_job_query(job))
    reveal = _KINDS[what].may_reveal(user)
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
            count = write_xlsx(handle, headers(what), counted(rows(queryset, reveal=reveal, what=what)), sheet=what)
        else:
            count = write_csv(handle, headers(what), counted(rows(queryset, reveal=reveal, what=what)))
        handle.seek(0)
        with transaction.atomic():
            job.file.save(filename(what, fmt), File(handle), save=False)
            job.status, job.done, job.finished_at = Job.Status.DONE, count, timezone.now()
            job.save(update_fields=["file", "status", "done", "finished_at"])
            log_export(actor=user, what=what, rows=count, filters=given, file_format=fmt, sensitive=reveal)


def export_fail(*, job_id: int, message: str) -> None:
    Job.objects.filter(pk=job_id).exclude(status=Job.Status.DONE).update(
        status=Job.Status.FAILED, message=mask_numbers(message)[:500], finished_at=timezone.now()
    )


def register_customer_exports() -> None:
    """Called from CustomersConfig.ready()."""
    for what, model, title, spec, list_url in (
        ("companies", Company, gettext_lazy("Export companies"), COMPANY_LIST, "customers:company_list"),
        ("contacts", Contact, gettext_lazy("Export contacts"), CONTACT_LIST, "customers:contact_list"),
    ):
        register_export_kind(
            ExportKind(
                name=what,
                model=model,
                title=title,
                list_spec=spec,
                headers=partial(_customer_headers, what),
                row=row,
                permission=PERMISSION,
                list_url=list_url,
                reveal_permission=REVEAL,
                select_related=("owner", "team", "company") if model is Contact else ("owner", "team"),
                prefetch_related=("tags",),
                vcard=model is Contact,
            )
        )
