"""Reads of campaigns and segments. Every function starts from what the user may see."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, DateTimeField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from campaigns.models import Campaign, Delivery, Event, Segment
from campaigns.segments import audience
from crm.permissions import restrict
from customers.models import Contact
from pipeline.leads import leads_from
from pipeline.models import Lead
from pipeline.opportunity_selectors import won_opportunities

MEMBER_SAMPLE = 25


def _dated(qs: QuerySet, filters: dict) -> QuerySet:
    if filters.get("created_from"):
        qs = qs.filter(created_at__date__gte=filters["created_from"])
    if filters.get("created_to"):
        qs = qs.filter(created_at__date__lte=filters["created_to"])
    return qs


def campaign_list(*, user, filters: dict | None = None) -> QuerySet[Campaign]:
    filters = filters or {}
    # The audience's name only where the viewer may see that segment (one probe per row shown).
    segment_visible = Exists(restrict(Segment.objects.all(), user).filter(pk=OuterRef("segment_id")))
    qs = (
        restrict(Campaign.objects.all(), user)
        .select_related("owner", "team", "segment")
        .annotate(segment_visible=segment_visible)
    )
    if filters.get("q"):
        qs = qs.filter(name__icontains=filters["q"])
    for name in ("status", "owner", "team"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    return _dated(qs, filters)


def segment_list(*, user, filters: dict | None = None) -> QuerySet[Segment]:
    filters = filters or {}
    qs = restrict(Segment.objects.all(), user).select_related("owner", "team")
    if filters.get("q"):
        qs = qs.filter(name__icontains=filters["q"])
    for name in ("kind", "owner", "team"):
        if filters.get(name):
            qs = qs.filter(**{name: filters[name]})
    return _dated(qs, filters)


def campaign_for_detail(user) -> QuerySet[Campaign]:
    return Campaign.objects.select_related("owner", "team", "segment").prefetch_related("exclude_segments")


def segment_sample(segment: Segment, user) -> list:
    """The first people (contacts, or leads) of the segment the user may see (for the segment page)."""
    people = audience(segment, user)
    if not segment.of_leads:
        people = people.select_related("company")
    return list(people.order_by("pk")[:MEMBER_SAMPLE])


def segment_campaigns(segment: Segment, user) -> list[Campaign]:
    return list(restrict(Campaign.objects.filter(segment=segment), user).order_by("-created_at")[:10])


def visible_segment_ids(campaign: Campaign, user) -> set[int]:
    """Which of a campaign's segments the viewer may see (the page names only those)."""
    ids = [campaign.segment_id, *(s.pk for s in campaign.exclude_segments.all())]
    return set(restrict(Segment.objects.filter(pk__in=[i for i in ids if i]), user).values_list("pk", flat=True))


def choosable_segments(user) -> QuerySet[Segment]:
    return restrict(Segment.objects.all(), user).order_by("name")


def _engaged(campaign: Campaign) -> QuerySet[Delivery]:
    return Delivery.objects.filter(campaign=campaign).filter(Q(opened_at__isnull=False) | Q(clicked_at__isnull=False))


def campaign_ref(campaign: Campaign) -> str:
    """How leads name the campaign that brought them (`Lead.source_ref`)."""
    return f"campaigns.campaign:{campaign.pk}"


def conversions(campaign: Campaign) -> QuerySet:
    """Deals won within the campaign's window after a recipient of the same contact or company
    opened or clicked (a lead recipient: the deal its conversion made), and deals of the leads the
    campaign brought."""
    window = timedelta(days=campaign.conversion_days)
    engaged = _engaged(campaign).annotate(
        first=Coalesce("opened_at", "clicked_at"),
    )
    after = engaged.filter(
        Q(contact_id=OuterRef("contact_id"))
        | Q(contact__company_id=OuterRef("company_id"))
        | Q(lead_id=OuterRef("source_lead_id")),
        first__lte=OuterRef("won_at"),
        first__gte=ExpressionWrapper(OuterRef("won_at") - Value(window), output_field=DateTimeField()),
    )
    brought = leads_from(campaign_ref(campaign)).values("pk")
    return (
        won_opportunities()
        .filter(won_at__gte=campaign.started_at or campaign.created_at)
        .filter(Q(Exists(after)) | Q(source_lead_id__in=brought))
    )


def campaign_results(campaign: Campaign) -> dict:
    """Opens, clicks, unsubscribes, bounces, conversions, revenue and ROI (a few grouped queries)."""
    stamps = {
        "opened": campaign.opened_count,
        "clicked": campaign.clicked_count,
        "unsubscribed": campaign.unsubscribed_count,
        "bounced": campaign.bounced_count,
    }
    proxied = Event.objects.filter(campaign=campaign, proxied=True).exists()  # a partial index answers
    won = conversions(campaign) if campaign.started_at else None
    won_stats = (
        won.aggregate(deals=Count("pk"), revenue=Sum("amount"), customers=Count("company", distinct=True))
        if won is not None
        else {"deals": 0, "revenue": None, "customers": 0}
    )
    delivered = max(campaign.sent_count - stamps["bounced"], 0)
    revenue = won_stats["revenue"] or 0

    def rate(part):
        return round(part * 100 / delivered, 1) if delivered else None

    return {
        **stamps,
        "delivered": delivered,
        "proxied_opens": proxied,
        "open_rate": rate(stamps["opened"]),
        "click_rate": rate(stamps["clicked"]),
        "unsubscribe_rate": rate(stamps["unsubscribed"]),
        "conversions": won_stats["deals"],
        "leads": leads_from(campaign_ref(campaign)).count() if campaign.started_at else 0,
        "conversion_rate": rate(won_stats["customers"]),
        "revenue": revenue,
        "roi": round((revenue - campaign.cost) * 100 / campaign.cost, 1) if campaign.cost else None,
    }


def recent_events(campaign: Campaign, user, limit: int = 20) -> list[Event]:
    """The latest opens, clicks, unsubscribes and bounces of recipients (contacts or leads) the user may see."""
    visible = Q(delivery__contact__in=restrict(Contact.objects.all(), user)) | Q(
        delivery__lead__in=restrict(Lead.objects.all(), user)
    )
    return list(
        Event.objects.filter(campaign=campaign)
        .filter(visible)
        .exclude(kind=Event.Kind.SENT)
        .select_related("delivery__contact", "delivery__lead")
        .order_by("-at", "-id")[:limit]
    )
