"""factory_boy factories for marketing campaigns. Segments and campaigns follow
`crm.tests.factories.OwnedFactory`; their owner is a marketer unless one is given.

    SegmentFactory(criteria={"city": "上海"})          # a dynamic segment
    SegmentFactory(contacts=[a, b])                     # a static list of those contacts
    CampaignFactory(segment=segment, owner=marketer)    # a draft, ready to send
    CampaignFactory(sending=True)                       # started: links frozen
    DeliveryFactory(campaign=campaign, sent=True)       # a message handed to SMTP
"""

import factory
from django.utils import timezone

from campaigns.content import tracked_links
from campaigns.models import Campaign, Delivery, Event, Segment, SegmentMember, Suppression
from crm.fields import blind_index_for, normalize_email
from crm.tests.factories import OwnedFactory, UserFactory
from customers.tests.factories import ContactFactory

HTML = (
    "<html><head><style>p { color: #333333; }</style></head><body>"
    "<p>{{ contact.name }}，您好！</p>"
    '<p><a href="https://shop.example.com/spring?utm=mail&amp;id=1">春季新品</a> · '
    '<a href="https://example.com/about">About us</a></p>'
    '<p><a href="{{ unsubscribe_url }}">退订 Unsubscribe</a></p>'
    "</body></html>"
)


def email_key(address: str) -> str:
    """The blind index campaigns key suppressions by."""
    return blind_index_for(normalize_email, address)


class SegmentFactory(OwnedFactory):
    class Meta:
        model = Segment
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"上海客户 Segment {n}")
    kind = Segment.Kind.DYNAMIC
    criteria = factory.Dict({})
    owner = factory.SubFactory(UserFactory, marketing=True, team=factory.SelfAttribute("..team"))

    @factory.post_generation
    def contacts(segment, create, extracted, **kwargs):
        """SegmentFactory(contacts=[...]) makes a static segment of those contacts."""
        if create and extracted is not None:
            if segment.kind != Segment.Kind.STATIC:
                segment.kind = Segment.Kind.STATIC
                segment.save(update_fields=["kind"])
            SegmentMember.objects.bulk_create([SegmentMember(segment=segment, contact=c) for c in extracted])


class SegmentMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SegmentMember

    segment = factory.SubFactory(SegmentFactory, kind=Segment.Kind.STATIC)
    contact = factory.SubFactory(
        ContactFactory,
        opted_in=True,
        owner=factory.SelfAttribute("..segment.owner"),
        team=factory.SelfAttribute("..segment.team"),
    )


class CampaignFactory(OwnedFactory):
    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"春季促销 Spring sale {n}")
    owner = factory.SubFactory(UserFactory, marketing=True, team=factory.SelfAttribute("..team"))
    segment = factory.SubFactory(
        SegmentFactory, owner=factory.SelfAttribute("..owner"), team=factory.SelfAttribute("..team")
    )
    from_name = "示例公司 Example Co"
    subject = "{{ contact.given_name }}，春季新品上市"
    preheader = "仅限本周 This week only"
    html_body = HTML
    text_body = ""

    class Params:
        sending = factory.Trait(
            status=Campaign.Status.SENDING,
            started_at=factory.LazyFunction(timezone.now),
            links=factory.LazyAttribute(lambda c: tracked_links(c.html_body)),
        )

    @factory.post_generation
    def exclude(campaign, create, extracted, **kwargs):
        """CampaignFactory(exclude=[segment]) leaves those segments out."""
        if create and extracted:
            campaign.exclude_segments.add(*extracted)


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    campaign = factory.SubFactory(CampaignFactory, sending=True)
    contact = factory.SubFactory(
        ContactFactory,
        opted_in=True,
        owner=factory.SelfAttribute("..campaign.owner"),
        team=factory.SelfAttribute("..campaign.team"),
    )
    email = factory.SelfAttribute("contact.email")
    email_key = factory.LazyAttribute(lambda d: d.contact.email_bidx)

    class Params:
        sent = factory.Trait(
            status=Delivery.Status.SENT,
            attempts=1,
            sent_at=factory.LazyFunction(timezone.now),
            message_id=factory.Sequence(lambda n: f"<campaign-test-{n}@example.com>"),
        )


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    delivery = factory.SubFactory(DeliveryFactory, sent=True)
    campaign = factory.SelfAttribute("delivery.campaign")
    kind = Event.Kind.OPEN


class SuppressionFactory(factory.django.DjangoModelFactory):
    """An address no campaign may mail: SuppressionFactory(email="a@example.com")."""

    class Meta:
        model = Suppression
        exclude = ("email",)

    email = factory.Sequence(lambda n: f"suppressed{n}@example.com")
    email_key = factory.LazyAttribute(lambda s: email_key(s.email))
    reason = Suppression.Reason.BOUNCED
    detail = "550 5.1.1 user unknown"
