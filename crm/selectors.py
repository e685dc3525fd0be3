"""Reads of the core: who a record is shared with, which teams a user manages, the audit trail."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm import roles
from crm.audit import EVENT_LABELS, EVENT_REVEAL, PSEUDO_FIELD_LABELS, action_filter, entry_event, entry_label
from crm.exports import EVENT_EXPORT, export_summary
from crm.fields import MASKED
from crm.models import OwnedModel, Team, TeamMembership, User, UserSession
from crm.permissions import is_administrator, managed_team_ids, object_permission_models, restrict


@dataclass(frozen=True)
class Share:
    kind: str  # "user", "team" or "role"
    recipient: User | Group
    label: str
    level: str  # "view" or "change"


def shareable_model(label: str) -> type[OwnedModel]:
    """The owned model named `app_label.model`, or 404: the URL names only shareable models."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        raise Http404 from None
    if not issubclass(model, OwnedModel):
        raise Http404
    try:
        object_permission_models(model)
    except TypeError:
        raise Http404 from None
    return model


def record_shares(obj: models.Model) -> list[Share]:
    """Everyone a record is explicitly shared with, and at which level."""
    user_model, group_model = object_permission_models(type(obj))
    by_user: dict[int, set[str]] = {}
    for row in user_model.objects.filter(content_object=obj).select_related("permission", "user"):
        by_user.setdefault(row.user, set()).add(row.permission.codename.split("_", 1)[0])
    by_group: dict[Group, set[str]] = {}
    for row in group_model.objects.filter(content_object=obj).select_related("permission", "group"):
        by_group.setdefault(row.group, set()).add(row.permission.codename.split("_", 1)[0])
    teams = {t.group_id: t for t in Team.objects.filter(group__in=list(by_group))}
    shares = [
        Share("user", user, str(user), "change" if "change" in actions else "view") for user, actions in by_user.items()
    ]
    for group, actions in by_group.items():
        team = teams.get(group.pk)
        kind, label = ("team", team.name) if team else ("role", roles.role_label(group.name))
        shares.append(Share(kind, group, label, "change" if "change" in actions else "view"))
    return sorted(shares, key=lambda s: (s.kind, s.label))


SAVED_VIEWS = "lists:saved"


def saved_views(*, user, list_key: str):
    """The user's saved views of one list, from the cache once read: every list page shows them,
    and saving or deleting one forgets the user's (crm.signals)."""
    from crm.cache import per_user
    from crm.models import SavedView

    return per_user(
        user,
        f"{SAVED_VIEWS}:{list_key}",
        lambda: list(SavedView.objects.filter(user=user, list_key=list_key).only("name", "query")),
        generation=SAVED_VIEWS,
        timeout=24 * 3600,
        stamp=SAVED_VIEWS,
    )


# --- Audit trail -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass
class AuditRow:
    """One audit entry as a page shows it: what happened, the field diffs, a link to the object."""

    entry: LogEntry
    label: str
    detail: str  # an event key the label does not already tell, e.g. "export"
    changes: list[FieldChange]
    url: str | None = None


@dataclass
class ObjectHistory:
    rows: list[AuditRow]
    content_type_id: int
    object_id: int
    can_view_audit_log: bool  # also decides whether remote addresses are shown


def can_view_audit_log(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm("auditlog.view_logentry"))


def audited_content_types():
    """Content types of every model auditlog records, for the audit page's object type filter."""
    ids = [ct.pk for ct in ContentType.objects.get_for_models(*auditlog.get_models()).values()]
    return ContentType.objects.filter(pk__in=ids).order_by("app_label", "model")


def audit_entries(*, user, filters: dict | None = None) -> QuerySet[LogEntry]:
    """Audit entries `user` may read (all of them for audit viewers, none otherwise), filtered."""
    if not can_view_audit_log(user):
        return LogEntry.objects.none()
    qs = LogEntry.objects.select_related("content_type", "actor")
    filters = filters or {}
    if filters.get("actor"):
        qs = qs.filter(actor=filters["actor"])
    if filters.get("object_type"):
        qs = qs.filter(content_type=filters["object_type"])
    if filters.get("object_id"):
        qs = qs.filter(object_id=filters["object_id"])
    if filters.get("action"):
        qs = qs.filter(action_filter(filters["action"]))
    tz = timezone.get_current_timezone()
    if filters.get("date_from"):
        qs = qs.filter(timestamp__gte=datetime.combine(filters["date_from"], time.min, tzinfo=tz))
    if filters.get("date_to"):
        next_day = filters["date_to"] + timedelta(days=1)
        qs = qs.filter(timestamp__lt=datetime.combine(next_day, time.min, tzinfo=tz))
    return qs


