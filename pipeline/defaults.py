"""The pipeline's reference data: default pipelines and stages, lead sources, lost reasons
(see crm.defaults)."""

PIPELINES = {
    "新业务 New business": [
        ("初步接触 Prospecting", 10, "open", 30),
        ("需求确认 Qualification", 20, "open", 30),
        ("方案报价 Proposal", 50, "open", 21),
        ("商务谈判 Negotiation", 75, "open", 14),
        ("赢单 Won", 100, "won", None),
        ("输单 Lost", 0, "lost", None),
    ],
    "续约 Renewals": [
        ("待续约 Up for renewal", 50, "open", 30),
        ("续约谈判 Negotiating", 75, "open", 21),
        ("已续约 Renewed", 100, "won", None),
        ("流失 Churned", 0, "lost", None),
    ],
}
SOURCES = [
    ("web_form", "网站表单 Web form"),
    ("referral", "客户推荐 Referral"),
    ("trade_show", "展会 Trade show"),
    ("campaign", "营销活动 Campaign"),
    ("import", "导入 Import"),
    ("phone", "电话 Phone"),
    ("other", "其他 Other"),
]
LOST_REASONS = ["价格 Price", "竞争对手 Competitor", "无预算 No budget", "无决策 No decision", "时机 Timing"]


def ensure_pipeline_defaults(apps) -> None:
    """Default pipelines with stages, lead sources and lost reasons, when missing."""
    Pipeline = apps.get_model("pipeline", "Pipeline")
    Stage = apps.get_model("pipeline", "Stage")
    LeadSource = apps.get_model("pipeline", "LeadSource")
    LostReason = apps.get_model("pipeline", "LostReason")
    # Each list is filled only when empty: what an administrator removed stays removed.
    if not Pipeline.objects.exists():
        for order, (name, stages) in enumerate(PIPELINES.items()):
            pipeline = Pipeline.objects.create(name=name, order=order, is_default=not order)
            for position, (stage, probability, kind, stale) in enumerate(stages):
                Stage.objects.create(
                    pipeline=pipeline,
                    name=stage,
                    order=position,
                    probability=probability,
                    kind=kind,
                    stale_after_days=stale,
                )
    if not LeadSource.objects.exists():
        for order, (code, name) in enumerate(SOURCES):
            LeadSource.objects.create(code=code, name=name, order=order)
    if not LostReason.objects.exists():
        for name in LOST_REASONS:
            LostReason.objects.create(name=name)
