"""`{% grade_explanation company as grade %}`: a company's stored grade reason, ready to read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django import template

from customers.models import GradeLevel

register = template.Library()


@register.simple_tag
def grade_explanation(company) -> dict | None:
    """The reason grading stored on `company`, with types and labels a template can show; None if ungraded."""
    reason = getattr(company, "grade_reason", None) or {}
    if not reason or "score" not in reason:
        return None
    try:
        monetary = Decimal(str(reason.get("monetary") or "0"))
    except InvalidOperation:
        monetary = Decimal("0")
    last_purchase = reason.get("last_purchase")
    try:
        last_purchase = date.fromisoformat(last_purchase) if last_purchase else None
    except (TypeError, ValueError):
        last_purchase = None
    tier = reason.get("tier") or ""
    tier_label = GradeLevel.Tier(tier).label if tier in GradeLevel.Tier.values else tier
    return {
        "code": company.grade,
        "label": reason.get("label") or "",
        "tier": tier,
        "tier_label": tier_label,
        "score": reason.get("score"),
        "r": reason.get("r"),
        "f": reason.get("f"),
        "m": reason.get("m"),
        "recency_days": reason.get("recency_days"),
        "last_purchase": last_purchase,
        "frequency": reason.get("frequency") or 0,
        "monetary": monetary,
        "window_days": reason.get("window_days"),
        "graded_at": getattr(company, "graded_at", None),
    }
