"""The public endpoints a recipient reaches from a message, through the Django test client:
open pixel, click redirect, unsubscribe page and RFC 8058 one-click POST."""

import pytest
from django.test import Client
from django.urls import reverse

from campaigns import tracking
from campaigns.models import Delivery, Event, Suppression
from campaigns.public_views import PIXEL
from campaigns.tests.factories import DeliveryFactory, email_key
from customers.models import Contact, Interaction
from customers.tests.factories import ContactFactory
from pipeline.models import Lead
from pipeline.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
BROWSER = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/140.0"
GOOGLE_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"


def path(name, delivery_id, link=None):
    purpose = {"track_open": "open", "track_click": "click", "unsubscribe": "unsubscribe"}[name]
    return reverse(f"campaigns:{name}", args=[tracking.token_for(delivery_id, link, purpose=purpose)])


@pytest.fixture
def delivery():
    return DeliveryFactory(sent=True)


def timeline(delivery, word):
    return Interaction.objects.filter(contact=delivery.contact, kind=Interaction.Kind.CAMPAIGN, summary__contains=word)


def test_tokens_round_trip_whatever_their_signature_holds():
    # The signature is URL-safe base64 and often holds "-": every token must still read back.
    for pk in range(1, 300):
        assert tracking.read_token(tracking.token_for(pk)) == (pk, None)
        assert tracking.read_token(tracking.token_for(pk, pk % 3)) == (pk, pk % 3)


