"""Demo marketing: segments of contacts and of leads, a sent bilingual campaign with opens, clicks, an unsubscribe
and a deal won after a click, so a new marketer sees results on the first visit; plus a draft
campaign ready to send.

Written through the campaigns services acting as the marketing manager of the story; the
recipients' responses go through the same tracking functions the public links call. The send
itself goes to a local in-memory mailbox: the demo never mails anyone.
"""

from __future__ import annotations

from datetime import timedelta

from django.test.utils import override_settings

from campaigns import sending, services, tracking
from campaigns.models import Campaign, Delivery, Event, Segment
from crm.demo import DemoCompany, backdate, register
from crm.services import ShareLevel, record_share
from customers.models import Contact
from customers.services import contact_update
from pipeline.leads import lead_update
from pipeline.models import Lead
from pipeline.opportunity_selectors import won_opportunities

LOCAL_MAIL = "django.core.mail.backends.locmem.EmailBackend"
HTML = """<html><body>
<p>{{ contact.name }}，您好！ Dear {{ contact.given_name|default(contact.name) }},</p>
<p>我们的春季新品已经上市，欢迎预约演示。 Our spring range is out: book a demo.</p>
<p><a href="https://www.example.com/spring">了解更多 Learn more</a></p>
<p>{{ sender.name }}</p>
<p><a href="{{ unsubscribe_url }}">退订 Unsubscribe</a></p>
</body></html>"""


def _buyer(demo: DemoCompany):
    """A deal won in the last weeks whose contact has an e-mail: marketing reached that person."""
    cutoff = demo.days_ago(40)
    return (
        won_opportunities()
        .filter(won_at__gte=cutoff, contact__isnull=False, contact__email__gt="")
        .select_related("contact", "contact__owner")
        .order_by("-won_at")
        .first()
    )


@register(has_data=lambda: Campaign.objects.exists())
def campaigns(demo: DemoCompany) -> str:
    marketer = demo.people.get("zhao.xue")
    team = demo.teams.get("Marketing")
    if marketer is None or team is None:
        return ""
    opted_in = services.segment_create(
        actor=marketer,
        name="已同意邮件营销 Opted in to e-mail",
        description="所有同意接收营销邮件的联系人。 Everyone who agreed to marketing e-mail.",
        kind=Segment.Kind.DYNAMIC,
        criteria={"email_consent": "yes"},
        team=team,
    )
    vips = services.segment_create(
        actor=marketer, name="重点客户联系人 Key account contacts", kind=Segment.Kind.STATIC, criteria={}, team=team
    )
    deal = _buyer(demo)
    if deal is not None:
        buyer = deal.contact
        # The buyer's owner shares the contact with marketing and records the consent they gave.
        record_share(obj=buyer, recipient=team.group, level=ShareLevel.VIEW, actor=buyer.owner)
        contact_update(contact=buyer, actor=buyer.owner, email_opt_in=True, email_opt_in_source="展会 Trade show")
        services.segment_add_members(segment=vips, actor=marketer, contacts=Contact.objects.filter(pk=buyer.pk))
    launch = services.campaign_create(
        actor=marketer,
        name="春季新品发布 Spring launch",
        segment=opted_in,
        from_name="市场部 Marketing",
        subject="{{ contact.name }}，春季新品上市 Our spring range is out",
        preheader="预约演示，享受首年优惠。 Book a demo for a first-year discount.",
        html_body=HTML,
        cost=2000,
        team=team,
    )
    launch.exclude_segments.set([])
    with override_settings(EMAIL_BACKEND=LOCAL_MAIL):
        services.campaign_send(campaign=launch, actor=marketer, link_base="http://127.0.0.1:8000")
        sending.prepare(launch)
        while sending.send_some(launch.pk)["more"]:
            pass
        sending.finish_if_done(launch)
    sent_on = (deal.won_at - timedelta(days=12)) if deal is not None else demo.days_ago(12)
    backdate(launch, started_at=sent_on, finished_at=sent_on + timedelta(minutes=20))
    deliveries = list(Delivery.objects.filter(campaign=launch, status=Delivery.Status.SENT).order_by("pk"))
    for n, delivery in enumerate(deliveries):
        if n % 3 != 2:
            tracking.record_open(delivery, user_agent="Mozilla/5.0")
        if n % 3 == 0:
            tracking.record_click(delivery, 0)
    if deal is not None:
        bought = next((d for d in deliveries if d.contact_id == deal.contact_id), None)
        if bought is not None and not Delivery.objects.filter(pk=bought.pk, clicked_at__isnull=False).exists():
            tracking.record_click(bought, 0)
    if len(deliveries) > 4:
        tracking.unsubscribe(deliveries[4])
    for delivery in deliveries:
        Delivery.objects.filter(pk=delivery.pk).update(sent_at=sent_on)
        Event.objects.filter(delivery=delivery).update(at=sent_on + timedelta(hours=2))
        Delivery.objects.filter(pk=delivery.pk, opened_at__isnull=False).update(opened_at=sent_on + timedelta(hours=2))
        Delivery.objects.filter(pk=delivery.pk, clicked_at__isnull=False).update(
            clicked_at=sent_on + timedelta(hours=3)
        )
    nurture = _leads_to_nurture(demo, marketer, team)
    services.campaign_create(
        actor=marketer,
        name="夏季客户答谢会 Summer customer evening",
        segment=vips,
        from_name="市场部 Marketing",
        subject="诚邀参加夏季客户答谢会 You are invited",
        html_body="<p>{{ contact.name }}，诚邀您参加七月的客户答谢会。 Join us in July.</p>",
        team=team,
    )
    return f"3 segments ({nurture} leads to nurture), 2 campaigns, {len(deliveries)} messages"


def _leads_to_nurture(demo: DemoCompany, marketer, team) -> int:
    """Sales shares a few open leads that agreed to e-mail with marketing, which keeps them on a
    segment of leads to nurture: a campaign can reach people who are not customers yet."""
    leads = list(
        Lead.objects.filter(status__in=[Lead.Status.NEW, Lead.Status.CONTACTED], email__gt="")
        .select_related("owner")
        .order_by("pk")[:6]
    )
    for lead in leads:
        record_share(obj=lead, recipient=team.group, level=ShareLevel.VIEW, actor=lead.owner)
        lead_update(lead=lead, actor=lead.owner, email_opt_in=True, email_opt_in_source="展会 Trade show")
    nurture = services.segment_create(
        actor=marketer,
        name="待培育线索 Leads to nurture",
        description="销售转来、同意接收邮件的线索。 Open leads sales passed on, who agreed to e-mail.",
        kind=Segment.Kind.STATIC,
        people=Segment.People.LEADS,
        criteria={},
        team=team,
    )
    services.segment_add_members(
        segment=nurture, actor=marketer, contacts=Lead.objects.filter(pk__in=[x.pk for x in leads])
    )
    return len(leads)
