"""The sales forecast by month or quarter, by user and team, over the deals the viewer may see,
and the quotas managers set for their team members.

Numbers come from one GROUP BY (owner, team) query with conditional sums:
- open pipeline: open deals expected to close in the period;
- weighted: Σ amount × probability (the deal's own, else its stage's);
- commit: open deals at or above FORECAST_COMMIT_THRESHOLD percent;
- won: deals won (won_at) in the period; best case: open + won.
Quotas are per user per month; a quarter adds up its months.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Team, TeamMembership, User
from crm.permissions import has_role_permission, is_administrator, managed_team_ids, restrict, sees_everything
from pipeline.models import Opportunity, Quota, Stage

ZERO = Decimal("0")
QUOTA_USERS_LIMIT = 300


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
        if self.kind == "month":
            return self.start.strftime("%Y-%m")
        return f"{self.year} Q{self.number}"

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


def parse_period(value: str | None, today: date | None = None) -> Period:
    """ "2026-11" is a month, "2026-Q4" a quarter; anything else is the current month."""
    today = today or timezone.localdate()
    match = re.fullmatch(r"(\d{4})-(?:(\d{2})|Q([1-4]))", value or "")
    if match:
        year = int(match[1])
        if match[3]:
            return Period("quarter", year, int(match[3]))
        if 1 <= int(match[2]) <= 12 and 1900 < year < 3000:
            return Period("month", year, int(match[2]))
    return Period("month", today.year, today.month)


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


def quota_users(viewer) -> list[User] | None:
    """Whose quotas the viewer may see: None means everyone's (administrators, auditors)."""
    if sees_everything(viewer):
        return None
    ids = {viewer.pk}
    managed = managed_team_ids(viewer)
    if managed:
        ids |= set(TeamMembership.objects.filter(team_id__in=managed).values_list("user_id", flat=True))
    return ids


def forecast(*, user, period: Period, team: Team | None = None) -> Forecast:
    threshold = commit_threshold()
    start, end = period.start, period.end
    probability = Coalesce("probability", "stage__probability")
    open_q = Q(stage__kind=Stage.Kind.OPEN, expected_close_date__gte=start, expected_close_date__lt=end)
    won_q = Q(stage__kind=Stage.Kind.WON, won_at__gte=_aware(start), won_at__lt=_aware(end))
    deals = restrict(Opportunity.objects.all(), user)
    if team is not None:
        deals = deals.filter(team=team)
    rows = (
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
    rows = list(rows)

    scope = quota_users(user)
    quotas_qs = Quota.objects.filter(month__gte=start, month__lt=end)
    if team is not None:
        quotas_qs = quotas_qs.filter(user__memberships__team=team)
    if scope is not None:
        quotas_qs = quotas_qs.filter(user_id__in=scope)
    quotas = dict(quotas_qs.values("user_id").annotate(total=Sum("amount")).values_list("user_id", "total"))

    user_ids = {row["owner_id"] for row in rows} | set(quotas)
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=user_ids)}
    team_ids = {row["team_id"] for row in rows if row["team_id"]}
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


# --- Quotas: who may set them, and the service ------------------------------------------------


def may_set_quota(actor, target: User) -> bool:
    """Administrators for anyone; sales managers for the other members of the teams they manage."""
    if is_administrator(actor):
        return True
    if target.pk == actor.pk:
        return False  # a manager's own target is set by their own manager or an administrator
    if not has_role_permission(actor, Quota, "change") or not has_role_permission(actor, Quota, "add"):
        return False
    managed = managed_team_ids(actor)
    return bool(managed) and TeamMembership.objects.filter(user=target, team_id__in=managed).exists()


@transaction.atomic
def quota_set(*, actor: User, user: User, month: date, amount: Decimal | None, currency: str = "CNY") -> Quota | None:
    """Set (or, with no amount, clear) one user's quota for one month."""
    if not may_set_quota(actor, user):
        raise PermissionDenied(_("You may not set this person's quota."))
    month = month.replace(day=1)
    if amount is None:
        for quota in Quota.objects.filter(user=user, month=month):
            quota.delete()  # one by one, so the audit log records each
        return None
    if amount < 0:
        raise ValidationError(_("A quota cannot be negative."))
    quota = Quota.objects.filter(user=user, month=month).first() or Quota(user=user, month=month)
    if quota.pk and quota.amount == amount and quota.currency == currency:
        return quota
    quota.amount, quota.currency = amount, currency
    quota.full_clean()
    quota.save()
    return quota


