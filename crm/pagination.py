"""Keyset pagination: pages stay fast and stable at millions of rows, with no COUNT(*).

A page is addressed by a cursor holding the sort values of the row it starts after (or before).
The sort must end in a unique column (the primary key) and its columns must be NOT NULL, with
an index on them in that order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from crm.params import BadParameter, check_date, cursor_token, parse_cursor


def cursor_values(token: str | None, queryset: QuerySet, fields: list[str]) -> list | None:
    """The sort values a cursor holds, each converted and validated by its model field (a number
    within the column's range, a finite decimal of the column's size, a date within
    `crm.params`' bounds); None for a cursor that does not fit `fields`, which pages read as
    "no cursor"."""
    try:
        values = parse_cursor(token)
    except BadParameter:
        return None
    if values is None or len(values) != len(fields):
        return None
    decoded = []
    for name, value in zip(fields, values, strict=True):
        model_field = queryset.model._meta.get_field(name)
        try:
            value = model_field.to_python(value)
            if value is None:
                return None
            model_field.run_validators(value)
            if isinstance(value, date):
                check_date(value)
        except (ValidationError, BadParameter, TypeError, ValueError, OverflowError):
            return None
        decoded.append(value)
    return decoded


def _after(fields: list[str], descending: list[bool], values: list) -> Q:
    """Rows strictly after `values` in the (mixed-direction) sort order."""
    condition = Q()
    for i in reversed(range(len(fields))):
        op = "lt" if descending[i] else "gt"
        step = Q(**{f"{fields[i]}__{op}": values[i]})
        equal = Q(**{fields[j]: values[j] for j in range(i)})
        step = equal & step if i else step
        condition = step if i == len(fields) - 1 else step | condition
    return condition


@dataclass
class KeysetPage:
    items: list
    next_cursor: str | None = None
    previous_cursor: str | None = None
    size: int = 50
    extra: dict = field(default_factory=dict)

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def keyset_page(
    queryset: QuerySet,
    *,
    ordering: tuple[str, ...],
    after: str | None = None,
    before: str | None = None,
    size: int = 50,
) -> KeysetPage:
    """One page of `queryset` sorted by `ordering` (e.g. ("name", "id") or ("-created_at", "-id"))."""
    fields = [name.lstrip("-") for name in ordering]
    descending = [name.startswith("-") for name in ordering]
    reverse_ordering = [name[1:] if name.startswith("-") else f"-{name}" for name in ordering]

    going_back = False
    qs = queryset
    if before and (values := cursor_values(before, queryset, fields)) is not None:
        qs = qs.filter(_after(fields, [not d for d in descending], values)).order_by(*reverse_ordering)
        going_back = True
    elif after and (values := cursor_values(after, queryset, fields)) is not None:
        qs = qs.filter(_after(fields, descending, values)).order_by(*ordering)
    else:
        qs = qs.order_by(*ordering)
        after = None

    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if going_back:
        rows.reverse()

    def key(row):
        return cursor_token([getattr(row, f"{name}_id" if _is_fk(queryset, name) else name) for name in fields])

    page = KeysetPage(items=rows, size=size)
    if rows:
        if going_back:
            page.next_cursor = key(rows[-1])
            page.previous_cursor = key(rows[0]) if more else None
        else:
            page.next_cursor = key(rows[-1]) if more else None
            page.previous_cursor = key(rows[0]) if after else None
    return page


def _is_fk(queryset: QuerySet, name: str) -> bool:
    return queryset.model._meta.get_field(name).is_relation


def capped_count(queryset: QuerySet, cap: int) -> tuple[int, bool]:
    """Count rows up to `cap` (a bounded scan); returns (count, whether it was capped)."""
    count = queryset.order_by()[: cap + 1].count()
    return min(count, cap), count > cap
