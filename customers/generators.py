"""Generated customers for scale tests (see `crm.datagen`): rows for COPY, no audit entries."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

from django.db.models import Max, Min

from crm.datagen import GenerationContext, register, weighted
from crm.fields import blind_index_for, normalize_email
from crm.people import display_name
from crm.search import search_tokens
from customers.demo import company_fields, lifecycle
from customers.models import Company, Contact, Interaction, Transaction, website_domain


@register(model=Company, per_company=1)
def companies(ctx: GenerationContext, count: int) -> Iterator[dict]:
    rng = ctx.rng
    for _ in range(count):
        owner = ctx.owner()
        created = ctx.timestamp()
        fields = company_fields(rng)
        if not ctx.encrypt:
            del fields["phone"], fields["tax_id"]
        updated = created + timedelta(days=rng.randrange(365))
        # What Company.save() derives, since COPY skips save().
        domain = website_domain(fields["website"])
        yield {
            **fields,
            "website_domain": domain,
            "search_text": search_tokens(fields["name"], fields["legal_name"], domain),
            "lifecycle": lifecycle(rng),
            "owner_id": owner.user_id,
            "team_id": owner.team_id,
            "created_at": created,
            "updated_at": updated,
            "last_activity_at": updated,
        }


_FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "强",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "晓东",
]
_EN_GIVEN = ["Anna", "David", "Emily", "James", "Laura", "Michael", "Olivia", "Peter", "Sarah", "Thomas"]
_EN_FAMILY = ["Brown", "Chen", "Garcia", "Johnson", "Lee", "Miller", "Smith", "Wang", "Wilson", "Young"]
_TITLES = ["总经理", "采购经理", "技术总监", "财务主管", "Sales Director", "Purchasing Manager", "CTO", "Buyer"]
_KINDS = [("note", 3), ("call", 4), ("meeting", 2), ("email", 3), ("visit", 1)]
_SUMMARIES = {
    "note": "跟进记录",
    "call": "电话沟通需求",
    "meeting": "项目评审会议",
    "email": "发送报价单",
    "visit": "上门拜访",
}


def _company_ids(ctx: GenerationContext) -> tuple[int, int]:
    if Company in ctx.new_ids:
        return ctx.new_ids[Company]
    bounds = Company.objects.aggregate(first=Min("pk"), last=Max("pk"))
    return bounds["first"] or 1, bounds["last"] or 1


@register(model=Contact, per_company=2)
def contacts(ctx: GenerationContext, count: int) -> Iterator[dict]:
    rng = ctx.rng
    first, last = _company_ids(ctx)
    for n in range(count):
        owner = ctx.owner()
        created = ctx.timestamp()
        if rng.random() < 0.6:
            family, given = rng.choice(_FAMILY), rng.choice(_GIVEN)
            email = f"user{n}.{rng.randrange(10**6)}@example.cn"
        else:
            family, given = rng.choice(_EN_FAMILY), rng.choice(_EN_GIVEN)
            email = f"{given.lower()}.{family.lower()}{n}@example.com"
        name = display_name(family, given)
        row = {
            "family_name": family,
            "given_name": given,
            "display_name": name,
            "title": rng.choice(_TITLES),
            "company_id": rng.randint(first, last) if rng.random() < 0.9 else None,
            "email": email,
            "email_bidx": blind_index_for(normalize_email, email),
            "search_text": search_tokens(name, email),
            "owner_id": owner.user_id,
            "team_id": owner.team_id,
            "created_at": created,
            "updated_at": created,
            "last_activity_at": created,
        }
        if ctx.encrypt:
            row["mobile"] = f"1{rng.choice('3589')}{rng.randrange(10)}{rng.randrange(10**8):08d}"
        yield row


@register(model=Interaction, per_company=5)
def interactions(ctx: GenerationContext, count: int) -> Iterator[dict]:
    rng = ctx.rng
    first, last = _company_ids(ctx)
    kinds = weighted(rng, _KINDS)
    for _ in range(count):
        kind = next(kinds)
        when = ctx.timestamp()
        yield {
            "kind": kind,
            "occurred_at": when,
            "summary": _SUMMARIES[kind],
            "body": "",
            "actor_id": ctx.owner().user_id,
            "company_id": rng.randint(first, last),
            "source_ref": "",
            "link": "",
            "created_at": when,
        }


@register(model=Transaction, per_company=3)
def transactions(ctx: GenerationContext, count: int) -> Iterator[dict]:
    rng = ctx.rng
    first, last = _company_ids(ctx)
    for n in range(count):
        when = ctx.timestamp()
        yield {
            "company_id": rng.randint(first, last),
            "date": when.date(),
            "amount": Decimal(rng.randrange(1_000, 500_000)),
            "currency": "CNY",
            "reference": f"GEN-{first}-{n}",
            "description": "",
            "status": "paid" if rng.random() < 0.9 else "pending",
            "created_at": when,
        }