def test_the_open_pixel_records_one_first_open(client, delivery):
    for _ in range(3):
        response = client.get(path("track_open", delivery.pk), HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/gif" and response.content == PIXEL
        assert "no-store" in response["Cache-Control"]

    delivery.refresh_from_db()
    assert delivery.opened_at is not None
    assert Event.objects.filter(delivery=delivery, kind=Event.Kind.OPEN, proxied=False).count() == 1
    assert timeline(delivery, "Opened").count() == 1


def test_an_image_proxy_is_flagged_and_does_not_count_as_an_open(client, delivery):
    client.get(path("track_open", delivery.pk), HTTP_USER_AGENT=GOOGLE_PROXY)

    delivery.refresh_from_db()
    assert delivery.opened_at is None
    assert list(Event.objects.filter(delivery=delivery).values_list("kind", "proxied")) == [("open", True)]
    assert not timeline(delivery, "Opened").exists()

    # The person opening it later is the first open, on the timeline too.
    client.get(path("track_open", delivery.pk), HTTP_USER_AGENT=BROWSER)
    delivery.refresh_from_db()
    assert delivery.opened_at is not None
    assert timeline(delivery, "Opened").count() == 1


def test_an_unknown_or_unsent_delivery_gets_the_pixel_and_nothing_is_recorded(client):
    queued = DeliveryFactory()
    for token_path in (path("track_open", queued.pk), path("track_open", 999999), "/marketing/r/o/1-forged/"):
        response = client.get(token_path)
        assert response.status_code == 200 and response.content == PIXEL
    assert not Event.objects.exists()


def test_a_click_redirects_to_that_link_of_the_campaign(client, delivery):
    links = delivery.campaign.links
    assert len(links) == 2

    for index, url in enumerate(links):
        response = client.get(path("track_click", delivery.pk, index))
        assert response.status_code == 302 and response["Location"] == url

    delivery.refresh_from_db()
    assert delivery.clicked_at is not None and delivery.opened_at is not None
    assert list(Event.objects.filter(delivery=delivery).order_by("pk").values_list("kind", "url")) == [
        ("click", links[0]),
        ("click", links[1]),
    ]
    assert timeline(delivery, "Clicked").count() == 1


def test_altered_or_foreign_click_tokens_are_404(client, delivery):
    other = DeliveryFactory(sent=True)
    good = tracking.token_for(delivery.pk, 0)
    value, _dash, signature = good.partition("-")
    other_signature = tracking.token_for(other.pk, 1).partition("-")[2]
    bad_tokens = [
        f"{value}-{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",  # altered signature
        f"{delivery.pk}.1-{signature}",  # another index with this signature
        f"{other.pk}.0-{signature}",  # another delivery with this signature
        f"{delivery.pk}.0-{other_signature}",  # a signature of another delivery
        tracking.token_for(delivery.pk, 2),  # out of range, validly signed
        tracking.token_for(delivery.pk, 99),
        tracking.token_for(delivery.pk, purpose="open"),  # an open token is not a click token
        tracking.token_for(DeliveryFactory().pk, 0),  # not sent
    ]
    for token in bad_tokens:
        response = client.get(f"/marketing/r/c/{token}/")
        assert response.status_code == 404, token
    assert not Event.objects.exists()
    delivery.refresh_from_db()
    assert delivery.clicked_at is None


MALFORMED = [
    "x" * 5000,
    "1-" + "a" * 119,
    "-",
    "--",
    "1-",
    "-abc",
    ".-abc",
    "1.-abc",
    "１２-签名",
    "%E4%BD%A0%E5%A5%BD-%00",
    "1%00-abc",
    "1.2.3-abc",
    "999999999999999999999999-abc",
    "%ff%fe-x",
    "1:abc",
]


@pytest.mark.parametrize("token", MALFORMED)
@pytest.mark.parametrize("name", ["o", "c", "u"])
def test_malformed_tokens_never_give_a_server_error(token, name, delivery):
    client = Client(raise_request_exception=False)
    for method in ("get", "post", "head"):
        response = getattr(client, method)(f"/marketing/r/{name}/{token}/")
        assert response.status_code in (200, 404, 405), (method, response.status_code)
    assert not Event.objects.exists()


def test_the_unsubscribe_page_asks_first_in_the_contacts_language(client):
    chinese = DeliveryFactory(sent=True, contact__preferred_language="zh-hans")
    english = DeliveryFactory(sent=True, contact__preferred_language="en")

    response = client.get(path("unsubscribe", chinese.pk), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in response.content.decode()
    assert '<form method="post"' in response.content.decode()

    response = client.get(path("unsubscribe", english.pk), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response["Content-Language"] == "en"
    assert "Stop receiving our marketing e-mail?" in response.content.decode()

    # Looking is not unsubscribing (link scanners fetch every link).
    assert not Contact.objects.filter(unsubscribed=True).exists()
    assert not Suppression.objects.exists()


def test_unsubscribing_covers_every_contact_and_lead_with_the_address():
    csrf_client = Client(enforce_csrf_checks=True)
    delivery = DeliveryFactory(sent=True, contact__email="Shared@Example.com")
    same_contact = ContactFactory(email="shared@example.com")
    same_lead = LeadFactory(email="SHARED@example.com")
    other_contact, other_lead = ContactFactory(email="other@example.com"), LeadFactory(email="other@example.com")

    response = csrf_client.post(path("unsubscribe", delivery.pk))

    assert response.status_code == 200
    assert "You are unsubscribed." in response.content.decode()
    assert set(
        Contact.objects.filter(pk__in=[delivery.contact_id, same_contact.pk]).values_list("unsubscribed", flat=True)
    ) == {True}
    assert Lead.objects.get(pk=same_lead.pk).unsubscribed is True
    assert not Contact.objects.get(pk=other_contact.pk).unsubscribed
    assert not Lead.objects.get(pk=other_lead.pk).unsubscribed
    suppression = Suppression.objects.get()
    assert suppression.email_key == email_key("shared@example.com")
    assert suppression.reason == Suppression.Reason.UNSUBSCRIBED
    delivery.refresh_from_db()
    assert delivery.unsubscribed_at is not None
    assert Event.objects.filter(kind=Event.Kind.UNSUBSCRIBE).count() == 1
    assert timeline(delivery, "Unsubscribed").count() == 1

    # Again: still fine, nothing doubled.
    assert csrf_client.post(path("unsubscribe", delivery.pk)).status_code == 200
    assert Event.objects.filter(kind=Event.Kind.UNSUBSCRIBE).count() == 1
    assert "You are unsubscribed." in csrf_client.get(path("unsubscribe", delivery.pk)).content.decode()


def test_rfc_8058_one_click_post_needs_no_csrf_token():
    client = Client(enforce_csrf_checks=True)
    delivery = DeliveryFactory(sent=True)

    response = client.post(
        path("unsubscribe", delivery.pk),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert response.content == b""
    delivery.refresh_from_db()
    assert delivery.unsubscribed_at is not None
    assert Contact.objects.get(pk=delivery.contact_id).unsubscribed


def test_each_endpoint_touches_only_its_own_delivery(client):
    mine = DeliveryFactory(sent=True)
    neighbour = DeliveryFactory(sent=True, campaign=mine.campaign)

    client.get(path("track_open", mine.pk), HTTP_USER_AGENT=BROWSER)
    client.get(path("track_click", mine.pk, 0))
    client.post(path("unsubscribe", mine.pk), {"List-Unsubscribe": "One-Click"})

    mine.refresh_from_db()
    neighbour.refresh_from_db()
    assert mine.opened_at and mine.clicked_at and mine.unsubscribed_at
    assert (neighbour.opened_at, neighbour.clicked_at, neighbour.unsubscribed_at) == (None, None, None)
    assert not Event.objects.filter(delivery=neighbour).exists()
    assert not Contact.objects.get(pk=neighbour.contact_id).unsubscribed
    assert Suppression.objects.get().email_key == mine.email_key


def test_a_later_campaign_skips_the_unsubscribed(client, smtp_inbox, django_capture_on_commit_callbacks):
    from campaigns import services
    from campaigns.tests.factories import CampaignFactory, SegmentFactory

    delivery = DeliveryFactory(sent=True, contact__company__city="上海")
    owner = delivery.campaign.owner
    twin = ContactFactory(owner=owner, email=delivery.contact.email.upper(), opted_in=True, company__city="上海")
    client.post(path("unsubscribe", delivery.pk), {"List-Unsubscribe": "One-Click"})
    stays = ContactFactory(owner=owner, opted_in=True, company__city="上海")
    later = CampaignFactory(owner=owner, segment=SegmentFactory(owner=owner, criteria={"city": "上海"}))

    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_send(campaign=later, actor=owner)

    assert [m.recipients for m in smtp_inbox.messages] == [[stays.email]]
    reasons = dict(later.deliveries.values_list("contact_id", "reason"))
    assert reasons == {
        delivery.contact_id: Delivery.Reason.UNSUBSCRIBED,
        twin.pk: Delivery.Reason.UNSUBSCRIBED,
        stays.pk: "",
    }


def test_unsubscribing_from_an_old_address_unsubscribes_the_person(client, delivery):
    Contact.objects.filter(pk=delivery.contact_id).update(email="new-address@example.com")

    response = client.post(path("unsubscribe", delivery.pk))

    assert response.status_code == 200
    assert Contact.objects.get(pk=delivery.contact_id).unsubscribed is True
    assert Suppression.objects.filter(email_key=delivery.email_key).exists()


def test_the_campaign_counts_first_responses_as_they_come_and_the_recount_agrees(client, delivery):
    from campaigns.models import Campaign
    from campaigns.sending import recount

    client.get(path("track_open", delivery.pk), HTTP_USER_AGENT=BROWSER)
    client.get(path("track_open", delivery.pk), HTTP_USER_AGENT=BROWSER)
    client.get(path("track_click", delivery.pk, 0))
    client.post(path("unsubscribe", delivery.pk))

    counted = Campaign.objects.values_list("opened_count", "clicked_count", "unsubscribed_count", "bounced_count")
    assert counted.get(pk=delivery.campaign_id) == (1, 1, 1, 0)
    recount(delivery.campaign)
    assert counted.get(pk=delivery.campaign_id) == (1, 1, 1, 0)


def test_the_pixel_address_cannot_unsubscribe(client, delivery):
    """Image proxies fetch and log the pixel's address: it must not work as an unsubscribe link."""
    pixel_token = tracking.token_for(delivery.pk, purpose="open")
    assert client.post(reverse("campaigns:unsubscribe", args=[pixel_token])).status_code == 404
    unsubscribe_token = tracking.token_for(delivery.pk, purpose="unsubscribe")
    client.get(reverse("campaigns:track_open", args=[unsubscribe_token]), HTTP_USER_AGENT=BROWSER)
    assert not Contact.objects.get(pk=delivery.contact_id).unsubscribed
    assert not Event.objects.filter(delivery=delivery).exists()
