"""Audit helpers on top of django-auditlog.

Model saves and deletes are logged by auditlog's signals. What signals cannot see is logged
here: access events (revealing a secret, exporting), sharing, sign-in events, and bulk writes
(`QuerySet.update`, `bulk_create`), which write one entry per affected record.

Masking is declared where a model is registered (`auditlog.register(Model, mask_fields=[...])`,
which `crm.fields.encrypted_audit_options` fills in for encrypted fields); `mask_value` is the
default mask (settings.AUDITLOG_MASK_CALLABLE). The helpers here mask the same fields.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from itertools import islice

from auditlog.diff import get_mask_function
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.db.models.signals import pre_save
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from crm.network import client_address

logger = logging.getLogger(__name__)

# The law we follow asks for at least six months of sign-in and change history.
AUDIT_RETENTION_FLOOR_DAYS = 180
PURGE_BATCH_SIZE = 5000
BULK_LOG_BATCH_SIZE = 1000
USERNAME_MAX_LENGTH = 150

# Sign-in events are ACCESS entries on the user, told apart by `additional_data["event"]`.
EVENT_LOGIN = "login"
EVENT_LOGOUT = "logout"
EVENT_LOGIN_FAILED = "login_failed"
EVENT_REVEAL = "reveal"
EVENT_IMPORT = "import"
# Sign-in security (crm/signin.py, crm/mfa.py, crm/directory.py).
EVENT_SIGN_IN_REFUSED = "sign_in_refused"  # right password, but from a network the role may not use
EVENT_MFA_ENROLLED = "mfa_enrolled"
EVENT_MFA_RESET = "mfa_reset"
EVENT_MFA_FAILED = "mfa_failed"
EVENT_SESSION_ENDED = "session_ended"
SIGN_IN_EVENTS = (
    EVENT_LOGIN,
    EVENT_LOGOUT,
    EVENT_LOGIN_FAILED,
    EVENT_SIGN_IN_REFUSED,
    EVENT_MFA_ENROLLED,
    EVENT_MFA_RESET,
    EVENT_MFA_FAILED,
    EVENT_SESSION_ENDED,
)

MASK = "******"


def mask_value(value: str) -> str:
    """Hide a sensitive value completely; keep "empty" visible so a set or a cleared value still shows."""
    if value in ("", "None"):
        return value
    return MASK


def _with_request_context(actor) -> dict:
    """Actor and address as auditlog's context would fill them in on save.

    `bulk_create` sends no pre_save, so the context (request middleware or `set_actor`) is
    applied to a probe entry by sending the signal ourselves. Reading auditlog's context
    variable directly would be wrong: it outlives the block that set it.
    """
    probe = LogEntry(actor=actor if getattr(actor, "pk", None) else None)
    if probe.actor is not None:
        probe.actor_email = getattr(actor, "email", None) or None
    pre_save.send(sender=LogEntry, instance=probe, raw=False, using=LogEntry.objects.db, update_fields=None)
    return {"actor": probe.actor, "actor_email": probe.actor_email, "remote_addr": probe.remote_addr}


def mask_changes(model: type[models.Model], changes: dict) -> dict:
    """`changes` ({field: [old, new]}) with the model's masked fields hidden."""
    if not changes:
        return {}
    if not auditlog.contains(model):
        return dict(changes)
    model_fields = auditlog.get_model_fields(model)
    masked = set(model_fields["mask_fields"])
    mask = get_mask_function(model_fields.get("mask_callable"))
    result = {}
    for name, values in changes.items():
        if name in masked and isinstance(values, (list, tuple)):
            result[name] = [mask(str(v)) for v in values]
        else:
            result[name] = values
    return result


def log_event(
    obj: models.Model,
    *,
    actor,
    action: int = LogEntry.Action.ACCESS,
    changes: dict | None = None,
    event: str = "",
    remote_addr: str | None = None,
) -> LogEntry:
    """Record one audit entry on `obj` for something auditlog's signals do not see."""
    data = {"event": event} if event else None
    has_actor = bool(getattr(actor, "pk", None))
    # Within a request (or set_actor) auditlog fills in the actor, if none is given, and the address on save.
    return LogEntry.objects.log_create(
        obj,
        force_log=True,
        action=action,
        changes=mask_changes(type(obj), changes or {}),
        actor=actor if has_actor else None,
        actor_email=(getattr(actor, "email", None) or None) if has_actor else None,
        remote_addr=remote_addr,
        additional_data=data,
    )


