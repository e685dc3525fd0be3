"""The kanban board of one pipeline: per-stage totals and the first cards of each column.

What keeps it fast at millions of deals:

- Totals are sums of the stage totals (`pipeline.stage_totals`): cells per stage, team, owner
  and close month kept up to date as deals change, so a manager's or an administrator's board
  adds up thousands of cells, not every open deal they see. Deals reached only by a share, and
  the odd days of an "overdue" filter, are grouped from the deals (`totals_queryset`, an
  index-only scan of `opp_board_totals`).
- Cards are the first N of each column by amount: one query, a UNION ALL of one `LIMIT N+1`
  per stage, each walking the `(stage, -amount, -id)` index. "More" continues by keyset.
  SQLite cannot limit the parts of a UNION, so there it is one such query per stage.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connections
from django.db.models import Case, Count, DecimalField, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.permissions import reach, restrict
from pipeline import stage_totals
from pipeline.models import NO_MONTH, NO_PROBABILITY, Opportunity, Pipeline, Stage
from pipeline.opportunity_selectors import is_stale, stale_reason, visible_opportunities

CARDS_PER_COLUMN = 20
CARD_FIELDS = ("owner", "company", "stage")


@dataclass
class BoardColumn:
    stage: Stage
    count: int = 0
    total: Decimal = Decimal("0")
    weighted: Decimal = Decimal("0")
    cards: list = field(default_factory=list)
    more: tuple[Decimal, int] | None = None  # keyset position of the last card shown


def close_period(period: str, today: datetime.date | None = None) -> tuple[datetime.date, datetime.date] | None:
    """First and last day of a named close period ("this_month", "next_quarter", ...)."""
    today = today or timezone.localdate()

    def month_start(year: int, month: int) -> datetime.date:
        year += (month - 1) // 12
        return datetime.date(year, (month - 1) % 12 + 1, 1)

    if period in ("this_month", "next_month"):
        start = month_start(today.year, today.month + (period == "next_month"))
        end = month_start(start.year, start.month + 1) - datetime.timedelta(days=1)
    elif period in ("this_quarter", "next_quarter"):
        first = (today.month - 1) // 3 * 3 + 1 + (3 if period == "next_quarter" else 0)
        start = month_start(today.year, first)
        end = month_start(start.year, start.month + 3) - datetime.timedelta(days=1)
    elif period == "this_year":
        start, end = datetime.date(today.year, 1, 1), datetime.date(today.year, 12, 31)
    elif period == "overdue":
        return datetime.date.min, today - datetime.timedelta(days=1)
    else:
        return None
    return start, end


def board_queryset(*, user, pipeline: Pipeline, filters: dict) -> QuerySet[Opportunity]:
    qs = visible_opportunities(user).filter(pipeline=pipeline)
    if filters.get("owner"):
        qs = qs.filter(owner=filters["owner"])
    if filters.get("team"):
        qs = qs.filter(team=filters["team"])
    if period := close_period(filters.get("close") or ""):
        qs = qs.filter(expected_close_date__range=period)
    return qs


def pipeline_stages(pipeline: Pipeline) -> list[Stage]:
    return list(pipeline.stages.order_by("order", "pk"))


def totals_queryset(*, user, pipeline: Pipeline, stages: list[Stage], filters: dict) -> QuerySet:
    """Count, total and weighted total per stage, read from the deals themselves: one GROUP BY over
    the covering index. The board reads `column_totals` (from the stage totals) instead; this is
    what they are checked against."""
    return _grouped(board_queryset(user=user, pipeline=pipeline, filters=filters), stages)


def _grouped(deals: QuerySet[Opportunity], stages: list[Stage]) -> QuerySet:
    stage_probability = Case(
        *[When(stage_id=s.pk, then=Value(s.probability)) for s in stages],
        default=Value(0),
        output_field=IntegerField(),
    )
    money = DecimalField(max_digits=20, decimal_places=2)
    return (
        deals.order_by()
        .values("stage_id")
        .annotate(
            n=Count("*"),
            total=Sum("amount"),
            weighted=Sum(F("amount") * Coalesce("probability", stage_probability) / Value(100), output_field=money),
        )
    )


def column_totals(*, user, pipeline: Pipeline, stages: list[Stage], filters: dict) -> list[BoardColumn]:
    """A column per stage with count, total and weighted total.

    The deals the user owns or manages are summed from their stage totals (cells), whatever
    their number; what the cells cannot answer comes from the deals: those reached only by a
    share, and the odd days of a close period that does not follow whole months ("overdue").
    """
    columns = [BoardColumn(stage=stage) for stage in stages]
    if not stages:
        return columns
    by_stage = {column.stage.pk: column for column in columns}
    scope = reach(user, Opportunity, "view")
    cells = stage_totals.visible_cells(scope).filter(stage_id__in=list(by_stage))
    if filters.get("owner"):
        cells = cells.filter(owner_key=filters["owner"].pk)
    if filters.get("team"):
        cells = cells.filter(team_key=filters["team"].pk)
    deals = board_queryset(user=user, pipeline=pipeline, filters={**filters, "close": None})
    odd_days: list[tuple] = []
    if period := close_period(filters.get("close") or ""):
        months, odd_days = stage_totals.whole_months(*period)
        if months:
            cells = cells.filter(close_month__range=months).exclude(close_month=NO_MONTH)
            whole = Q(expected_close_date__gte=months[0], expected_close_date__lt=_month_after(months[1]))
        else:
            cells, whole = cells.none(), Q(pk__in=[])
    else:
        whole = Q()
    for row in cells.order_by().values("stage_id", "probability_key").annotate(n=Sum("deals"), total=Sum("amount")):
        column = by_stage[row["stage_id"]]
        probability = column.stage.probability if row["probability_key"] == NO_PROBABILITY else row["probability_key"]
        column.count += row["n"]
        column.total += row["total"]
        column.weighted += row["total"] * probability / 100
    from_deals = []
    if shared := stage_totals.shares_beyond(scope, deals.filter(whole)):
        from_deals.append(shared)
    if odd_days:
        days = Q(pk__in=[])
        for first, last in odd_days:
            days |= Q(expected_close_date__range=(first, last))
        from_deals.append(deals.filter(days))
    for queryset in from_deals:
        for row in _grouped(queryset, stages):
            column = by_stage[row["stage_id"]]
            column.count += row["n"]
            column.total += row["total"] or Decimal("0")
            column.weighted += row["weighted"] or Decimal("0")
    for column in columns:
        column.weighted = column.weighted.quantize(Decimal("0.01"))
    return columns


def _month_after(month: datetime.date) -> datetime.date:
    return (month + datetime.timedelta(days=32)).replace(day=1)


def _decorate(cards: list[Opportunity], user) -> None:
    """Stale flags and whether the user may move each card (one query for the whole board)."""
    now = timezone.now()
    movable = (
        set(
            restrict(Opportunity.objects.filter(pk__in=[c.pk for c in cards]), user, "change").values_list(
                "pk", flat=True
            )
        )
        if cards
        else set()
    )
    for card in cards:
        card.stale = is_stale(card, now=now)
        card.stale_reason = stale_reason(card, now=now) if card.stale else ""
        card.movable = card.pk in movable


def board(*, user, pipeline: Pipeline, filters: dict, size: int = CARDS_PER_COLUMN) -> list[BoardColumn]:
    stages = pipeline_stages(pipeline)
    columns = column_totals(user=user, pipeline=pipeline, stages=stages, filters=filters)
    base = board_queryset(user=user, pipeline=pipeline, filters=filters).select_related(*CARD_FIELDS)
    parts = [base.filter(stage_id=s.pk).order_by("-amount", "-id")[: size + 1] for s in stages]
    if not parts:
        cards = []
    elif connections[base.db].features.supports_slicing_ordering_in_compound:
        cards = list(parts[0].union(*parts[1:], all=True))
    else:
        cards = [card for part in parts for card in part]
    by_stage: dict[int, list[Opportunity]] = {}
    for card in cards:
        by_stage.setdefault(card.stage_id, []).append(card)
    shown = []
    for column in columns:
        rows = sorted(by_stage.get(column.stage.pk, []), key=lambda o: (-o.amount, -o.pk))
        column.cards = rows[:size]
        if len(rows) > size:
            last = column.cards[-1]
            column.more = (last.amount, last.pk)
        shown.extend(column.cards)
    _decorate(shown, user)
    return columns


def more_cards(
    *, user, pipeline: Pipeline, stage: Stage, filters: dict, after: tuple[Decimal, int], size: int = CARDS_PER_COLUMN
) -> tuple[list[Opportunity], tuple[Decimal, int] | None]:
    """The next cards of one column after the keyset position `after` (amount, id)."""
    amount, pk = after
    rows = list(
        board_queryset(user=user, pipeline=pipeline, filters=filters)
        .filter(stage=stage)
        .filter(Q(amount__lt=amount) | Q(amount=amount, pk__lt=pk))
        .select_related(*CARD_FIELDS)
        .order_by("-amount", "-id")[: size + 1]
    )
    cards = rows[:size]
    _decorate(cards, user)
    more = (cards[-1].amount, cards[-1].pk) if len(rows) > size else None
    return cards, more
