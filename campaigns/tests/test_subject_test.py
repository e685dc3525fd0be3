"""A subject test: a share of the recipients gets one of two subjects, the rest wait; after the
test time the subject with the better rate goes to the rest. And the second-language version:
contacts who prefer it get it, and are not part of the test."""

from datetime import timedelta
from email.header import decode_header, make_header

import factory
import pytest
from auditlog.models import LogEntry
from django.utils import timezone

from campaigns import sending, tasks
from campaigns.models import Campaign, Delivery
from campaigns.tests.factories import CampaignFactory, SegmentFactory
from crm.tests.factories import TeamFactory, UserFactory
from customers.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def marketer(team):
    user = UserFactory(marketing=True, team=team, team_role="manager")
    user.test_team = team
    return user


def subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def people(marketer, n, **fields):
    team = marketer.test_team
    return [ContactFactory(owner=marketer, team=team, opted_in=True, company__city="上海", **fields) for _ in range(n)]


def running(marketer, **fields):
    segment = SegmentFactory(owner=marketer, criteria={"city": "上海"})
    return CampaignFactory(owner=marketer, segment=segment, sending=True, **fields)


def test_the_test_share_gets_both_subjects_and_the_rest_waits(marketer, smtp_inbox):
    people(marketer, 200)
    campaign = running(marketer, subject="春季新品 A", subject_b="限时优惠 B", ab_share=20)

    sending.prepare(campaign)
    while sending.send_some(campaign.pk)["more"]:
        pass

    deliveries = campaign.deliveries
    sample = deliveries.filter(variant__in=("a", "b"))
    assert 20 <= sample.count() <= 60  # about 20% of 200, by a hash of the ids
    assert {d.variant for d in sample} == {"a", "b"}
    assert deliveries.filter(status=Delivery.Status.HELD).count() == 200 - sample.count()
    subjects = sorted({subject(m) for m in smtp_inbox.messages})
    assert subjects == ["春季新品 A", "限时优惠 B"]
    assert len(smtp_inbox.messages) == sample.count()
    assert sending.finish_if_done(campaign) is False  # the rest still waits


def test_the_winner_goes_to_the_rest_once_the_test_time_is_over(marketer, smtp_inbox, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    people(marketer, 120)
    campaign = running(marketer, subject="A 主题", subject_b="B 主题", ab_share=50, ab_hours=2)
    sending.prepare(campaign)
    while sending.send_some(campaign.pk)["more"]:
        pass
    # Those who got "B" open it more.
    Delivery.objects.filter(campaign=campaign, variant="b").update(opened_at=timezone.now())
    assert sending.decide_subject_test(campaign.pk) == ""  # not yet: the test runs two hours

    Campaign.objects.filter(pk=campaign.pk).update(started_at=timezone.now() - timedelta(hours=3))
    before = len(smtp_inbox.messages)
    result = tasks.resume_sends()

    campaign.refresh_from_db()
    assert campaign.ab_winner == "b" and campaign.ab_decided_at is not None
    rest = smtp_inbox.messages[before:]
    assert rest and {subject(m) for m in rest} == {"B 主题"}
    assert campaign.status == Campaign.Status.SENT
    assert not campaign.deliveries.filter(status=Delivery.Status.HELD).exists()
    assert LogEntry.objects.filter(
        object_id=campaign.pk, additional_data__event="campaign_subject_test_decided"
    ).exists()
    assert result["started"] == []


def test_contacts_who_prefer_the_second_language_get_it_and_stay_out_of_the_test(marketer, smtp_inbox):
    english = people(marketer, 5, preferred_language="en", email=factory.Sequence(lambda n: f"en{n}@example.com"))
    people(marketer, 5, preferred_language="zh-hans")
    campaign = running(
        marketer,
        subject="{{ contact.name }}，您好",
        html_body="<p>中文正文</p>",
        second_language="en",
        second_subject="Hello {{ contact.given_name }}",
        second_html_body="<p>English body</p>",
        subject_b="第二个主题",
        ab_share=50,
    )
    sending.prepare(campaign)
    while sending.send_some(campaign.pk)["more"]:
        pass

    english_ids = {c.pk for c in english}
    for delivery in campaign.deliveries.filter(contact_id__in=english_ids):
        assert (delivery.status, delivery.variant) == (Delivery.Status.SENT, "")
    to_english = [m for m in smtp_inbox.messages if m.recipients[0].startswith("en")]
    assert len(to_english) == 5
    for message in to_english:
        assert subject(message).startswith("Hello ")
        html = next(p for p in message.walk() if p.get_content_type() == "text/html").get_payload(decode=True).decode()
        assert "English body" in html and "中文正文" not in html
        text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
        assert "Unsubscribe:" in text  # the CRM's own words in the recipient's language
