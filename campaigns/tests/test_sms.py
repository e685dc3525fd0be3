"""The SMS channel: length rules, who is left out, sending through the backend (the in-memory
one here) with retries and refusals, the opt-out line in the recipient's language, and the
provider's delivery reports."""

import json

import pytest
from django.urls import reverse

from campaigns import sending, sms
from campaigns.models import Campaign, Delivery
from campaigns.tests.factories import CampaignFactory, SegmentFactory
from crm.tests.factories import TeamFactory, UserFactory
from customers.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
TOKEN = "an-sms-report-secret"


@pytest.mark.parametrize(
    ("text", "parts", "unicode"),
    [
        ("a" * 160, 1, False),
        ("a" * 161, 2, False),  # 153 a part once split
        ("a" * 306, 2, False),
        ("a" * 307, 3, False),
        ("€" * 80, 1, False),  # an extension character counts twice
        ("€" * 81, 2, False),
        ("春" * 70, 1, True),
        ("春" * 71, 2, True),  # 67 a part once split
        ("春" * 134, 2, True),
        ("春" * 135, 3, True),
        ("", 0, False),
    ],
)
def test_how_many_messages_a_text_takes(text, parts, unicode):
    length = sms.length(text)
    assert (length.parts, length.unicode, length.characters) == (parts, unicode, len(text))


@pytest.fixture(autouse=True)
def _backend(settings):
    settings.CAMPAIGN_SMS_BACKEND = "campaigns.sms.LocmemBackend"
    settings.CAMPAIGN_SMS_OPT_OUT = ""
    sms.outbox.clear()
    sms.LocmemBackend.fail_numbers = {}
    yield
    sms.LocmemBackend.fail_numbers = {}


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def marketer(team):
    return UserFactory(marketing=True, team=team, team_role="manager")


def person(marketer, team, **fields):
    fields.setdefault("sms_opt_in", True)
    return ContactFactory(owner=marketer, team=team, company__city="上海", **fields)


def campaign_for(marketer, **fields):
    segment = SegmentFactory(owner=marketer, criteria={"city": "上海"})
    fields.setdefault("sms_body", "{{ contact.name }}您好，春季新品上市")
    return CampaignFactory(
        owner=marketer, segment=segment, sending=True, channel=Campaign.Channel.SMS, subject="", html_body="", **fields
    )


def send_all(campaign):
    sending.prepare(campaign)
    while sending.send_some(campaign.pk)["more"]:
        pass
    sending.finish_if_done(campaign)
    campaign.refresh_from_db()


def test_texts_go_to_consenting_mobiles_once_with_the_opt_out_line(marketer, team):
    wang = person(
        marketer, team, family_name="王", given_name="小明", mobile="13800138000", preferred_language="zh-hans"
    )
    smith = person(
        marketer, team, given_name="Anna", family_name="Smith", mobile="13900139000", preferred_language="en"
    )
    same_number = person(marketer, team, mobile="+86 138 0013 8000")
    no_mobile = person(marketer, team, mobile="")
    no_consent = person(marketer, team, mobile="13700137000", sms_opt_in=False)
    campaign = campaign_for(marketer)

    send_all(campaign)

    texts = {m["to"]: m["text"] for m in sms.outbox}
    assert set(texts) == {"13800138000", "13900139000"}
    assert texts["13800138000"] == "王小明您好，春季新品上市 回T退订"
    assert texts["13900139000"] == "Anna Smith您好，春季新品上市 Reply T to unsubscribe"
    reasons = dict(campaign.deliveries.values_list("contact_id", "reason"))
    assert reasons[same_number.pk] == Delivery.Reason.DUPLICATE
    assert reasons[no_mobile.pk] == Delivery.Reason.NO_MOBILE
    assert reasons[no_consent.pk] == Delivery.Reason.NO_SMS_CONSENT
    assert not campaign.deliveries.exclude(email="").exists()  # no number is copied in clear
    assert {d.message_id for d in campaign.deliveries.filter(contact__in=[wang, smith])} == {
        f"locmem-campaign-{campaign.pk}-{d.pk}" for d in campaign.deliveries.filter(contact__in=[wang, smith])
    }
    assert (campaign.sent_count, campaign.suppressed_count, campaign.status) == (2, 3, Campaign.Status.SENT)


