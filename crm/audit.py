"""Audit helpers on top of django-auditlog.

Model saves and deletes are logged by auditlog's signals. What signals cannot see is logged
here: access events (revealing a secret, exporting), sharing, and bulk writes
(`QuerySet.update`, `bulk_create`), which write one entry per affected record.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditlog.context import auditlog_value
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models


def _remote_addr() -> str | None:
    context = auditlog_value.get(None) or {}
    return context.get("remote_addr")


def log_event(
    obj: models.Model,
    *,
    actor,
    action: int = LogEntry.Action.ACCESS,
    changes: dict | None = None,
    event: str = "",
) -> LogEntry:
    """Record one audit entry on `obj` for something auditlog's signals do not see."""
    data = {"event": event} if event else None
    return LogEntry.objects.log_create(
        obj,
        force_log=True,
        action=action,
        changes=changes or {},
        actor=actor if getattr(actor, "pk", None) else None,
        remote_addr=_remote_addr(),
        additional_data=data,
    )


def log_bulk_change(
    model: type[models.Model],
    pks: Iterable[int],
    *,
    actor,
    changes: dict,
    event: str,
    action: int = LogEntry.Action.UPDATE,
) -> int:
    """One entry per record for a bulk update that bypassed model signals."""
    content_type = ContentType.objects.get_for_model(model)
    entries = [
        LogEntry(
            content_type=content_type,
            object_pk=str(pk),
            object_id=pk,
            object_repr=f"{model._meta.verbose_name} #{pk}",
            action=action,
            changes=changes,
            actor=actor if getattr(actor, "pk", None) else None,
            remote_addr=_remote_addr(),
            additional_data={"event": event},
        )
        for pk in pks
    ]
    LogEntry.objects.bulk_create(entries, batch_size=1000)
    return len(entries)