def _batches(iterable: Iterable, size: int):
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def log_bulk_change(
    model: type[models.Model],
    pks: Iterable[int],
    *,
    actor,
    changes: dict,
    event: str,
    action: int = LogEntry.Action.UPDATE,
) -> int:
    """One entry per record for a bulk update that bypassed model signals; returns how many."""
    content_type = ContentType.objects.get_for_model(model)
    changes = mask_changes(model, changes)
    who = _with_request_context(actor)
    now = timezone.now()
    label = str(model._meta.verbose_name)
    written = 0
    # Batches keep memory flat when a bulk action touches hundreds of thousands of rows.
    for batch in _batches(pks, BULK_LOG_BATCH_SIZE):
        entries = [
            LogEntry(
                content_type=content_type,
                object_pk=str(pk),
                object_id=pk,
                object_repr=f"{label} #{pk}",
                action=action,
                changes=changes,
                timestamp=now,
                additional_data={"event": event},
                **who,
            )
            for pk in batch
        ]
        LogEntry.objects.bulk_create(entries)
        written += len(entries)
    return written


def log_sign_in(*, user, request) -> LogEntry:
    return log_event(user, actor=user, event=EVENT_LOGIN, remote_addr=client_address(request))


def log_sign_out(*, user, request) -> LogEntry | None:
    if user is None or not getattr(user, "pk", None):
        return None  # signing out with no session: nothing happened
    return log_event(user, actor=user, event=EVENT_LOGOUT, remote_addr=client_address(request))


def log_sign_in_failure(*, username: str, request) -> LogEntry:
    """A failed sign-in, on the account it named, or on no account when the name is unknown.

    Only the attempted username is kept, cut to the length a username may have.
    """
    user_model = get_user_model()
    username = str(username or "")[:USERNAME_MAX_LENGTH]
    user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first() if username else None
    return LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(user_model),
        object_pk=str(user.pk) if user else "",
        object_id=user.pk if user else None,
        object_repr=username,
        action=LogEntry.Action.ACCESS,
        changes={},
        actor=None,
        remote_addr=client_address(request),
        additional_data={"event": EVENT_LOGIN_FAILED},
    )


def audit_purge(
    *, older_than_days: int | None = None, dry_run: bool = False, batch_size: int = PURGE_BATCH_SIZE
) -> int:
    """Delete audit entries older than `older_than_days` (default AUDIT_RETENTION_DAYS) in batches.

    Refuses a period shorter than the legal floor. Returns how many entries were (or, with
    `dry_run`, would be) removed. Safe to run twice: a second run finds nothing left to delete.
    """
    days = settings.AUDIT_RETENTION_DAYS if older_than_days is None else older_than_days
    if days < AUDIT_RETENTION_FLOOR_DAYS:
        raise ValidationError(
            _("Audit entries must be kept for at least %(days)d days.") % {"days": AUDIT_RETENTION_FLOOR_DAYS}
        )
    cutoff = timezone.now() - timedelta(days=days)
    old = LogEntry.objects.filter(timestamp__lt=cutoff)
    if dry_run:
        return old.count()
    removed = 0
    while True:
        # Each batch is its own short transaction, so a long purge never holds locks for long.
        with transaction.atomic():
            ids = list(old.order_by("timestamp", "id").values_list("id", flat=True)[:batch_size])
            if not ids:
                break
            deleted, _per_model = LogEntry.objects.filter(id__in=ids).delete()
        removed += deleted
    logger.info("audit purge removed %d entries older than %s", removed, cutoff.isoformat())
    return removed