def object_history(obj: models.Model, *, viewer, limit: int = 50) -> ObjectHistory:
    """The newest `limit` changes and access events of one record, for its detail page.

    The caller has already checked that `viewer` may see `obj`.
    """
    content_type = ContentType.objects.get_for_model(obj)
    entries = list(
        LogEntry.objects.filter(content_type=content_type, object_id=obj.pk)
        .select_related("content_type", "actor")
        .order_by("-timestamp", "-id")[:limit]
    )
    return ObjectHistory(
        rows=audit_rows(entries, viewer=viewer, link_objects=False),
        content_type_id=content_type.pk,
        object_id=obj.pk,
        can_view_audit_log=can_view_audit_log(viewer),
    )


def audit_rows(entries: list[LogEntry], *, viewer, link_objects: bool = True) -> list[AuditRow]:
    """Render-ready rows for `entries` in a fixed number of queries.

    Foreign-key values in diffs are looked up once per related model (and only among the
    records `viewer` may see); object links once per content type.
    """
    wanted: dict[type[models.Model], set[int]] = defaultdict(set)
    for entry in entries:
        model = entry.content_type.model_class()
        if model is None:
            continue
        for name, values in (entry.changes or {}).items():
            field = _model_field(model, name)
            if field is not None and field.many_to_one and isinstance(values, list):
                for value in values:
                    if (pk := _as_int(value)) is not None:
                        wanted[field.related_model].add(pk)
    related = {model: _visible_in_bulk(model, pks, viewer) for model, pks in wanted.items()}

    urls: dict[tuple[int, int], str] = {}
    if link_objects:
        by_type: dict[ContentType, set[int]] = defaultdict(set)
        for entry in entries:
            model = entry.content_type.model_class()
            if entry.object_id is not None and model is not None and hasattr(model, "get_absolute_url"):
                by_type[entry.content_type].add(entry.object_id)
        for content_type, pks in by_type.items():
            model = content_type.model_class()
            for pk, obj in _visible_in_bulk(model, pks, viewer).items():
                urls[(content_type.pk, pk)] = obj.get_absolute_url()

    return [
        AuditRow(
            entry=entry,
            label=entry_label(entry),
            detail=_event_detail(entry),
            changes=_field_changes(entry, related),
            url=urls.get((entry.content_type_id, entry.object_id)),
        )
        for entry in entries
    ]


def _event_detail(entry: LogEntry) -> str:
    """What an entry's label does not already tell: an export's rows and whether they carried
    sensitive fields, or the key of an event without a label of its own."""
    event = entry_event(entry)
    if event == EVENT_EXPORT and "export" in entry.additional_data:
        return export_summary(entry.additional_data)
    if event == EVENT_REVEAL:
        model = entry.content_type.model_class()
        fields = [_field_label(model, name) for name in entry.changes or {}]
        return _("Field: %(fields)s") % {"fields": pgettext("list separator", ", ").join(fields)}
    return "" if event in EVENT_LABELS else event


def _visible_in_bulk(model: type[models.Model], pks: set[int], viewer) -> dict:
    queryset = model._default_manager.all()
    if issubclass(model, OwnedModel):
        queryset = restrict(queryset, viewer, "view")
    return queryset.in_bulk(list(pks))


def _model_field(model: type[models.Model], name: str):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _field_label(model, name: str) -> str:
    field = _model_field(model, name) if model is not None else None
    label = str(field.verbose_name) if field is not None and hasattr(field, "verbose_name") else name
    return str(PSEUDO_FIELD_LABELS.get(name, label))


