"""The customer centre's reference data: default grades and grading policy (see crm.defaults)."""

DEFAULT_GRADES = [
    # code, label, tier, minimum RFM score (3-15)
    ("A", "重要客户 Important", "important", 12),
    ("B", "一般客户 General", "general", 8),
    ("C", "潜在客户 Potential", "potential", 5),
    ("D", "低价值 Low value", "potential", 0),
]


def ensure_grade_levels(apps) -> None:
    """Default grades A–D and the RFM thresholds, when none exist."""
    GradeLevel = apps.get_model("customers", "GradeLevel")
    GradingPolicy = apps.get_model("customers", "GradingPolicy")
    # Only on an empty table: grades an administrator removed stay removed.
    if not GradeLevel.objects.exists():
        for code, label, tier, min_score in DEFAULT_GRADES:
            GradeLevel.objects.create(code=code, label=label, tier=tier, min_score=min_score)
    if not GradingPolicy.objects.exists():
        GradingPolicy.objects.create(
            window_days=365,
            recency_days=[30, 90, 180, 365],
            frequency_counts=[2, 4, 8, 16],
            monetary_amounts=[10000, 50000, 200000, 1000000],
        )
