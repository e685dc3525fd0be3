"""Admin forms for the grading configuration: thresholds typed as "30, 90, 180, 365", checked.

Grading scores each dimension 1–5 against four thresholds, so each list must hold exactly four
non-negative numbers in strictly ascending order; anything else would make a score impossible
or grading fail at night.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import GradeLevel, GradingPolicy

THRESHOLD_COUNT = 4
MAX_RFM_SCORE = 15


class ThresholdsField(forms.CharField):
    """Four ascending non-negative numbers, written comma-separated (or as a JSON list)."""

    def __init__(self, *, integers: bool, **kwargs):
        self.integers = integers
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value):
        text = (super().to_python(value) or "").strip().strip("[]")
        parts = [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]
        if len(parts) != THRESHOLD_COUNT:
            raise forms.ValidationError(
                _("Enter exactly %(count)d numbers separated by commas, such as 30, 90, 180, 365."),
                code="count",
                params={"count": THRESHOLD_COUNT},
            )
        numbers: list[Decimal] = []
        for part in parts:
            try:
                number = Decimal(part)
            except InvalidOperation:
                raise forms.ValidationError(
                    _("“%(value)s” is not a number."), code="invalid", params={"value": part}
                ) from None
            if not number.is_finite() or number < 0:
                raise forms.ValidationError(_("Thresholds cannot be negative."), code="negative")
            if self.integers and number != number.to_integral_value():
                raise forms.ValidationError(_("Use whole numbers here."), code="integer")
            if number.as_tuple().exponent < -2:
                raise forms.ValidationError(_("Use at most two decimal places."), code="decimals")
            numbers.append(number)
        if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
            raise forms.ValidationError(_("Each threshold must be larger than the one before it."), code="ascending")
        # JSON holds numbers: whole ones as integers, the rest (money) with their two decimals.
        return [int(n) if n == n.to_integral_value() else float(n) for n in numbers]


class GradingPolicyForm(forms.ModelForm):
    recency_days = ThresholdsField(
        integers=True,
        label=_("recency thresholds (days)"),
        help_text=_(
            "Four day counts, ascending. A last purchase at most this many days ago scores 5, 4, 3, 2 points; "
            "older or never scores 1."
        ),
    )
    frequency_counts = ThresholdsField(
        integers=True,
        label=_("frequency thresholds (purchases)"),
        help_text=_("Four purchase counts in the window, ascending. Reaching each one adds a point (1–5)."),
    )
    monetary_amounts = ThresholdsField(
        integers=False,
        label=_("monetary thresholds (amount)"),
        help_text=_("Four amounts paid in the window, ascending. Reaching each one adds a point (1–5)."),
    )

    class Meta:
        model = GradingPolicy
        fields = ["window_days", "recency_days", "frequency_counts", "monetary_amounts"]

    def clean_window_days(self):
        days = self.cleaned_data["window_days"]
        if days is not None and days < 1:
            raise forms.ValidationError(_("The window must be at least one day."))
        return days


class GradeLevelForm(forms.ModelForm):
    class Meta:
        model = GradeLevel
        fields = ["code", "label", "tier", "min_score"]

    def clean_min_score(self):
        score = self.cleaned_data["min_score"]
        if score is not None and score > MAX_RFM_SCORE:
            raise forms.ValidationError(_("The highest possible RFM score is %(max)d."), params={"max": MAX_RFM_SCORE})
        return score
