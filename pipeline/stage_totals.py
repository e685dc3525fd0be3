"""Deal totals kept per cell, so that the board and the forecast of a manager or an
administrator add up a few thousand cells instead of every deal they may see.

A cell (`StageTotal`) is one combination of stage, team, owner, expected close month, the deal's
own probability and the month it was won; it holds how many deals sit there and their amount.
Every figure the board and the forecast show is a sum over cells:

- a column's count and total: the cells of its stage; the weighted total: each cell's amount times
  its probability, or the stage's probability for deals without one (so editing a stage's
  probability needs no recount);
- the forecast's open, weighted and committed amounts: open stages by close month; won: won
  stages by the month won (in the company's time zone, `TIME_ZONE`).

What a user may see is the cells of the deals they own and of the teams they manage (`Reach`),
plus the deals shared with them, which are few and are read from the table. A period that does
not start or end on a month boundary ("overdue": up to yesterday) reads its odd days from the
table too.

Kept up to date in the transaction of each write: a deal's save or delete moves it from its old
cell to its new one (`pre_save`/`post_save`/`pre_delete`/`post_delete`); a bulk UPDATE, which sends
no signals, goes through `crm.writes.bulk_change`, whose signals move the rows' sums out and back
in. The increments are upserts in key order (row locks, no lost update between two writers);
anything that writes deals another way (COPY in `generate_data`, a restore) ends with
`reconcile()`, which the nightly task also runs and which logs any cell it had to correct.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, DateField, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.utils import timezone

from crm.permissions import Reach
from crm.writes import bulk_changed, bulk_changing
from pipeline.models import NO_KEY, NO_MONTH, NO_PROBABILITY, Opportunity, StageTotal

log = logging.getLogger(__name__)

# The deal's columns a cell depends on (attribute names), and their model field names.
TRACKED = ("stage_id", "team_id", "owner_id", "expected_close_date", "probability", "won_at", "amount")
TRACKED_FIELDS = {name.removesuffix("_id") for name in TRACKED}
KEY_COLUMNS = ("stage_id", "team_key", "owner_key", "close_month", "probability_key", "won_month")

Key = tuple[int, int, int, datetime.date, int, datetime.date]


@dataclass
class Sums:
    deals: int = 0
    amount: Decimal = Decimal("0")


def month_of(day: datetime.date | None) -> datetime.date:
    return day.replace(day=1) if day else NO_MONTH


def won_month_of(moment: datetime.datetime | None) -> datetime.date:
    if moment is None:
        return NO_MONTH
    return moment.astimezone(ZoneInfo(settings.TIME_ZONE)).date().replace(day=1)


def cell_of(values: dict) -> Key:
    """The cell of a deal, from its tracked values."""
    return (
        values["stage_id"],
        values["team_id"] or NO_KEY,
        values["owner_id"] or NO_KEY,
        month_of(values["expected_close_date"]),
        NO_PROBABILITY if values["probability"] is None else values["probability"],
        won_month_of(values["won_at"]),
    )


def cells_of(queryset: QuerySet[Opportunity]) -> dict[Key, Sums]:
    """The cells of the deals in `queryset` with their sums, counted by the database."""
    rows = (
        queryset.order_by()
        .annotate(
            team_key=Coalesce("team_id", Value(NO_KEY), output_field=IntegerField()),
            owner_key=Coalesce("owner_id", Value(NO_KEY), output_field=IntegerField()),
            # Cast: PostgreSQL's date_trunc() gives a timestamp, which Coalesce would hand back as is.
            close_month=Coalesce(Cast(TruncMonth("expected_close_date"), DateField()), Value(NO_MONTH)),
            probability_key=Coalesce("probability", Value(NO_PROBABILITY), output_field=IntegerField()),
            won_month=Coalesce(
                Cast(TruncMonth("won_at", tzinfo=ZoneInfo(settings.TIME_ZONE)), DateField()), Value(NO_MONTH)
            ),
        )
        .values_list(*KEY_COLUMNS)
        .annotate(deals=Count("*"), total=Sum("amount"))
    )
    return {tuple(row[:6]): Sums(row[6], row[7] or Decimal("0")) for row in rows}


def add(changes: dict[Key, Sums]) -> None:
    """Add signed sums to their cells (created as needed), in key order so that two writers lock
    the same cells in the same order."""
    changes = {key: sums for key, sums in changes.items() if sums.deals or sums.amount}
    if not changes:
        return
    table = connection.ops.quote_name(StageTotal._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in (*KEY_COLUMNS, "deals", "amount"))
    keys = ", ".join(connection.ops.quote_name(c) for c in KEY_COLUMNS)
    ordered = sorted(changes.items())
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), 200):
            chunk = ordered[start : start + 200]
            values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            params = [p for key, sums in chunk for p in (*key, sums.deals, sums.amount)]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values} "  # noqa: S608 (names quoted, values bound)
                f"ON CONFLICT ({keys}) DO UPDATE SET "
                f"deals = {table}.deals + excluded.deals, amount = {table}.amount + excluded.amount",
                params,
            )


def _negated(cells: dict[Key, Sums]) -> dict[Key, Sums]:
    return {key: Sums(-sums.deals, -sums.amount) for key, sums in cells.items()}


# --- Keeping the cells: single writes -----------------------------------------------------------

_SKIP = object()


def _stored(pk) -> dict | None:
    return Opportunity._base_manager.filter(pk=pk).values(*TRACKED).first()


def _normalised(instance: Opportunity) -> dict:
    """The tracked values as the database holds them: an instance may still carry what it was
    given ("1234.50", "2030-01-05") until it is read back."""
    values = {}
    for name in TRACKED:
        value = getattr(instance, name)
        if value is not None and not name.endswith("_id"):
            value = Opportunity._meta.get_field(name).to_python(value)
            if name == "won_at" and timezone.is_naive(value):
                value = timezone.make_aware(value)
        values[name] = value
    return values


@receiver(pre_save, sender=Opportunity, dispatch_uid="stage_totals_pre_save")
def _before_save(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw:
        instance._stage_totals_before = _SKIP  # loaddata: reconcile() counts it
    elif instance._state.adding:
        instance._stage_totals_before = None
    elif update_fields is not None and not TRACKED_FIELDS.intersection(update_fields):
        instance._stage_totals_before = _SKIP
    else:
        instance._stage_totals_before = _stored(instance.pk)


@receiver(post_save, sender=Opportunity, dispatch_uid="stage_totals_post_save")
def _after_save(sender, instance, update_fields=None, **kwargs):
    before = instance.__dict__.pop("_stage_totals_before", _SKIP)
    if before is _SKIP:
        return
    after = _normalised(instance)
    if update_fields is not None and before is not None:
        # Only the named fields were written; the others are what the row held.
        written = {Opportunity._meta.get_field(name).attname for name in update_fields}
        after = {name: after[name] if name in written else before[name] for name in TRACKED}
    if before == after:
        return
    changes: dict[Key, Sums] = defaultdict(Sums)
    if before is not None:
        cell = changes[cell_of(before)]
        cell.deals, cell.amount = cell.deals - 1, cell.amount - before["amount"]
    cell = changes[cell_of(after)]
    cell.deals, cell.amount = cell.deals + 1, cell.amount + (after["amount"] or Decimal("0"))
    add(changes)


@receiver(pre_delete, sender=Opportunity, dispatch_uid="stage_totals_pre_delete")
def _before_delete(sender, instance, **kwargs):
    instance._stage_totals_before = _stored(instance.pk)


@receiver(post_delete, sender=Opportunity, dispatch_uid="stage_totals_post_delete")
def _after_delete(sender, instance, **kwargs):
    before = instance.__dict__.pop("_stage_totals_before", None)
    if before is not None:
        add({cell_of(before): Sums(-1, -before["amount"])})


# --- Keeping the cells: bulk updates -----------------------------------------------------------


@receiver(bulk_changing, sender=Opportunity, dispatch_uid="stage_totals_bulk_changing")
def _before_bulk(sender, pks: Iterable[int], **kwargs):
    add(_negated(cells_of(Opportunity._base_manager.filter(pk__in=list(pks)))))


@receiver(bulk_changed, sender=Opportunity, dispatch_uid="stage_totals_bulk_changed")
def _after_bulk(sender, pks: Iterable[int], **kwargs):
    add(cells_of(Opportunity._base_manager.filter(pk__in=list(pks))))


# --- Reconciling -------------------------------------------------------------------------------


@transaction.atomic
def reconcile() -> int:
    """Recount every cell from the deals and correct those that differ; returns how many did.

    On PostgreSQL the cells are locked against writers first: a deal saved meanwhile waits, then
    adds its change to the recounted cells; one saved before is in the recount.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {connection.ops.quote_name(StageTotal._meta.db_table)} IN EXCLUSIVE MODE")
    actual = cells_of(Opportunity._base_manager.all())
    kept = {
        tuple(row[:6]): Sums(row[6], row[7])
        for row in StageTotal.objects.values_list(*KEY_COLUMNS, "deals", "amount").iterator(chunk_size=10_000)
    }
    changes: dict[Key, Sums] = {}
    for key in actual.keys() | kept.keys():
        want, have = actual.get(key, Sums()), kept.get(key, Sums())
        if want.deals != have.deals or want.amount != have.amount:
            changes[key] = Sums(want.deals - have.deals, want.amount - have.amount)
    add(changes)
    StageTotal.objects.filter(deals=0).delete()
    if changes and kept:
        log.warning("stage totals: %d cells recounted", len(changes))
    return len(changes)


