"""Demo service desk: tickets from the key accounts shared with Customer Support, in every state,
with conversations, SLA clocks running (some close to their targets, one already missed) and
customer ratings on resolved ones, so a new support agent finds a working queue.

Written through the tickets services, acting as the agent of the story; the requests arrive as
the customer's own (actor None) and are placed by the assignment rules.
"""

from __future__ import annotations

from datetime import timedelta

from crm.demo import ADMIN_USERNAME, DemoCompany, backdate, register
from crm.models import User
from crm.pickers import record_source_model
from customers.models import Contact
from tickets import services
from tickets.attachments import store_attachment
from tickets.models import (
    RELATED_SOURCE,
    AssignmentRule,
    CannedResponse,
    Category,
    InboundMail,
    Mailbox,
    Priority,
    Ticket,
    related_ref_for,
)

Status = Ticket.Status

# (subject, first message, category, priority, channel) in Chinese and English.
REQUESTS = [
    ("打印服务器无法连接", "今天早上开始所有打印任务都失败，错误代码 0x80070005。", "故障 Fault", "高 High", "email"),
    ("发票抬头需要修改", "上个月的发票抬头写错了，请重新开具。", "账单 Billing", "普通 Normal", "email"),
    ("VPN 频繁掉线", "出差同事反映 VPN 每隔十分钟断开一次。", "故障 Fault", "紧急 Urgent", "phone"),
    ("新办公室网络安装", "下月搬入新办公室，需要安排网络布线和设备安装。", "安装 Installation", "普通 Normal", "web"),
    ("如何导出月度报表", "请问在哪里可以导出每月的使用报表？", "咨询 Question", "低 Low", "email"),
    (
        "Backup job failed overnight",
        "The nightly backup reported error 23 on the file server.",
        "故障 Fault",
        "高 High",
        "email",
    ),
    ("Licence renewal quote", "Please send a quote for renewing 50 seats.", "账单 Billing", "普通 Normal", "web"),
    (
        "Wi-Fi slow in meeting rooms",
        "Video calls keep freezing in rooms 3 and 4.",
        "故障 Fault",
        "普通 Normal",
        "phone",
    ),
]
REPLIES = [
    "您好，我们已收到您的问题，工程师正在排查，请稍候。",
    "请提供一下设备的序列号和出错截图，谢谢。",
    "Thanks for reporting this. Could you send us the log file from last night?",
]
CANNED = [
    ("已收到 Received", "{customer}您好，\n\n我们已收到您的工单 {number}（{subject}），会尽快处理。\n\n{agent}"),
    (
        "请提供日志 Logs please",
        "Hello {customer},\n\nCould you send us the log file for {number}? Thank you.\n\n{agent}",
    ),
]
# The customer's answers; the first asks a second question an agent may split off.
FOLLOW_UPS = [
    "重启后可以打印了。另外，能否帮我们开通第二台打印机的远程管理？",
    "好的，序列号是 SN-2026-0815，截图已附上。",
    "Thanks, here is the log. It failed again at 02:00.",
]
NOTES = ["客户是重点客户，优先处理。", "Checked the monitoring: the switch in room 3 reboots hourly."]


def _mailbox(demo: DemoCompany, made: list[Ticket], manager) -> None:
    """The support mailbox, switched off until an administrator enters the real server; the
    requests that came by mail are recorded as its messages, one with the log file it carried."""
    mailbox = Mailbox.objects.create(
        name="客服邮箱 Support mailbox",
        host="imap.example.com",
        username="support@example.com",
        team=demo.teams["Customer Support"],
        contact_owner=manager,
        active=False,
    )
    for ticket in made:
        if ticket.channel == "email":
            InboundMail.objects.create(
                mailbox=mailbox,
                message_id=f"<demo-{ticket.number}@customer.example>",
                sender=ticket.contact.email if ticket.contact else "",
                subject=ticket.subject,
                outcome=InboundMail.Outcome.OPENED,
                ticket=ticket,
            )
    with_log = next((t for t in made if t.channel == "email"), made[0])
    store_attachment(
        ticket=with_log, message=None, filename="error-log.txt", content=b"2026-11-05 08:12 spooler: error 0x80070005\n"
    )


def _requesters(demo: DemoCompany) -> list[Contact]:
    support = demo.teams["Customer Support"]
    shared = Contact.objects.filter(company__companygroupobjectpermission__group=support.group, email__gt="").order_by(
        "pk"
    )
    return list(shared.distinct()[:8])


