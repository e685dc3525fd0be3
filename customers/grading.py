"""RFM grading: recency, frequency and monetary value of paid purchases, each scored 1–5.

The thresholds and the grades live in the database (`GradingPolicy`, `GradeLevel`) and are
edited in the admin site. A company's grade keeps its reason, so the detail page can explain it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from customers.models import Company, GradeLevel, GradingPolicy, Transaction


@dataclass(frozen=True)
class Rfm:
    recency_days: int | None
    frequency: int
    monetary: Decimal
    r: int
    f: int
    m: int

    @property
    def score(self) -> int:
        return self.r + self.f + self.m


def _ascending_score(value, thresholds) -> int:
    """1 + the number of thresholds `value` reaches (so 1–5 with four thresholds)."""
    return 1 + sum(1 for t in thresholds if value >= Decimal(str(t)))


def _recency_score(days: int | None, thresholds) -> int:
    """Fewer days since the last purchase scores higher; never bought scores 1."""
    if days is None:
        return 1
    return 1 + sum(1 for t in thresholds if days <= int(t))


def policy() -> GradingPolicy:
    return GradingPolicy.objects.order_by("pk").first() or GradingPolicy(
        window_days=365,
        recency_days=[30, 90, 180, 365],
        frequency_counts=[2, 4, 8, 16],
        monetary_amounts=[10000, 50000, 200000, 1000000],
    )


def rfm_for(*, last_purchase: date | None, frequency: int, monetary: Decimal, rules: GradingPolicy, today: date) -> Rfm:
    days = (today - last_purchase).days if last_purchase else None
    return Rfm(
        recency_days=days,
        frequency=frequency,
        monetary=monetary,
        r=_recency_score(days, rules.recency_days),
        f=_ascending_score(frequency, rules.frequency_counts),
        m=_ascending_score(monetary, rules.monetary_amounts),
    )


def grade_for(score: int, levels: list[GradeLevel]) -> GradeLevel | None:
    for level in sorted(levels, key=lambda lv: -lv.min_score):
        if score >= level.min_score:
            return level
    return None


def grade_companies(company_ids=None, *, today: date | None = None, batch_size: int = 2000) -> int:
    """Recompute the grade of the given companies (every company, when None); returns how many changed.

    Walks the companies in primary-key batches (an index range scan each, so memory stays flat
    and a crash loses one batch at most), reads each batch's purchase aggregates in one grouped
    query and writes only grades that changed. Companies that never bought are graded too, so
    a new or lapsed customer shows a grade and its reason. A derived value: no audit entries.
    """
    today = today or timezone.localdate()
    rules = policy()
    levels = list(GradeLevel.objects.all())
    since = today - timedelta(days=rules.window_days)
    changed = 0
    if company_ids is not None:
        ids = sorted(set(company_ids))
        for start in range(0, len(ids), batch_size):
            changed += _grade_batch(ids[start : start + batch_size], rules, levels, since, today)
        return changed
    last_pk = 0
    while True:
        ids = list(Company.objects.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return changed
        changed += _grade_batch(ids, rules, levels, since, today)
        last_pk = ids[-1]


def _grade_batch(ids, rules, levels, since, today) -> int:
    paid = Q(transactions__status=Transaction.Status.PAID, transactions__date__gte=since)
    rows = (
        Company.objects.filter(pk__in=ids)
        .annotate(
            last_purchase=Max("transactions__date", filter=Q(transactions__status=Transaction.Status.PAID)),
            frequency=Count("transactions", filter=paid),
            monetary=Sum("transactions__amount", filter=paid),
        )
        .only("pk", "grade", "grade_reason")
    )
    updates = []
    now = timezone.now()
    for company in rows:
        rfm = rfm_for(
            last_purchase=company.last_purchase,
            frequency=company.frequency,
            monetary=company.monetary or Decimal("0"),
            rules=rules,
            today=today,
        )
        level = grade_for(rfm.score, levels)
        reason = {
            "last_purchase": company.last_purchase.isoformat() if company.last_purchase else None,
            "recency_days": rfm.recency_days,
            "frequency": rfm.frequency,
            "monetary": str(rfm.monetary),
            "r": rfm.r,
            "f": rfm.f,
            "m": rfm.m,
            "score": rfm.score,
            "window_days": rules.window_days,
            "tier": level.tier if level else "",
            "label": level.label if level else "",
        }
        code = level.code if level else ""
        if company.grade != code or company.grade_reason != reason:
            company.grade, company.grade_reason, company.graded_at = code, reason, now
            updates.append(company)
    Company.objects.bulk_update(updates, ["grade", "grade_reason", "graded_at"])
    return len(updates)
