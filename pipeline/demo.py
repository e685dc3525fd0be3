"""Demo sales: leads in every status, deals across every stage of both pipelines (won, lost with
reasons, some gone stale), tasks due today and overdue, and monthly quotas.

Written through the pipeline's services as the rep who owns each record; a deal's stage history
is then dated into the story's past (see `crm.demo`), so the board, the forecast, the stale-deal
list and the customers' timelines read like months of work.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.utils import timezone

from crm import roles
from crm.demo import DemoCompany, backdate, person, register
from crm.models import User
from crm.services import ShareLevel, record_share, saved_view_save
from customers.demo import company_fields, settle_last_activity
from customers.models import Company, Contact, Interaction
from pipeline import leads as lead_services
from pipeline import opportunities as deal_services
from pipeline.models import (
    AssignmentRule,
    Lead,
    LeadSource,
    LostReason,
    Opportunity,
    Pipeline,
    ScoringRule,
    Stage,
    StageChange,
    Task,
    WebForm,
)
from pipeline.quotas import quota_set
from pipeline.tasks_services import task_complete, task_create

DEALS_PER_SELLER = 9
WEB_FORM_SLUG = "contact-us"
LEADS_PER_SELLER = 4
# (Chinese, English) deal names
PRODUCTS = [
    ("数据中心扩容", "Data centre expansion"),
    ("办公网络升级", "Office network upgrade"),
    ("云平台迁移", "Cloud migration"),
    ("安全审计", "Security audit"),
    ("ERP 实施", "ERP roll-out"),
    ("CRM 许可", "CRM licences"),
    ("硬件更新", "Hardware refresh"),
]
AMOUNTS = [18_000, 36_000, 60_000, 85_000, 120_000, 180_000, 260_000, 420_000, 680_000]
NEXT_STEPS = [
    ("发送报价单", "Send the revised quote"),
    ("安排技术交流", "Book the demo"),
    ("确认采购流程", "Confirm the buying process"),
]
# kind -> (Chinese, English) titles
TASKS = {
    Task.Kind.CALL: [("电话跟进报价", "Follow-up call on the quote"), ("确认付款进度", "Check on the payment")],
    Task.Kind.MEETING: [("方案演示", "Product demo"), ("合同谈判", "Contract negotiation")],
    Task.Kind.TASK: [("准备合同草稿", "Draft the contract"), ("整理需求清单", "Write up the requirements")],
}
DISQUALIFY_REASONS = ["无预算", "只是学生咨询", "重复咨询"]


class SalesStory:
    def __init__(self, demo: DemoCompany):
        self.demo = demo
        self.rng = demo.rng
        self.sellers = demo.members(roles.SALES_REP, roles.SALES_MANAGER)
        self.pipelines = list(Pipeline.objects.filter(active=True).order_by("-is_default", "order"))
        self.stages = {p.pk: list(p.stages.order_by("order", "pk")) for p in self.pipelines}
        self.reasons = list(LostReason.objects.filter(active=True))
        self.sources = {s.code: s for s in LeadSource.objects.all()}
        self.counts = {"leads": 0, "opportunities": 0, "tasks": 0, "quotas": 0}
        self.wins = itertools.count()

    # --- Deals --------------------------------------------------------------------------------

    def deal(self, owner: User, company: Company, contact: Contact | None, *, pipeline: Pipeline, target: Stage):
        """Open a deal, walk it through the stages to `target`, then date that walk into the past."""
        english = company.country != "CN" or not company.tax_id
        chinese, english_name = self.rng.choice(PRODUCTS)
        amount = Decimal(self.rng.choice(AMOUNTS) + self.rng.randrange(20) * 1000)
        stages = self.stages[pipeline.pk]
        open_stages = [s for s in stages if s.kind == Stage.Kind.OPEN]
        if target.kind == Stage.Kind.OPEN:
            path = open_stages[: open_stages.index(target) + 1]
        else:
            path = [*open_stages[: self.rng.randint(1, len(open_stages))], target]
        times = self._timeline(len(path), target=target)
        close = self._close_date(times[-1], target)
        still_open = target.kind == Stage.Kind.OPEN
        next_step = self.rng.choice(NEXT_STEPS)[1 if english else 0] if still_open else ""
        opportunity = deal_services.opportunity_create(
            actor=owner,
            owner=owner,
            team=self.demo.team_of(owner),
            company=company,
            contact=contact,
            name=english_name if english else chinese,
            pipeline=pipeline,
            stage=path[0],
            amount=amount,
            expected_close_date=close,
            next_step=next_step,
            next_step_date=self.demo.today + timedelta(self.rng.randint(-3, 14)) if still_open else None,
        )
        for stage in path[1:]:
            if stage.kind == Stage.Kind.WON:
                deal_services.opportunity_win(opportunity=opportunity, actor=owner, stage=stage)
            elif stage.kind == Stage.Kind.LOST:
                reason = self.rng.choice(self.reasons)
                deal_services.opportunity_lose(opportunity=opportunity, actor=owner, lost_reason=reason, stage=stage)
            else:
                deal_services.opportunity_move(opportunity=opportunity, stage=stage, actor=owner)
        self._date_history(opportunity, times)
        if target.kind == Stage.Kind.WON and self.rng.random() < 0.8:
            deal_services.record_won_transaction(opportunity=opportunity, actor=owner)
        self.counts["opportunities"] += 1
        return opportunity

    def _timeline(self, steps: int, *, target: Stage) -> list[datetime]:
        """When the deal entered each stage. Open deals moved lately (one in seven has stalled);
        every other win came this month, the rest of the closed deals over the past year."""
        if target.kind == Stage.Kind.OPEN:
            last = self.rng.randrange(45, 90) if self.rng.random() < 0.15 else self.rng.randrange(1, 12)
        elif target.kind == Stage.Kind.WON and next(self.wins) % 2 == 0:
            last = self.rng.randrange(0, self.demo.today.day)
        else:
            last = self.rng.randrange(20, 330)
        gaps = [self.rng.randrange(5, 25) for _ in range(steps - 1)]
        start = last + sum(gaps)
        return [self.demo.days_ago(start - sum(gaps[:i])) for i in range(steps)]

    def _close_date(self, last: datetime, target: Stage):
        if target.kind != Stage.Kind.OPEN:
            return timezone.localdate(last)
        # Mostly this month and the next two, a few already overdue.
        return self.demo.today + timedelta(days=self.rng.choice([-10, -3, 5, 12, 20, 35, 50, 75, 100]))

    def _date_history(self, opportunity: Opportunity, times: list[datetime]) -> None:
        """Spread the stage changes (and their timeline entries) over `times`."""
        changes = list(StageChange.objects.filter(opportunity=opportunity).order_by("pk"))
        entries = list(Interaction.objects.filter(source_ref=f"pipeline.opportunity:{opportunity.pk}").order_by("pk"))
        for change, when in zip(changes, times, strict=True):
            backdate(change, changed_at=when)
        for entry, when in zip(entries, times, strict=False):
            backdate(entry, occurred_at=when)
        last = times[-1]
        dates = {"created_at": times[0], "stage_changed_at": last, "last_activity_at": last}
        if opportunity.won_at:
            dates["won_at"] = last
        if opportunity.lost_at:
            dates["lost_at"] = last
        backdate(opportunity, **dates)

    def target_stage(self, pipeline: Pipeline) -> Stage:
        """Earlier stages hold more deals; about one in five is won and one in eight lost."""
        stages = self.stages[pipeline.pk]
        open_stages = [s for s in stages if s.kind == Stage.Kind.OPEN]
        weights = [len(open_stages) - i + 2 for i in range(len(open_stages))]
        closing = [s for s in stages if s.kind != Stage.Kind.OPEN]
        weights += [5 if s.kind == Stage.Kind.WON else 3 for s in closing]
        return self.rng.choices([*open_stages, *closing], weights=weights)[0]

    # --- Leads --------------------------------------------------------------------------------

    def lead(self, owner: User | None, *, web_form: WebForm | None = None) -> Lead:
        fields = company_fields(self.rng)
        name = person(self.rng, chinese_share=0.8 if fields["country"] == "CN" else 0.2)
        if web_form is not None:
            source = web_form.source
        else:
            source = self.rng.choice([s for code, s in self.sources.items() if code != "web_form"] or [None])
        data = {
            "family_name": name.family,
            "given_name": name.given,
            "company_name": fields["name"],
            "title": self.rng.choice(["采购经理", "总经理", "IT 经理", "Purchasing Manager", "CTO"]),
            "email": f"{name.latin}@lead{self.rng.randrange(10_000)}.example.com",
            "mobile": f"+86 1{self.rng.choice('3589')}{self.rng.randrange(10)} {self.rng.randrange(10**8):08d}",
            "industry": fields["industry"],
            "province": fields["province"],
            "city": fields["city"],
            "website": fields["website"],
            "source": source,
        }
        if web_form is not None:  # as `web_form_submit` does, without mailing the assignee
            lead = lead_services.lead_create(
                actor=None, team=web_form.team, auto_assign=True, web_form=web_form, **data
            )
            lead_services.lead_record_event(lead=lead, event=ScoringRule.Event.WEB_FORM)
        else:
            lead = lead_services.lead_create(actor=owner, owner=owner, team=self.demo.team_of(owner), **data)
        backdate(lead, created_at=self.demo.days_ago(self.rng.randrange(0, 60)))
        self.counts["leads"] += 1
        return lead

    def work_lead(self, lead: Lead, status: str) -> None:
        owner = lead.owner
        if status in (Lead.Status.CONTACTED, Lead.Status.QUALIFIED, Lead.Status.CONVERTED):
            lead_services.lead_set_status(lead=lead, actor=owner, status=Lead.Status.CONTACTED)
        if status in (Lead.Status.QUALIFIED, Lead.Status.CONVERTED):
            lead_services.lead_set_status(lead=lead, actor=owner, status=Lead.Status.QUALIFIED)
        if status == Lead.Status.DISQUALIFIED:
            reason = self.rng.choice(DISQUALIFY_REASONS)
            lead_services.lead_set_status(lead=lead, actor=owner, status=status, reason=reason)
        if status in (Lead.Status.NEW, Lead.Status.CONTACTED):
            due = timezone.localtime(self.demo.now) + timedelta(days=self.rng.randint(0, 3))
            self.task(owner, due=due.replace(hour=self.rng.randrange(9, 18), minute=0), lead=lead)
        if status == Lead.Status.CONVERTED:
            lead_services.lead_convert(
                lead=lead,
                actor=owner,
                amount=Decimal(self.rng.choice(AMOUNTS)),
                expected_close_date=self.demo.today + timedelta(days=self.rng.randrange(20, 90)),
            )

    # --- Tasks --------------------------------------------------------------------------------

    def task(self, owner: User, *, due: datetime, done: bool = False, **related) -> Task:
        kind = self.rng.choice(list(TASKS))
        chinese, english = self.rng.choice(TASKS[kind])
        task = task_create(
            actor=owner,
            owner=owner,
            kind=kind,
            title=english if owner.language == "en" else chinese,
            due_at=due,
            duration_minutes=60 if kind == Task.Kind.MEETING else 30,
            **related,
        )
        backdate(task, created_at=min(due, self.demo.now) - timedelta(days=self.rng.randrange(1, 10)))
        if done:
            deal = task.opportunity
            task_complete(task=task, actor=owner)
            backdate(task, completed_at=due)
            Interaction.objects.filter(source_ref=f"pipeline.task:{task.pk}").update(occurred_at=due)
            if deal is not None:  # completing touched the deal "now"; in the story it was on `due`
                backdate(deal, last_activity_at=max(deal.last_activity_at, due))
        self.counts["tasks"] += 1
        return task


@register(has_data=lambda: Opportunity.objects.exists() or Lead.objects.exists())
def sales(demo: DemoCompany) -> str:
    story = SalesStory(demo)
    if not story.pipelines:
        return ""
    _configure(demo)
    deals: dict[int, list[Opportunity]] = {}
    for seller in story.sellers:
        deals[seller.pk] = _deals_of(story, seller)
        _leads_of(story, seller)
    web_form = WebForm.objects.get(slug=WEB_FORM_SLUG)
    for _ in range(5):  # enquiries through the website form, placed by the assignment rules
        story.lead(None, web_form=web_form)
    for seller in story.sellers:
        _tasks_of(story, seller, deals[seller.pk])
    _quotas(story)
    _shares(demo, deals)
    month_end = (demo.today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    saved_view_save(
        user=demo.people["wang.fang"],
        list_key="pipeline.opportunity",
        name="本月预计成交 Closing this month",
        query=urlencode({"close_from": demo.today.replace(day=1).isoformat(), "close_to": month_end.isoformat()}),
    )
    settle_last_activity()
    counts = story.counts
    return (
        f"{counts['leads']} leads, {counts['opportunities']} opportunities, "
        f"{counts['tasks']} tasks, {counts['quotas']} quotas"
    )


def _configure(demo: DemoCompany) -> None:
    """What an administrator sets up first: scoring, assignment by region, a website form."""
    sources = {s.code: s for s in LeadSource.objects.all()}
    for name, field, value, points in [
        ("客户推荐 Referral", "source", "referral", 20),
        ("有邮箱 Has email", "has_email", "", 10),
        ("有电话 Has phone", "has_phone", "", 10),
        ("信息技术行业 IT industry", "industry", "信息技术", 15),
        ("决策人 Decision maker", "title", "总经理", 15),
    ]:
        ScoringRule.objects.create(name=name, kind=ScoringRule.Kind.FIELD, field=field, value=value, points=points)
    ScoringRule.objects.create(
        name="填写官网表单 Web form", kind=ScoringRule.Kind.EVENT, event=ScoringRule.Event.WEB_FORM, points=15
    )
    east, south = demo.teams["East China Sales"], demo.teams["South China Sales"]
    for order, (region, team) in enumerate(
        [("上海", east), ("浙江", east), ("江苏", east), ("广东", south), ("福建", south)]
    ):
        AssignmentRule.objects.create(
            name=f"{region} → {team.name}",
            order=order,
            region=region,
            team=team,
            method=AssignmentRule.Method.LEAST_LOADED if order % 2 else AssignmentRule.Method.ROUND_ROBIN,
        )
    WebForm.objects.create(
        name="官网咨询 Website enquiry",
        slug=WEB_FORM_SLUG,
        fields=["family_name", "given_name", "company_name", "email", "phone", "city", "industry", "notes"],
        required_fields=["family_name", "company_name", "email"],
        team=south,
        source=sources.get("web_form"),
        title="联系我们 Contact us",
        thank_you_text="谢谢！销售顾问会在一个工作日内联系您。Thank you: we will be in touch within a working day.",
    )


def _deals_of(story: SalesStory, seller: User) -> list[Opportunity]:
    companies = list(
        Company.objects.filter(owner=seller)
        .exclude(lifecycle__in=[Company.Lifecycle.LOST, Company.Lifecycle.DORMANT])
        .order_by("pk")[: DEALS_PER_SELLER * 2]
    )
    contacts = {}
    for contact in Contact.objects.filter(company__in=companies).order_by("pk"):
        contacts.setdefault(contact.company_id, contact)
    renewals = story.pipelines[1] if len(story.pipelines) > 1 else story.pipelines[0]
    deals = []
    for company in story.rng.sample(companies, k=min(DEALS_PER_SELLER, len(companies))):
        pipeline = renewals if company.lifecycle == Company.Lifecycle.KEY else story.pipelines[0]
        if company.lifecycle == Company.Lifecycle.ACTIVE and story.rng.random() < 0.3:
            pipeline = renewals
        target = story.target_stage(pipeline)
        deals.append(story.deal(seller, company, contacts.get(company.pk), pipeline=pipeline, target=target))
    return deals


def _leads_of(story: SalesStory, seller: User) -> None:
    statuses = [
        Lead.Status.NEW,
        Lead.Status.CONTACTED,
        Lead.Status.QUALIFIED,
        Lead.Status.DISQUALIFIED,
        Lead.Status.CONVERTED,
    ]
    for n in range(LEADS_PER_SELLER):
        status = statuses[(n + story.sellers.index(seller)) % len(statuses)]
        story.work_lead(story.lead(seller), status)


def _tasks_of(story: SalesStory, seller: User, deals: list[Opportunity]) -> None:
    """Two due later today, one or two overdue, some coming up, and a few done."""
    demo, rng = story.demo, story.rng
    open_deals = [d for d in deals if d.won_at is None and d.lost_at is None] or deals
    now = timezone.localtime(demo.now)
    hour = now.replace(minute=0, second=0, microsecond=0)
    last_slot = now.replace(hour=23, minute=45, second=0, microsecond=0)

    def related() -> dict:
        deal = rng.choice(open_deals) if open_deals else None
        return {"opportunity": deal} if deal and rng.random() < 0.75 else {"company": deal.company} if deal else {}

    for hours in (1, 3):  # still ahead today, whenever the demo is loaded
        story.task(seller, due=max(min(hour + timedelta(hours=hours), last_slot), now), **related())
    for days in rng.sample([1, 2, 4, 6], k=rng.randint(1, 2)):
        story.task(seller, due=hour - timedelta(days=days), **related())
    for days in rng.sample(range(1, 21), k=4):
        story.task(seller, due=(hour + timedelta(days=days)).replace(hour=rng.randrange(9, 18)), **related())
    for days in rng.sample(range(3, 30), k=3):
        story.task(seller, due=hour - timedelta(days=days), done=True, **related())


def _quotas(story: SalesStory) -> None:
    """This year's monthly targets: managers set their reps', the administrator the managers'."""
    demo = story.demo
    year = demo.today.year
    for seller in story.sellers:
        manager = demo.manager_of(seller)
        setter = demo.admin if manager.pk == seller.pk else manager
        base = 900_000 if roles.SALES_MANAGER in {g.name for g in seller.groups.all()} else 400_000
        for month in range(1, 13):
            amount = Decimal(base + story.rng.randrange(-2, 3) * 50_000)
            quota_set(actor=setter, user=seller, month=datetime(year, month, 1).date(), amount=amount)
            story.counts["quotas"] += 1


def _shares(demo: DemoCompany, deals: dict[int, list[Opportunity]]) -> None:
    """A joint deal across the two sales teams, and one the other team's manager follows."""
    emily, sarah = demo.people["emily.chen"], demo.people["sarah.johnson"]
    for deal in deals.get(emily.pk, [])[:1]:
        record_share(obj=deal, recipient=sarah, level=ShareLevel.CHANGE, actor=emily)
    for deal in deals.get(sarah.pk, [])[:1]:
        record_share(obj=deal, recipient=demo.people["wang.fang"], level=ShareLevel.VIEW, actor=sarah)
