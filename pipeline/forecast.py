"""The sales forecast by month or quarter, by user and team, over the deals the viewer may see.

Numbers are sums per (owner, team) of the stage totals (`pipeline.stage_totals`), plus the deals
shared with the viewer, grouped from the deals themselves:
- open pipeline: open deals expected to close in the period;
- weighted: Σ amount × probability (the deal's own, else its stage's);
- commit: open deals at or above FORECAST_COMMIT_THRESHOLD percent;
- won: deals won (won_at) in the period; best case: open + won.
Quotas (`pipeline.quotas`) are per user per month; a quarter adds up its months.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.models import Team, TeamMembership, User
from crm.params import parse_month, parse_quarter
from crm.permissions import managed_team_ids, reach, sees_everything
from pipeline import stage_totals
from pipeline.models import NO_PROBABILITY, Opportunity, Quota, Stage
from pipeline.quotas import quota_users

ZERO = Decimal("0")


def commit_threshold() -> int:
    return int(getattr(settings, "FORECAST_COMMIT_THRESHOLD", 75))


# --- Periods -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str  # "month" or "quarter"
    year: int
    number: int  # month 1-12 or quarter 1-4

    @property
    def start(self) -> date:
        month = self.number if self.kind == "month" else (self.number - 1) * 3 + 1
        return date(self.year, month, 1)

    @property
    def months(self) -> list[date]:
        count = 1 if self.kind == "month" else 3
        first = self.start
        return [date(first.year, first.month + i, 1) for i in range(count)]

    @property
    def end(self) -> date:
        last = self.months[-1]
        return date(last.year + (last.month == 12), last.month % 12 + 1, 1)

    @property
    def key(self) -> str:
        return f"{self.year}-{self.number:02d}" if self.kind == "month" else f"{self.year}-Q{self.number}"

    @property
    def label(self) -> str:
        """The period as the user's language writes it: "2026年12月", "December 2026", "Q4 2026"."""
        if self.kind == "month":
            return date_format(self.start, "YEAR_MONTH_FORMAT")
        return pgettext("a quarter of a year", "Q%(quarter)d %(year)d") % {"quarter": self.number, "year": self.year}

    def shift(self, step: int) -> Period:
        size = 12 if self.kind == "month" else 4
        index = self.year * size + (self.number - 1) + step
        return Period(self.kind, index // size, index % size + 1)

    def as_kind(self, kind: str) -> Period:
        if kind == self.kind:
            return self
        if kind == "quarter":
            return Period("quarter", self.year, (self.start.month - 1) // 3 + 1)
        return Period("month", self.year, self.start.month)


def parse_period(value: str | None) -> Period | None:
    """ "2026-11" is a month, "2026-Q4" a quarter, within `crm.params`' years; None when empty,
    BadParameter when malformed."""
    if value and "Q" in value:
        year, number = parse_quarter(value)
        return Period("quarter", year, number)
    month = parse_month(value)
    return Period("month", month.year, month.month) if month else None


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


# --- Selectors ---------------------------------------------------------------------------------


@dataclass
class Line:
    """Forecast figures of one user or one team."""

    label: str
    key: int | None
    open: Decimal = ZERO
    weighted: Decimal = ZERO
    commit: Decimal = ZERO
    won: Decimal = ZERO
    deals: int = 0
    quota: Decimal | None = None

    @property
    def best_case(self) -> Decimal:
        return self.open + self.won

    @property
    def attainment(self) -> Decimal | None:
        if not self.quota:
            return None
        return (self.won * 100 / self.quota).quantize(Decimal("0.1"))

    def add(self, other: Line) -> None:
        self.open += other.open
        self.weighted += other.weighted
        self.commit += other.commit
        self.won += other.won
        self.deals += other.deals


@dataclass
class Forecast:
    period: Period
    threshold: int
    users: list[Line] = field(default_factory=list)
    teams: list[Line] = field(default_factory=list)
    total: Line = field(default_factory=lambda: Line(label="", key=None))

    def chart_data(self) -> dict:
        return {
            "labels": [line.label for line in self.users],
            "won": [float(line.won) for line in self.users],
            "quota": [float(line.quota or 0) for line in self.users],
            "wonLabel": _("Won"),
            "quotaLabel": _("Quota"),
        }


def _rows_from_deals(deals, period: Period, threshold: int) -> list[dict]:
    """Per (owner, team): the period's figures summed over the deals themselves."""
    start, end = period.start, period.end
    probability = Coalesce("probability", "stage__probability")
    open_q = Q(stage__kind=Stage.Kind.OPEN, expected_close_date__gte=start, expected_close_date__lt=end)
    won_q = Q(stage__kind=Stage.Kind.WON, won_at__gte=_aware(start), won_at__lt=_aware(end))
    return list(
        # The first filter only touches the deal's own indexed columns (a BitmapOr of two range scans).
        deals.filter(
            Q(expected_close_date__gte=start, expected_close_date__lt=end)
            | Q(won_at__gte=_aware(start), won_at__lt=_aware(end))
        )
        .filter(open_q | won_q)
        .alias(eff_probability=probability)
        .values("owner_id", "team_id")
        .annotate(
            open=Sum("amount", filter=open_q, default=ZERO),
            weighted=Sum(
                ExpressionWrapper(F("amount") * F("eff_probability"), output_field=DecimalField()),
                filter=open_q,
                default=ZERO,
            ),
            commit=Sum("amount", filter=open_q & Q(eff_probability__gte=threshold), default=ZERO),
            won=Sum("amount", filter=won_q, default=ZERO),
            deals=Count("id", filter=open_q),
        )
        .order_by()
    )


def _rows_from_cells(cells, period: Period, threshold: int) -> list[dict]:
    """The same figures summed over stage totals: open stages by close month, won stages by the
    month won (`pipeline.stage_totals`)."""
    months = period.months
    grouped = (
        cells.filter(
            Q(stage__kind=Stage.Kind.OPEN, close_month__in=months) | Q(stage__kind=Stage.Kind.WON, won_month__in=months)
        )
        .order_by()
        .values("owner_key", "team_key", "stage__kind", "stage__probability", "probability_key")
        .annotate(n=Sum("deals"), total=Sum("amount"))
    )
    rows: dict[tuple, dict] = {}
    for cell in grouped:
        owner_id, team_id = cell["owner_key"] or None, cell["team_key"] or None
        row = rows.get((owner_id, team_id))
        if row is None:
            row = rows[owner_id, team_id] = {"owner_id": owner_id, "team_id": team_id, "deals": 0}
            row.update(open=ZERO, weighted=ZERO, commit=ZERO, won=ZERO)
        if cell["stage__kind"] == Stage.Kind.WON:
            row["won"] += cell["total"]
            continue
        own = cell["probability_key"]
        probability = cell["stage__probability"] if own == NO_PROBABILITY else own
        row["open"] += cell["total"]
        row["weighted"] += cell["total"] * probability
        row["deals"] += cell["n"]
        if probability >= threshold:
            row["commit"] += cell["total"]
    return list(rows.values())


def forecast(*, user, period: Period, team: Team | None = None) -> Forecast:
    """The forecast of the deals `user` may see: the ones they own or manage from the stage
    totals, the ones shared with them from the deals."""
    threshold = commit_threshold()
    reached = reach(user, Opportunity, "view")
    cells = stage_totals.visible_cells(reached)
    deals = Opportunity.objects.all()
    if team is not None:
        cells = cells.filter(team_key=team.pk)
        deals = deals.filter(team=team)
    rows = _rows_from_cells(cells, period, threshold)
    if shared := stage_totals.shares_beyond(reached, deals):
        rows += _rows_from_deals(shared, period, threshold)

    scope = quota_users(user)
    quotas_qs = Quota.objects.filter(month__gte=period.start, month__lt=period.end)
    if team is not None:
        quotas_qs = quotas_qs.filter(user__memberships__team=team)
    if scope is not None:
        quotas_qs = quotas_qs.filter(user_id__in=scope)
    quotas = dict(quotas_qs.values("user_id").annotate(total=Sum("amount")).values_list("user_id", "total"))

    # Every member of the selling teams in view has a line, with or without deals and a quota: a
    # selling team is one with deals in the period or a member with a quota (not support or
    # marketing teams, whose members would only add rows of zeros).
    memberships = TeamMembership.objects.filter(user__is_active=True)
    if team is not None:
        memberships = memberships.filter(team=team)
    if scope is not None:
        memberships = memberships.filter(user_id__in=scope)
    member_teams = list(memberships.values_list("user_id", "team_id"))
    selling = {row["team_id"] for row in rows} | {team_id for user_id, team_id in member_teams if user_id in quotas}
    member_teams = [(user_id, team_id) for user_id, team_id in member_teams if team_id in selling]
    user_ids = {row["owner_id"] for row in rows} | set(quotas) | {user_id for user_id, _team in member_teams}
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=user_ids)}
    team_ids = {row["team_id"] for row in rows if row["team_id"]} | {
        team_id for user_id, team_id in member_teams if user_id in quotas
    }
    team_names = dict(Team.objects.filter(pk__in=team_ids).values_list("pk", "name"))

    by_user: dict[int, Line] = {}
    by_team: dict[int | None, Line] = {}
    total = Line(label=_("Total"), key=None)
    for row in rows:
        line = Line(
            label="",
            key=None,
            open=row["open"],
            weighted=(row["weighted"] / 100).quantize(Decimal("0.01")),
            commit=row["commit"],
            won=row["won"],
            deals=row["deals"],
        )
        by_user.setdefault(row["owner_id"], Line(label=names.get(row["owner_id"], "?"), key=row["owner_id"])).add(line)
        team_label = team_names.get(row["team_id"]) or _("No team")
        by_team.setdefault(row["team_id"], Line(label=team_label, key=row["team_id"])).add(line)
        total.add(line)
    for user_id, amount in quotas.items():
        by_user.setdefault(user_id, Line(label=names.get(user_id, "?"), key=user_id)).quota = amount
    for user_id, team_id in member_teams:
        by_user.setdefault(user_id, Line(label=names.get(user_id, "?"), key=user_id))
        # A team's quota is its members' quotas; one who belongs to two teams counts in both.
        if user_id in quotas and (team is None or team_id == team.pk):
            line = by_team.setdefault(team_id, Line(label=team_names.get(team_id, "?"), key=team_id))
            line.quota = (line.quota or ZERO) + quotas[user_id]
    total.quota = sum(quotas.values(), ZERO) or None
    return Forecast(
        period=period,
        threshold=threshold,
        users=sorted(by_user.values(), key=lambda line: (-line.won, line.label)),
        teams=sorted(by_team.values(), key=lambda line: line.label),
        total=total,
    )


def forecast_teams(user):
    """Teams the viewer may filter by: all for those who see everything, else their own and managed ones."""
    if sees_everything(user):
        return Team.objects.order_by("name")
    ids = {*user.memberships.values_list("team_id", flat=True), *managed_team_ids(user)}
    return Team.objects.filter(pk__in=ids).order_by("name")