def _field_changes(entry: LogEntry, related: dict) -> list[FieldChange]:
    if entry_event(entry) == EVENT_REVEAL:
        return []  # nothing changed: the detail names the field that was opened
    model = entry.content_type.model_class()
    changes = []
    for name, values in (entry.changes or {}).items():
        field = _model_field(model, name) if model is not None else None
        label = _field_label(model, name)
        if isinstance(values, dict) and values.get("type") == "m2m":
            objects = pgettext("list separator", ", ").join(roles.role_label(str(o)) for o in values.get("objects", []))
            old, new = ("", objects) if values.get("operation") == "add" else (objects, "")
        elif name == "shared_with" and isinstance(values, list) and len(values) == 2:
            old, new = (_share_value(v) for v in values)
        elif isinstance(values, list) and len(values) == 2:
            old, new = (_display_value(field, v, related) for v in values)
        else:
            old, new = "", str(values)
        changes.append(FieldChange(label, old, new))
    return changes


_SHARE_VALUE = re.compile(r"^(user|team|group):(.*?)(?: \((view|change)\))?$")


def _share_value(value) -> str:
    """A logged share ("group:Sales rep (change)") as a person reads it: "销售代表（可查看和编辑）"."""
    match = _SHARE_VALUE.match(str(value or ""))
    if not match:
        return "" if value is None else str(value)
    kind, name, level = match.groups()
    recipient = roles.role_label(name) if kind == "group" else name
    if not level:
        return recipient
    access = _("Can view and edit") if level == "change" else _("Can view")
    return _("%(recipient)s (%(access)s)") % {"recipient": recipient, "access": access}


def _display_value(field, value, related: dict) -> str:
    """A logged value as a person reads it: choice labels, related names, local times."""
    if value is None or value == "None":
        return ""
    if value == MASKED:
        return _("[encrypted]")
    if field is None:
        return str(value)
    if field.many_to_one:
        pk = _as_int(value)
        obj = related.get(field.related_model, {}).get(pk)
        return str(obj) if obj is not None else f"#{value}"
    if getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.BooleanField):
        return str(_("yes") if value in (True, "True") else _("no"))
    if isinstance(field, models.DateTimeField):
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        if timezone.is_naive(moment):  # auditlog stores UTC without an offset
            moment = moment.replace(tzinfo=UTC)
        return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")
    if isinstance(field, models.DateField):
        try:
            return date_format(date.fromisoformat(str(value)), "SHORT_DATE_FORMAT")
        except ValueError:
            return str(value)
    return str(value)


# --- Assignment: whom a user may hand a record to -------------------------------------------


def assignable_teams(user) -> QuerySet[Team]:
    """Teams a user may put records in: their own and the ones they manage (all, for administrators)."""
    if not (user and user.is_authenticated and user.is_active):
        return Team.objects.none()
    if is_administrator(user):
        return Team.objects.order_by("name")
    own = TeamMembership.objects.filter(user_id=user.pk).values("team_id")
    return Team.objects.filter(Q(pk__in=own) | Q(pk__in=managed_team_ids(user))).order_by("name")


def assignable_owners(user) -> QuerySet[User]:
    """Active users a user may hand records to: themselves and the members of the teams they
    manage (every active user, for administrators). One row per user, no DISTINCT needed."""
    if not (user and user.is_authenticated and user.is_active):
        return User.objects.none()
    active = User.objects.filter(is_active=True).order_by("username")
    if is_administrator(user):
        return active
    managed = managed_team_ids(user)
    if not managed:
        return active.filter(pk=user.pk)
    members = TeamMembership.objects.filter(team_id__in=managed).values("user_id")
    return active.filter(Q(pk=user.pk) | Q(pk__in=members))


def sessions_of(user: User, *, limit: int = 50) -> list[UserSession]:
    """The user's own sessions still open, most recently used first ("where you are signed in")."""
    from crm.signin import live_sessions

    return list(live_sessions(UserSession.objects.filter(user=user)).order_by("-last_seen")[:limit])


def own_session(user: User, pk) -> UserSession | None:
    """One of the user's own session records by id; None for another user's, or no such id."""
    return UserSession.objects.filter(user=user, pk=pk).first() if pk is not None else None
