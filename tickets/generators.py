"""Generated service tickets for scale tests (see `crm.datagen`): about two per company, each with
a couple of messages; rows for COPY, no audit entries. Numbers continue each year's sequence, and
the sequences are brought up to date when the load finishes.

Tickets are worked by a generated support desk (`SUPPORT_AGENTS` agents in `SUPPORT_TEAMS` teams,
each with a support manager), as the service side of a company is staffed apart from its sales
force. Every generated time lies before `crm.datagen.EPOCH`, so active tickets are past their
due times: they are generated as the SLA watch leaves them, warned, escalated and breached."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Max, Min
from django.db.models.functions import Substr
from django.utils import timezone

from crm import roles
from crm.datagen import EPOCH, GenerationContext, Owner, ensure_staff, register, register_finish, weighted
from crm.search import search_tokens
from customers.models import Company
from tickets.models import Category, Message, NumberSequence, Priority, SlaPolicy, Ticket

_SUBJECTS = [
    "打印机无法连接",
    "发票抬头需要修改",
    "VPN 频繁掉线",
    "系统登录失败",
    "数据导出报错",
    "Backup job failed",
    "Licence renewal quote",
    "Wi-Fi slow in meeting rooms",
]
_STATUSES = [("closed", 55), ("resolved", 15), ("open", 12), ("pending", 8), ("new", 10)]
_BODIES = [
    "您好，请问问题解决了吗？",
    "已按照您的建议处理，谢谢。",
    "Could you send us the log file?",
    "请提供设备序列号。",
]


SUPPORT_TEAMS = 4
SUPPORT_AGENTS = 24


def support_staff() -> list[Owner]:
    """The generated support agents, with their team (made on the first load)."""
    return ensure_staff(
        role=roles.SUPPORT_AGENT,
        manager_role=roles.SUPPORT_MANAGER,
        count=SUPPORT_AGENTS,
        teams=SUPPORT_TEAMS,
        team_name="客服{:02d}组 Support {:02d}",
        manager_username="gen_support_manager_{:02d}",
        member_username="gen_agent_{:03d}",
    )


def _company_range(ctx: GenerationContext) -> tuple[int, int]:
    if Company in ctx.new_ids:
        return ctx.new_ids[Company]
    bounds = Company.objects.aggregate(first=Min("pk"), last=Max("pk"))
    return bounds["first"] or 1, bounds["last"] or 1


@register(model=Ticket, per_company=2)
def tickets(ctx: GenerationContext, count: int) -> Iterator[dict]:
    rng = ctx.rng
    first, last = _company_range(ctx)
    priorities = list(Priority.objects.values_list("pk", flat=True))
    categories = list(Category.objects.values_list("pk", flat=True)) or [None]
    if not priorities:
        return
    numbers = dict(NumberSequence.objects.values_list("year", "last"))
    status_pick = weighted(rng, _STATUSES)
    agents = support_staff()
    policy_id = SlaPolicy.objects.filter(active=True).order_by("order", "pk").values_list("pk", flat=True).first()
    for _n in range(count):
        owner = agents[rng.randrange(len(agents))]
        created = ctx.timestamp()
        year = timezone.localtime(created).year
        numbers[year] = numbers.get(year, 0) + 1
        if numbers[year] > 999_999:
            continue  # a year's numbers are used up: the generator makes fewer rows
        number = f"T-{year}-{numbers[year]:06d}"
        status = next(status_pick)
        subject = rng.choice(_SUBJECTS)
        responded = created + timedelta(minutes=rng.randrange(10, 600))
        resolved = responded + timedelta(hours=rng.randrange(1, 120))
        active = status in ("new", "open", "pending")
        first_response_due = created + timedelta(hours=4)
        resolution_due = None if status == "pending" else created + timedelta(days=3)
        # What the SLA watch leaves on a running ticket past its due time: warned, escalated once.
        running_late = status in ("new", "open")
        escalated = (resolution_due or first_response_due) + timedelta(minutes=5) if running_late else None
        yield {
            "number": number,
            "subject": subject,
            "description": rng.choice(_BODIES),
            "company_id": rng.randint(first, last),
            "contact_id": None,
            "channel": rng.choice(["email", "email", "web", "phone"]),
            "category_id": rng.choice(categories),
            "priority_id": rng.choice(priorities),
            "status": status,
            "language": "",
            "first_response_due": first_response_due,
            "resolution_due": resolution_due,
            "first_responded_at": None if status == "new" else min(responded, EPOCH),
            "resolved_at": None if active else min(resolved, EPOCH),
            "closed_at": min(resolved, EPOCH) if status == "closed" else None,
            "sla_policy_id": policy_id,
            "sla_pauses": "[]",
            "first_response_breached": status == "new" or responded > first_response_due,
            "resolution_breached": running_late or (not active and resolved > created + timedelta(days=3)),
            "warned_at": escalated,
            "escalated_at": escalated,
            "csat_comment": "",
            "csat_score": rng.choice([None, None, 5, 4, 3]) if not active else None,
            "origin_message_id": "",
            "last_activity_at": min(resolved, EPOCH),
            "search_text": search_tokens(number, subject),
            "owner_id": None if status == "new" and rng.random() < 0.5 else owner.user_id,
            "team_id": owner.team_id,
            "created_at": created,
            "updated_at": min(resolved, EPOCH),
        }


@register(model=Message, per_company=4)
def messages(ctx: GenerationContext, count: int) -> Iterator[dict]:
    """Two messages on each ticket generated just before: the agent's reply and the customer's answer."""
    if Ticket not in ctx.new_ids:
        return
    rng = ctx.rng
    first, last = ctx.new_ids[Ticket]
    rows = Ticket.objects.filter(pk__range=(first, last)).order_by("pk").values_list("pk", "created_at", "owner_id")
    for pk, created, owner_id in rows.iterator(chunk_size=20_000):
        for offset, kind in ((1, "reply"), (3, "customer")):
            yield {
                "ticket_id": pk,
                "kind": kind,
                "author_id": owner_id if kind == "reply" else None,
                "author_name": "",
                "body": rng.choice(_BODIES),
                "created_at": created + timedelta(hours=offset),
                "message_id": "",
                "mailed_at": None,
            }


@register_finish
def update_number_sequences() -> None:
    """Bring each year's sequence up to the highest number loaded, so new tickets continue after it
    (numbers are zero-padded, so the greatest string of a year is its last number)."""
    years = (
        Ticket.objects.order_by()
        .annotate(year=Substr("number", 3, 4))
        .values("year")
        .annotate(last=Max("number"))
        .values_list("year", "last")
    )
    for year, last in years:
        NumberSequence.objects.update_or_create(year=int(year), defaults={"last": int(last[7:])})