def quota_rows(*, viewer, year: int) -> list[dict]:
    """One row per person whose quotas the viewer may see: the twelve months and whether they may edit."""
    scope = quota_users(viewer)
    people = User.objects.filter(is_active=True)
    if scope is None:
        people = people.filter(memberships__isnull=False).distinct()
    else:
        people = people.filter(pk__in=scope)
    people = list(people.order_by("username")[:QUOTA_USERS_LIMIT])
    amounts = {
        (q.user_id, q.month.month): q.amount
        for q in Quota.objects.filter(user__in=people, month__year=year).only("user_id", "month", "amount")
    }
    administrator = is_administrator(viewer)
    managed = set(managed_team_ids(viewer))
    member_teams: dict[int, set[int]] = {}
    for user_id, team_id in TeamMembership.objects.filter(user__in=people).values_list("user_id", "team_id"):
        member_teams.setdefault(user_id, set()).add(team_id)
    may_edit = administrator or (
        has_role_permission(viewer, Quota, "change") and has_role_permission(viewer, Quota, "add")
    )
    return [
        {
            "user": person,
            "editable": administrator
            or (may_edit and person.pk != viewer.pk and bool(member_teams.get(person.pk, set()) & managed)),
            "months": [(m, amounts.get((person.pk, m))) for m in range(1, 13)],
            "total": sum((a for (uid, _m), a in amounts.items() if uid == person.pk), ZERO),
        }
        for person in people
    ]


# --- Views -------------------------------------------------------------------------------------


@login_required
def forecast_view(request):
    if not has_role_permission(request.user, Opportunity, "view"):
        raise PermissionDenied
    period = parse_period(request.GET.get("period"))
    teams = forecast_teams(request.user)
    team = None
    team_param = request.GET.get("team", "")
    if team_param.isdigit():
        team = teams.filter(pk=team_param).first()
    result = forecast(user=request.user, period=period, team=team)
    return render(
        request,
        "pipeline/forecast.html",
        {
            "forecast": result,
            "period": period,
            "previous": period.shift(-1),
            "next": period.shift(1),
            "as_month": period.as_kind("month"),
            "as_quarter": period.as_kind("quarter"),
            "teams": teams,
            "team": team,
            "chart_data": result.chart_data(),
            "can_view_quotas": has_role_permission(request.user, Quota, "view"),
        },
    )


def _parse_amount(raw: str) -> Decimal | None:
    raw = raw.strip().replace(",", "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValidationError(_("“%(value)s” is not an amount.") % {"value": raw[:20]}) from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
        raise ValidationError(_("“%(value)s” is not an amount.") % {"value": raw[:20]})
    return value.quantize(Decimal("0.01"))


@login_required
def quota_view(request):
    """Quotas for a year: a grid of people × months; managers edit their team members' rows."""
    if not has_role_permission(request.user, Quota, "view"):
        raise PermissionDenied
    try:
        year = int(request.GET.get("year") or request.POST.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    year = min(max(year, 2000), 2100)
    rows = quota_rows(viewer=request.user, year=year)
    errors: list[str] = []
    if request.method == "POST":
        editable = {row["user"].pk: row for row in rows if row["editable"]}
        if not editable:
            raise PermissionDenied
        changes = []
        for key, raw in request.POST.items():
            match = re.fullmatch(r"q-(\d+)-(\d{1,2})", key)
            if not match:
                continue
            user_id, month = int(match[1]), int(match[2])
            row = editable.get(user_id)
            if row is None or not 1 <= month <= 12:
                raise PermissionDenied  # a person the viewer may not set quotas for
            try:
                amount = _parse_amount(raw)
            except ValidationError as error:
                errors.append(f"{row['user']} {year}-{month:02d}: {' '.join(error.messages)}")
                continue
            if amount != row["months"][month - 1][1]:
                changes.append((row["user"], date(year, month, 1), amount))
        if not errors:
            with transaction.atomic():
                for person, month, amount in changes:
                    quota_set(actor=request.user, user=person, month=month, amount=amount)
            messages.success(request, _("Quotas saved."))
            return redirect(f"{request.path}?year={year}")
    months = [date(year, m, 1) for m in range(1, 13)]
    return render(
        request,
        "pipeline/quota_list.html",
        {
            "rows": rows,
            "year": year,
            "months": months,
            "errors": errors,
            "any_editable": any(row["editable"] for row in rows),
        },
        status=400 if errors else 200,
    )