# --- Reading -----------------------------------------------------------------------------------


def visible_cells(scope: Reach) -> QuerySet[StageTotal]:
    """The cells of the deals `scope` owns or manages (all of them for those who see everything)."""
    if scope.everything:
        return StageTotal.objects.all()
    if scope.owner_id is None and not scope.team_ids:
        return StageTotal.objects.none()
    return StageTotal.objects.filter(scope.owned(owner="owner_key", team="team_key"))


def shares_beyond(scope: Reach, queryset: QuerySet[Opportunity]) -> QuerySet[Opportunity] | None:
    """The deals of `queryset` that `scope` reaches only by a share (None when there are none):
    the part of a total that the cells do not hold."""
    if scope.everything or scope.shared == Q(pk__in=[]):
        return None
    return queryset.filter(scope.shared).exclude(scope.owned())


def whole_months(start: datetime.date, end: datetime.date) -> tuple[tuple, list[tuple]]:
    """Split [start, end] into its whole months (a range of month starts, or None) and the odd
    days before and after them (ranges of dates), which the cells cannot answer."""
    first = start if start.day == 1 else month_of(start + datetime.timedelta(days=31 - start.day + 1))
    after_end = end + datetime.timedelta(days=1)
    last = month_of(after_end) if after_end.day != 1 else after_end  # first day past the whole months
    if first >= last:
        return None, [(start, end)]
    odd = []
    if start < first:
        odd.append((start, first - datetime.timedelta(days=1)))
    if last <= end:
        odd.append((last, end))
    return (first, month_of(last - datetime.timedelta(days=1))), odd
