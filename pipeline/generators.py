"""Generated sales data for scale tests (see `crm.datagen`): rows for COPY, no audit entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Max, Min

from crm.datagen import EPOCH, GenerationContext, register, register_finish, weighted
from crm.fields import blind_index_for, normalize_email
from crm.search import search_tokens
from customers.models import Company
from pipeline.models import Lead, LeadSource, LostReason, Opportunity, Pipeline, Stage, StageChange, Task
from pipeline.stage_totals import reconcile

_PRODUCTS = [
    "数据中心扩容",
    "办公网络升级",
    "云平台迁移",
    "安全审计",
    "年度维保",
    "ERP 实施",
    "CRM licences",
    "Cloud migration",
    "Support renewal",
    "Hardware refresh",
]
_AMOUNTS = [5_000, 12_000, 30_000, 50_000, 80_000, 120_000, 250_000, 500_000, 1_200_000]


def _company_ids(ctx: GenerationContext) -> tuple[int, int]:
    if Company in ctx.new_ids:
        return ctx.new_ids[Company]
    bounds = Company.objects.aggregate(first=Min("pk"), last=Max("pk"))
    return bounds["first"] or 1, bounds["last"] or 1


def _stage_weights(stages: list[Stage]) -> list[tuple[Stage, int]]:
    """Most deals are open, earlier stages hold more of them; about a fifth are won, a fifth lost."""
    open_stages = [s for s in stages if s.kind == Stage.Kind.OPEN]
    weights = [(s, 12 * (len(open_stages) - i)) for i, s in enumerate(open_stages)]
    total_open = sum(w for _s, w in weights)
    for s in stages:
        if s.kind != Stage.Kind.OPEN:
            weights.append((s, total_open // 4))
    return weights


@register(model=Opportunity, per_company=1)
def opportunities(ctx: GenerationContext, count: int) -> Iterator[dict]:
    rng = ctx.rng
    first, last = _company_ids(ctx)
    pipelines = list(Pipeline.objects.filter(active=True).order_by("-is_default", "order"))
    if not pipelines:
        return
    stage_picks = {p.pk: weighted(rng, [(s.pk, w) for s, w in _stage_weights(list(p.stages.all()))]) for p in pipelines}
    stages = {s.pk: s for s in Stage.objects.all()}
    reasons = list(LostReason.objects.values_list("pk", flat=True)) or [None]
    pipeline_pick = weighted(rng, [(pipelines[0].pk, 85)] + [(p.pk, 15) for p in pipelines[1:]])
    for n in range(count):
        owner = ctx.owner()
        created = ctx.timestamp()
        pipeline_id = next(pipeline_pick)
        stage = stages[next(stage_picks[pipeline_id])]
        span = max(1, int((EPOCH - created).total_seconds()))
        changed = created + timedelta(seconds=rng.randrange(span))
        activity = changed + timedelta(seconds=rng.randrange(max(1, int((EPOCH - changed).total_seconds()))))
        name = f"{rng.choice(_PRODUCTS)} {created.year}-{n % 1000:03d}"
        yield {
            "name": name,
            "company_id": rng.randint(first, last),
            "pipeline_id": pipeline_id,
            "stage_id": stage.pk,
            "amount": rng.choice(_AMOUNTS) + rng.randrange(100) * 100,
            "currency": "CNY",
            "expected_close_date": (created + timedelta(days=rng.randrange(30, 240))).date(),
            "won_at": changed if stage.kind == Stage.Kind.WON else None,
            "lost_at": changed if stage.kind == Stage.Kind.LOST else None,
            "lost_reason_id": rng.choice(reasons) if stage.kind == Stage.Kind.LOST else None,
            "stage_changed_at": changed,
            "last_activity_at": activity,
            "search_text": search_tokens(name),
            "owner_id": owner.user_id,
            "team_id": owner.team_id,
            "created_at": created,
            "updated_at": activity,
        }


@register(model=StageChange, per_company=2.5)
def stage_changes(ctx: GenerationContext, count: int) -> Iterator[dict]:
    """History of the deals generated just before: opened in the first stage, then each stage on
    the way to the current one (a closed deal jumps from a random open stage)."""
    if Opportunity not in ctx.new_ids:
        return
    rng = ctx.rng
    first, last = ctx.new_ids[Opportunity]
    ordered: dict[int, list[Stage]] = {}
    for stage in Stage.objects.order_by("pipeline_id", "order", "pk"):
        ordered.setdefault(stage.pipeline_id, []).append(stage)
    stages = {s.pk: s for path in ordered.values() for s in path}
    rows = (
        Opportunity.objects.filter(pk__range=(first, last))
        .order_by("pk")
        .values_list("pk", "pipeline_id", "stage_id", "created_at", "stage_changed_at", "owner_id")
    )
    for pk, pipeline_id, stage_id, created, changed, owner_id in rows.iterator(chunk_size=20_000):
        path = [s for s in ordered[pipeline_id] if s.kind == Stage.Kind.OPEN]
        current = stages[stage_id]
        if current.kind == Stage.Kind.OPEN:
            steps = path[: path.index(current) + 1]
        else:
            steps = path[: rng.randrange(1, len(path) + 1)] + [current]
        span = max(1, (changed - created).total_seconds())
        previous = None
        for i, step in enumerate(steps):
            when = (
                created
                if i == 0
                else changed
                if i == len(steps) - 1
                else created + timedelta(seconds=span * i / (len(steps) - 1))
            )
            yield {
                "opportunity_id": pk,
                "from_stage_id": previous,
                "to_stage_id": step.pk,
                "actor_id": owner_id,
                "changed_at": when,
            }
            previous = step.pk


_LEAD_STATUSES = [("new", 5), ("contacted", 3), ("qualified", 2), ("disqualified", 1)]
_FAMILY = "王李张刘陈杨黄赵吴周"
_GIVEN = ["伟", "芳", "敏", "静", "强", "磊", "洋", "杰", "涛", "明"]


@register(model=Lead, per_company=1)
def leads(ctx: GenerationContext, count: int) -> Iterator[dict]:
    rng = ctx.rng
    sources = list(LeadSource.objects.values_list("pk", flat=True)) or [None]
    statuses = weighted(rng, _LEAD_STATUSES)
    for n in range(count):
        owner = ctx.owner()
        created = ctx.timestamp()
        family, given = rng.choice(_FAMILY), rng.choice(_GIVEN)
        company = f"{rng.choice(['华信', '宏达', '新锐', '博远'])}{rng.choice(['科技', '贸易', '制造'])}有限公司"
        email = f"lead{n}.{rng.randrange(10**6)}@example.cn"
        name = f"{family}{given}"
        yield {
            "family_name": family,
            "given_name": given,
            "display_name": name,
            "company_name": company,
            "email": email,
            "email_bidx": blind_index_for(normalize_email, email),
            "source_id": rng.choice(sources),
            "status": next(statuses),
            "score": rng.randrange(0, 100),
            "search_text": search_tokens(name, company, email),
            "owner_id": owner.user_id,
            "team_id": owner.team_id,
            "created_at": created,
            "updated_at": created,
        }


@register(model=Task, per_company=1)
def tasks(ctx: GenerationContext, count: int) -> Iterator[dict]:
    """Tasks spread from a month before to a month after the generation epoch, mostly open."""
    rng = ctx.rng
    first, last = _company_ids(ctx)
    for _ in range(count):
        owner = ctx.owner()
        due = EPOCH + timedelta(minutes=rng.randrange(-30 * 24 * 60, 30 * 24 * 60))
        done = due < EPOCH and rng.random() < 0.7
        yield {
            "kind": rng.choice(["task", "call", "meeting"]),
            "title": rng.choice(["回访客户", "发送报价", "Follow up", "Demo", "合同确认"]),
            "due_at": due,
            "duration_minutes": 30,
            "status": "done" if done else "open",
            "completed_at": due if done else None,
            "company_id": rng.randint(first, last),
            "owner_id": owner.user_id,
            "team_id": owner.team_id,
            "created_at": due - timedelta(days=3),
            "updated_at": due - timedelta(days=3),
        }


# The deals were loaded by COPY, which sends no signals: recount the board's cells.
register_finish(reconcile)
