"""Dropdowns of reference data (teams, stages, pipelines, tags, roles...) from memory.

A list page's filter and bulk-action forms hold about ten `<select>`s whose options are a table
of a few rows, read at every render: ten queries, and the model instances built for them, were a
third of a list page's server time. The options of a field whose model is registered here are
kept in the worker's memory, by the query that lists them (so two users whose choices differ
never share an entry), the language and how the field labels them.

They are right after any change: every save, delete or membership change of a registered model
bumps one version number in Redis, again when its transaction commits, and a request reads that
number once, when it first needs it (`request_started` forgets it). Nothing read inside a
transaction is kept (it could hold a change that is rolled back). A request that finds Redis
away, or no number, reads the table.

Registering a model means: every query of a cached dropdown reads registered models only (the
Team dropdown filtered by memberships: Team and TeamMembership are both registered); a table
written behind the ORM's back (a queryset `update()`) must call `changed()`.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.signals import request_started
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.forms.models import ModelChoiceIterator, ModelChoiceIteratorValue
from django.utils.translation import get_language

VERSION_KEY = "crm:choices:version"
MAX_ENTRIES = 500
# Saving these fields alone changes no label and no membership (a sign-in's last_login).
IGNORED_UPDATES = frozenset({"last_login", "password", "updated_at"})

_registered: set[type[models.Model]] = set()
_entries: OrderedDict[tuple, list] = OrderedDict()
_lock = threading.Lock()
_request = threading.local()


def register(*registered: type[models.Model]) -> None:
    """Keep the dropdown choices of these models in memory (see the module's rules)."""
    for model in registered:
        if model in _registered:
            continue
        _registered.add(model)
        post_save.connect(_saved, sender=model, weak=False, dispatch_uid=f"choices_save_{model._meta.label}")
        post_delete.connect(_changed, sender=model, weak=False, dispatch_uid=f"choices_delete_{model._meta.label}")
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(
                _changed, sender=field.remote_field.through, weak=False, dispatch_uid=f"choices_m2m_{field}"
            )


def is_registered(model: type[models.Model]) -> bool:
    return model in _registered


def changed() -> None:
    """Registered data changed: every worker reads the choices afresh, now and after the commit."""
    _new_version()
    transaction.on_commit(_new_version)


def _new_version() -> None:
    _request.version = uuid.uuid4().hex
    cache.set(VERSION_KEY, _request.version, timeout=None)


def _saved(sender, update_fields=None, **kwargs):
    if update_fields is not None and set(update_fields) <= IGNORED_UPDATES:
        return
    changed()


def _changed(sender, **kwargs):
    changed()


def _forget_version(**kwargs):
    _request.__dict__.pop("version", None)


def forget() -> None:
    """Drop what this worker holds (tests, whose database is emptied without signals)."""
    _forget_version()
    with _lock:
        _entries.clear()
    cache.delete(VERSION_KEY)


request_started.connect(_forget_version, dispatch_uid="choices_forget_version")


def _version() -> str | None:
    version = getattr(_request, "version", None)
    if version is None:
        version = cache.get(VERSION_KEY)
        if version is None and cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None):
            version = cache.get(VERSION_KEY)
        _request.version = version
    return version


def cached_rows(queryset: models.QuerySet, build=list, tag: str = "") -> list:
    """`build(queryset)` from the worker's memory while no registered model changed: for options
    a form builds itself (`values_list` of a registered model). `tag` tells apart two builds of
    the same query; every model the query reads must be registered."""
    version = None if transaction.get_connection(queryset.db).in_atomic_block else _version()
    if version is None:
        return build(queryset)
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return []
    key = (version, queryset.db, sql, tuple(map(str, params)), get_language(), tag)
    with _lock:
        found = _entries.get(key)
        if found is not None:
            _entries.move_to_end(key)
            return found
    rows = build(queryset)
    with _lock:
        _entries[key] = rows
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return rows


class CachedChoiceIterator(ModelChoiceIterator):
    """A ModelChoiceField's options from memory when the worker has them for this version."""

    def _choices(self) -> list[tuple]:
        label = self.field.label_from_instance
        return cached_rows(
            self.queryset,
            lambda queryset: [(obj.pk, label(obj)) for obj in queryset],
            tag=getattr(label, "__qualname__", ""),
        )

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for pk, label in self._choices():
            yield (ModelChoiceIteratorValue(pk, None), label)

    def __len__(self):
        return len(self._choices()) + (1 if self.field.empty_label is not None else 0)

    def __bool__(self):
        return self.field.empty_label is not None or bool(self._choices())


def use_cached_choices(field) -> None:
    """Render `field`'s options from memory when its model is registered."""
    if getattr(field, "queryset", None) is None or not is_registered(field.queryset.model):
        return
    field.iterator = CachedChoiceIterator
    field.widget.choices = field.choices