def test_a_busy_provider_is_tried_again_and_a_refusal_fails(marketer, team):
    person(marketer, team, mobile="13800138000")
    person(marketer, team, mobile="13900139000")
    sms.LocmemBackend.fail_numbers = {"13800138000": "temporary", "13900139000": "permanent"}
    campaign = campaign_for(marketer)

    send_all(campaign)

    by_status = dict(campaign.deliveries.values_list("status", "next_attempt_at"))
    assert by_status[Delivery.Status.QUEUED] is not None  # waits for its retry
    assert Delivery.Status.FAILED in by_status
    assert sms.outbox == []


def report(client, events, token=TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    return client.post(reverse("campaigns:sms_status"), json.dumps(events), content_type="application/json", **headers)


def test_delivery_reports_stamp_or_fail_the_message(client, marketer, team, settings):
    settings.CAMPAIGN_SMS_WEBHOOK_TOKEN = TOKEN
    person(marketer, team, mobile="13800138000")
    person(marketer, team, mobile="13900139000")
    campaign = campaign_for(marketer)
    send_all(campaign)
    first, second = campaign.deliveries.order_by("pk")

    assert report(client, {"events": []}, token="wrong").status_code == 401
    response = report(
        client,
        {
            "events": [
                {"id": first.message_id, "status": "delivered"},
                {"id": second.message_id, "status": "failed", "reason": "absent subscriber"},
                {"id": "someone-else", "status": "delivered"},
            ]
        },
    )

    assert response.json() == {"received": 3, "recorded": 2}
    first.refresh_from_db(), second.refresh_from_db(), campaign.refresh_from_db()
    assert first.delivered_at is not None
    assert (second.status, second.error) == (Delivery.Status.FAILED, "absent subscriber")
    assert (campaign.sent_count, campaign.failed_count) == (1, 1)


@pytest.mark.parametrize("body", ["[]", '{"events": [{"id": 1, "status": "delivered"}]}', '{"events": [{"id": "x"}]}'])
def test_reports_of_the_wrong_shape_are_refused_with_a_reason(client, settings, body):
    settings.CAMPAIGN_SMS_WEBHOOK_TOKEN = TOKEN
    response = client.post(
        reverse("campaigns:sms_status"), body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"
    )
    assert response.status_code == 400 and "error" in response.json()


def test_the_report_endpoint_is_off_without_a_secret(client, settings):
    settings.CAMPAIGN_SMS_WEBHOOK_TOKEN = ""
    assert report(client, {"events": []}).status_code == 404


def test_an_sms_campaign_needs_its_text_and_shows_its_length(client, marketer, team):
    from django.core.exceptions import ValidationError

    from campaigns import services

    draft = campaign_for(marketer, status=Campaign.Status.DRAFT, started_at=None, sms_body="")
    with pytest.raises(ValidationError, match="text message"):
        services.campaign_send(campaign=draft, actor=marketer, link_base="https://crm.example.com")
    Campaign.objects.filter(pk=draft.pk).update(sms_body="春" * 80)
    client.force_login(marketer)
    page = client.get(draft.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Unicode" in page and "2 messages" in page


def replies(client, events, token=TOKEN):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    return client.post(reverse("campaigns:sms_replies"), json.dumps(events), content_type="application/json", **headers)


def test_replying_the_opt_out_word_withdraws_sms_consent_for_that_number(client, marketer, team, settings):
    from auditlog.models import LogEntry

    from customers.models import Contact
    from pipeline.models import Lead
    from pipeline.tests.factories import LeadFactory

    settings.CAMPAIGN_SMS_WEBHOOK_TOKEN = TOKEN
    wang = person(marketer, team, mobile="13800138000")
    other = person(marketer, team, mobile="13900139000")
    lead = LeadFactory(mobile="+86 138 0013 8000", sms_opt_in=True)

    assert replies(client, {"events": [{"from": "13800138000", "text": "T"}]}, token="wrong").status_code == 401
    response = replies(
        client,
        {"events": [{"from": "+8613800138000", "text": " t "}, {"from": "13900139000", "text": "好的，谢谢"}]},
    )

    assert response.json() == {"received": 2, "opted_out": 2}
    assert Contact.objects.get(pk=wang.pk).sms_opt_in is False
    assert Contact.objects.get(pk=other.pk).sms_opt_in is True
    assert Lead.objects.get(pk=lead.pk).sms_opt_in is False
    assert LogEntry.objects.filter(object_id=wang.pk, additional_data__event="campaign sms opt-out").exists()
    assert replies(client, {"events": [{"from": 5, "text": "T"}]}).status_code == 400