# What the audit page's "action" filter offers: the four auditlog actions and the sign-in events.
ACTION_CHOICES = (
    ("create", pgettext_lazy("audit action", "Created")),
    ("update", pgettext_lazy("audit action", "Changed")),
    ("delete", pgettext_lazy("audit action", "Deleted")),
    ("access", pgettext_lazy("audit action", "Accessed")),
    (EVENT_LOGIN, gettext_lazy("Signed in")),
    (EVENT_LOGOUT, gettext_lazy("Signed out")),
    (EVENT_LOGIN_FAILED, gettext_lazy("Sign-in failed")),
    (EVENT_SIGN_IN_REFUSED, gettext_lazy("Sign-in refused from this network")),
    (EVENT_MFA_ENROLLED, gettext_lazy("Set up a second factor")),
    (EVENT_MFA_RESET, gettext_lazy("Second factor reset")),
    (EVENT_MFA_FAILED, gettext_lazy("Wrong second-factor code")),
    (EVENT_SESSION_ENDED, gettext_lazy("Session ended")),
)
_ACTION_CODES = {
    "create": LogEntry.Action.CREATE,
    "update": LogEntry.Action.UPDATE,
    "delete": LogEntry.Action.DELETE,
    "access": LogEntry.Action.ACCESS,
}
EVENT_LABELS = {
    EVENT_LOGIN: gettext_lazy("Signed in"),
    EVENT_LOGOUT: gettext_lazy("Signed out"),
    EVENT_LOGIN_FAILED: gettext_lazy("Sign-in failed"),
    EVENT_SIGN_IN_REFUSED: gettext_lazy("Sign-in refused from this network"),
    EVENT_MFA_ENROLLED: gettext_lazy("Set up a second factor"),
    EVENT_MFA_RESET: gettext_lazy("Second factor reset"),
    EVENT_MFA_FAILED: gettext_lazy("Wrong second-factor code"),
    EVENT_SESSION_ENDED: gettext_lazy("Session ended"),
    "share": gettext_lazy("Shared"),
    "unshare": gettext_lazy("Sharing removed"),
    "merge": gettext_lazy("Merged"),
    "phone_search": gettext_lazy("Searched by phone number"),
    "export": gettext_lazy("Exported"),
    EVENT_REVEAL: gettext_lazy("Revealed a protected field"),
    EVENT_IMPORT: gettext_lazy("Started an import"),
}


def register_event_label(event: str, label) -> None:
    """Name an event a module logs (`log_event(..., event=...)`) for the history and audit pages."""
    EVENT_LABELS[event] = label


ACTION_LABELS = {
    LogEntry.Action.CREATE: pgettext_lazy("audit action", "Created"),
    LogEntry.Action.UPDATE: pgettext_lazy("audit action", "Changed"),
    LogEntry.Action.DELETE: pgettext_lazy("audit action", "Deleted"),
    LogEntry.Action.ACCESS: pgettext_lazy("audit action", "Accessed"),
}
# Changes logged by our helpers under names that are not model fields.
PSEUDO_FIELD_LABELS = {
    "shared_with": gettext_lazy("shared with"),
    "merged_with": gettext_lazy("merged with"),
    "phone_search": gettext_lazy("searched in (number's blind index)"),
}


def action_filter(key: str) -> Q:
    """The condition for one value of the action filter (see ACTION_CHOICES)."""
    if key in _ACTION_CODES:
        return Q(action=_ACTION_CODES[key])
    if key in SIGN_IN_EVENTS:
        return Q(action=LogEntry.Action.ACCESS, additional_data__event=key)
    raise ValueError(f"Unknown audit action {key!r}")


def entry_event(entry: LogEntry) -> str:
    """The event key an entry was logged with by our helpers, or ""."""
    data = entry.additional_data
    return str(data.get("event", "")) if isinstance(data, dict) else ""


def entry_label(entry: LogEntry) -> str:
    event = entry_event(entry)
    if event in EVENT_LABELS:
        return str(EVENT_LABELS[event])
    return str(ACTION_LABELS.get(entry.action, entry.get_action_display()))


def audit_register(model: type[models.Model], **options) -> None:
    """Register `model` with auditlog the project's way: encrypted values masked, blind indexes
    and reverse relations left out (auditlog would otherwise log "contacts: → Contact.None"
    for every related list, including those later modules add)."""
    from auditlog.registry import auditlog

    from crm.fields import encrypted_audit_options

    reverse = [f.name for f in model._meta.get_fields() if f.auto_created and not f.concrete]
    options["exclude_fields"] = sorted({*options.get("exclude_fields", []), *reverse})
    auditlog.register(model, **encrypted_audit_options(model, **options))


# --- The acting user of a service call --------------------------------------------------------

_acting_user: ContextVar = ContextVar("crm_acting_user", default=None)


@contextmanager
def acting_as(actor):
    """Entries auditlog writes inside this block name `actor`, also outside a request (tasks,
    imports, commands). Unlike auditlog's `set_actor`, it restores the previous value on exit."""
    token = _acting_user.set(actor if getattr(actor, "pk", None) else None)
    try:
        yield
    finally:
        _acting_user.reset(token)


def fill_acting_user(sender, instance, **kwargs) -> None:
    """pre_save of LogEntry: the service's actor wins over the request's (connected in crm.apps,
    before any request context, so it runs first)."""
    actor = _acting_user.get()
    if actor is not None and instance.actor_id is None:
        instance.actor = actor
        instance.actor_email = getattr(actor, "email", None) or None