def _about_a_deal(made: list[Ticket]) -> None:
    """The oldest open request of a customer with a deal names that deal, so the deal's page lists
    it (linked by the administrator, who may see both)."""
    deals = record_source_model(RELATED_SOURCE)
    admin = User.objects.filter(username=ADMIN_USERNAME).first()
    if deals is None or admin is None:
        return
    active = Ticket.objects.filter(pk__in=[t.pk for t in made], status__in=Ticket.ACTIVE_STATUSES)
    for ticket in active.select_related("contact").order_by("created_at", "pk"):
        company_id = ticket.company_id or (ticket.contact.company_id if ticket.contact_id else None)
        deal = deals._default_manager.filter(company_id=company_id).order_by("pk").first() if company_id else None
        if deal is not None:
            services.ticket_update(ticket=ticket, actor=admin, related_ref=related_ref_for(deal.pk))
            return


@register(has_data=lambda: Ticket.objects.exists())
def tickets(demo: DemoCompany) -> str:
    requesters = _requesters(demo)
    team = demo.teams.get("Customer Support")
    if not requesters or team is None:
        return ""
    AssignmentRule.objects.get_or_create(
        name="客服部 Customer Support",
        defaults={"team": team, "order": 100, "method": AssignmentRule.Method.ROUND_ROBIN},
    )
    manager, agent = demo.people["zhou.qiang"], demo.people["wu.ting"]
    categories = {c.name: c for c in Category.objects.all()}
    priorities = {p.name: p for p in Priority.objects.all()}
    made = []
    # Oldest first, so that numbers follow the story's dates.
    plan = [
        (30, Status.CLOSED),
        (20, Status.RESOLVED),
        (12, Status.RESOLVED),
        (6, Status.PENDING),
        (4, Status.OPEN),
        (2.5, Status.OPEN),
        (1, Status.NEW),
        (0.1, Status.NEW),
        (9, Status.OPEN),
        (0.05, Status.NEW),
    ]
    for n, (days, status) in enumerate(sorted(plan, key=lambda p: -p[0])):
        subject, body, category, priority, channel = REQUESTS[n % len(REQUESTS)]
        contact = requesters[n % len(requesters)]
        opened = demo.days_ago(days)
        ticket = services.ticket_create(
            actor=None,
            subject=subject,
            description=body,
            contact=contact,
            category=categories.get(category),
            priority=priorities.get(priority),
            channel=channel,
            now=opened,
        )
        worker = ticket.owner or agent
        if status != Status.NEW:
            services.ticket_reply(
                ticket=ticket, actor=worker, body=REPLIES[n % len(REPLIES)], now=opened + timedelta(hours=1)
            )
            services.customer_message(
                ticket=ticket,
                body=FOLLOW_UPS[n % len(FOLLOW_UPS)],
                author_name=str(ticket.contact or ""),
                now=opened + timedelta(minutes=90),
            )
            if n % 2 == 0:
                services.ticket_reply(
                    ticket=ticket,
                    actor=worker,
                    body=NOTES[n % len(NOTES)],
                    public=False,
                    now=opened + timedelta(hours=2),
                )
            if status in (Status.PENDING, Status.RESOLVED, Status.CLOSED):
                services.ticket_set_status(ticket=ticket, actor=worker, status=status, now=opened + timedelta(hours=3))
        made.append(ticket)
    # The newest request waits in the unassigned queue.
    services.ticket_assign(ticket=made[-1], actor=manager, owner=None)
    # The team's manager follows the oldest request still open.
    watched = Ticket.objects.filter(pk__in=[t.pk for t in made], status=Status.OPEN).order_by("created_at").first()
    if watched is not None and services.may_watch(manager, watched):
        services.ticket_watch(ticket=watched, actor=manager)
    _about_a_deal(made)
    _mailbox(demo, made, manager)
    for title, body in CANNED:
        CannedResponse.objects.get_or_create(title=title, defaults={"body": body})
    for ticket in made:
        first = ticket.created_at
        for offset, message in enumerate(ticket.messages.order_by("pk")):
            backdate(message, created_at=first + timedelta(hours=1, minutes=offset))
    resolved = Ticket.objects.filter(pk__in=[t.pk for t in made], status__in=(Status.RESOLVED, Status.CLOSED))
    for score, ticket in zip((5, 4, 2), resolved.order_by("pk"), strict=False):
        comment = "响应很快，谢谢！" if score >= 4 else "等待时间太长。"
        Ticket.objects.filter(pk=ticket.pk).update(csat_score=score, csat_comment=comment)
    return f"{len(made)} tickets"
