"""Template filters of the opportunity pages."""

from django import template

from pipeline.opportunity_selectors import stale_reason as _stale_reason

register = template.Library()


@register.filter
def stale_reason(opportunity) -> str:
    """Why a deal needs attention (its stage is already loaded)."""
    return _stale_reason(opportunity)
