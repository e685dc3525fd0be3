"""Reference data tickets need on every installation: priorities, categories, office hours and
an SLA policy, so that a new ticket has a clock from the start (`crm.defaults`)."""

# Names are data an administrator renames; like the pipeline's, they start in both languages.
PRIORITIES = [("低 Low", False), ("普通 Normal", True), ("高 High", False), ("紧急 Urgent", False)]
CATEGORIES = ["咨询 Question", "故障 Fault", "账单 Billing", "安装 Installation"]
HOURS = "工作时间 Office hours"
POLICY = "标准 Standard"
# (first response, resolution) in business minutes, per priority.
TARGETS = {"低 Low": (480, 4800), "普通 Normal": (240, 2400), "高 High": (60, 960), "紧急 Urgent": (30, 240)}


def ensure_ticket_defaults(apps) -> None:
    Priority = apps.get_model("tickets", "Priority")
    Category = apps.get_model("tickets", "Category")
    BusinessHours = apps.get_model("tickets", "BusinessHours")
    SlaPolicy = apps.get_model("tickets", "SlaPolicy")
    SlaTarget = apps.get_model("tickets", "SlaTarget")
    if not Priority.objects.exists():
        for order, (name, default) in enumerate(PRIORITIES):
            Priority.objects.create(name=name, order=order * 10, is_default=default)
    if not Category.objects.exists():
        for order, name in enumerate(CATEGORIES):
            Category.objects.create(name=name, order=order * 10)
    if not SlaPolicy.objects.exists():
        hours, _created = BusinessHours.objects.get_or_create(name=HOURS)
        policy = SlaPolicy.objects.create(name=POLICY, hours=hours)
        # (first response, resolution) in business minutes, per priority.
        for priority in Priority.objects.all():
            first, resolve = TARGETS.get(priority.name, (240, 2400))
            SlaTarget.objects.create(
                policy=policy, priority=priority, first_response_minutes=first, resolution_minutes=resolve
            )
