"""What recipients do with a campaign message: open it, click a link, unsubscribe, or bounce.

Each message carries signed, per-recipient links. A token names one delivery (and, for a click,
one of the campaign's own links by position), so an altered token opens nothing, a click can
lead only to an address written in that campaign, and each endpoint touches only its own
recipient. First opens and clicks stamp the delivery; every one is an event; a person's
engagement reaches the customer's timeline once per kind.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from campaigns.models import Campaign, Delivery, Event, Suppression
from crm.audit import log_bulk_change
from crm.fields import blind_index_for, normalize_phone
from crm.network import absolute_url
from customers.models import Contact, Interaction
from customers.services import record_interaction
from pipeline.leads import lead_record_event, lead_unsubscribed, leads_sms_opted_out
from pipeline.models import Lead, LeadSource, ScoringRule

# One key per purpose: the open pixel's address (fetched and logged by image proxies) cannot
# unsubscribe anyone, and no token opens another endpoint ("origin" only names the campaign a
# web-form lead came through).
PURPOSES = ("open", "click", "unsubscribe", "origin")
_SIGNERS = {purpose: signing.Signer(salt=f"campaigns.{purpose}") for purpose in PURPOSES}
# Mail providers that fetch every image when the message arrives (not a person opening it).
IMAGE_PROXIES = re.compile(r"GoogleImageProxy|YahooMailProxy|ggpht\.com|Outlook-iOS-Android/.*Proxy|Mimecast", re.I)


def token_for(delivery_id: int, link: int | None = None, *, purpose: str = "unsubscribe") -> str:
    """A recipient's token for `purpose` ("open", "unsubscribe", "origin"); with `link`, a click token."""
    if link is not None:
        purpose, value = "click", f"{delivery_id}.{link}"
    else:
        value = str(delivery_id)
    return _SIGNERS[purpose].sign(value).replace(":", "-")


def message_id_signature(campaign_id: int, delivery_id: int) -> str:
    """The secret part of a campaign Message-ID: a bounce naming our message proves it saw it."""
    return salted_hmac("campaigns.message-id", f"{campaign_id}-{delivery_id}", algorithm="sha256").hexdigest()[:20]


def read_token(token: str, purpose: str | None = None) -> tuple[int, int | None] | None:
    """(delivery id, link index or None) from a token made for `purpose` (by default: a click
    token for a link, else an unsubscribe token), or None when it was altered or is another's."""
    if not isinstance(token, str) or len(token) > 120:
        return None
    # The value (digits and a dot) has no "-"; the signature (URL-safe base64) may have several.
    value, sep, signature = token.partition("-")
    if not sep:
        return None
    signer = _SIGNERS.get(purpose or ("click" if "." in value else "unsubscribe"))
    if signer is None:
        return None
    try:
        unsigned = signer.unsign(f"{value}:{signature}")
    except signing.BadSignature:
        return None
    delivery, _dot, link = unsigned.partition(".")
    try:
        return int(delivery), (int(link) if link else None)
    except ValueError:
        return None


def _absolute(path: str, base: str) -> str:
    """Under SITE_URL when set, else under the address the campaign was sent from (`base`)."""
    if settings.SITE_URL or not base:
        return absolute_url(path)
    return base.rstrip("/") + path


def open_url(delivery_id: int, base: str = "") -> str:
    return _absolute(reverse("campaigns:track_open", args=[token_for(delivery_id, purpose="open")]), base)


def click_url(delivery_id: int, link: int, base: str = "") -> str:
    return _absolute(reverse("campaigns:track_click", args=[token_for(delivery_id, link)]), base)


def unsubscribe_url(delivery_id: int, base: str = "") -> str:
    return _absolute(reverse("campaigns:unsubscribe", args=[token_for(delivery_id, purpose="unsubscribe")]), base)


def delivery_for(token: str, *, purpose: str) -> tuple[Delivery, int | None] | None:
    """The delivery a token made for `purpose` names (with its campaign), or None."""
    parsed = read_token(token, purpose)
    if parsed is None or (parsed[1] is not None) != (purpose == "click"):
        return None
    delivery = (
        Delivery.objects.select_related("campaign", "contact__company", "lead")
        .filter(pk=parsed[0])
        .exclude(sent_at=None)
        .first()
    )
    return (delivery, parsed[1]) if delivery is not None else None


def _count(delivery: Delivery, counter: str) -> None:
    """One more first open, click, unsubscribe or bounce on the campaign's counters (the page reads
    them instead of counting deliveries; `sending.recount` redoes them at the end of a send)."""
    Campaign.objects.filter(pk=delivery.campaign_id).update(**{counter: F(counter) + 1})


# What a lead's engagement counts as for its score (pipeline's scoring rules reward them).
LEAD_EVENTS = {Event.Kind.OPEN: ScoringRule.Event.CAMPAIGN_OPEN, Event.Kind.CLICK: ScoringRule.Event.CAMPAIGN_CLICK}


def _timeline(delivery: Delivery, kind: str, summary: str) -> None:
    """One entry per delivery and kind of engagement (a person opening a message ten times is one
    event): on a contact's timeline, or, for a lead, as a lead event its score follows."""
    campaign = delivery.campaign
    if Event.objects.filter(delivery=delivery, kind=kind, proxied=False).count() > 1:
        return
    if delivery.lead_id:
        if kind in LEAD_EVENTS:
            lead_record_event(lead=delivery.lead, event=LEAD_EVENTS[kind])
        return
    record_interaction(
        kind=Interaction.Kind.CAMPAIGN,
        summary=summary % {"campaign": campaign.name},
        actor=None,
        contact=delivery.contact,
        subject=campaign,
        link=campaign.get_absolute_url(),
    )


@transaction.atomic
def record_open(delivery: Delivery, *, user_agent: str = "") -> None:
    proxied = bool(IMAGE_PROXIES.search(user_agent or ""))
    # One open event per delivery and kind of opener: a forwarded message or a script fetching
    # the pixel over and over adds nothing.
    if Event.objects.filter(delivery=delivery, kind=Event.Kind.OPEN, proxied=proxied).exists():
        return
    Event.objects.create(campaign_id=delivery.campaign_id, delivery=delivery, kind=Event.Kind.OPEN, proxied=proxied)
    if proxied:
        return
    if Delivery.objects.filter(pk=delivery.pk, opened_at=None).update(opened_at=timezone.now()):
        _count(delivery, "opened_count")
        _timeline(delivery, Event.Kind.OPEN, _("Opened the campaign e-mail “%(campaign)s”"))


@transaction.atomic
def record_click(delivery: Delivery, link: int) -> str | None:
    """The address to redirect to, or None when the index is not one of the campaign's links."""
    links = delivery.campaign.links or []
    if not 0 <= link < len(links):
        return None
    url = origin_url(links[link], delivery.pk, delivery.campaign.link_base)
    Event.objects.create(campaign_id=delivery.campaign_id, delivery=delivery, kind=Event.Kind.CLICK, url=url[:2000])
    now = timezone.now()
    if Delivery.objects.filter(pk=delivery.pk, clicked_at=None).update(clicked_at=now):
        _count(delivery, "clicked_count")
    # A click is also an open: images may have been blocked.
    if Delivery.objects.filter(pk=delivery.pk, opened_at=None).update(opened_at=now):
        _count(delivery, "opened_count")
    _timeline(delivery, Event.Kind.CLICK, _("Clicked a link in the campaign e-mail “%(campaign)s”"))
    return url


def suppress_address(*, email_key: str, reason: str, campaign: Campaign | None = None, detail: str = "") -> None:
    """No campaign mails this address again; every contact and lead with it is marked
    unsubscribed (audited as one bulk change)."""
    if not email_key:
        return
    Suppression.objects.get_or_create(
        email_key=email_key, defaults={"reason": reason, "campaign": campaign, "detail": detail[:300]}
    )
    now = timezone.now()
    contacts = list(Contact.objects.filter(email_bidx=email_key, unsubscribed=False).values_list("pk", flat=True))
    if contacts:
        Contact.objects.filter(pk__in=contacts).update(unsubscribed=True, unsubscribed_at=now)
        log_bulk_change(
            Contact, contacts, actor=None, changes={"unsubscribed": ["False", "True"]}, event=f"campaign {reason}"
        )
    lead_unsubscribed(email_key=email_key, at=now, event=f"campaign {reason}")


@transaction.atomic
def unsubscribe(delivery: Delivery) -> bool:
    """Unsubscribe the recipient of `delivery`; False when it already was."""
    now = timezone.now()
    first = bool(Delivery.objects.filter(pk=delivery.pk, unsubscribed_at=None).update(unsubscribed_at=now))
    if first:
        _count(delivery, "unsubscribed_count")
        Event.objects.create(campaign_id=delivery.campaign_id, delivery=delivery, kind=Event.Kind.UNSUBSCRIBE)
        _timeline(delivery, Event.Kind.UNSUBSCRIBE, _("Unsubscribed through the campaign “%(campaign)s”"))
    suppress_address(email_key=delivery.email_key, reason=Suppression.Reason.UNSUBSCRIBED, campaign=delivery.campaign)
    # The person, too, whatever their address has become since the message went out.
    model, pk = (Lead, delivery.lead_id) if delivery.lead_id else (Contact, delivery.contact_id)
    if model.objects.filter(pk=pk, unsubscribed=False).update(unsubscribed=True, unsubscribed_at=now):
        log_bulk_change(
            model, [pk], actor=None, changes={"unsubscribed": ["False", "True"]}, event="campaign unsubscribed"
        )
    return first


@transaction.atomic
def record_bounce(delivery: Delivery, *, hard: bool, detail: str = "") -> None:
    """A message came back. A hard bounce marks the delivery bounced and stops every future send
    to the address; a soft one (mailbox full, delayed) is only an event: the server may still
    deliver it, and the next campaign tries again."""
    if not hard:
        if not Event.objects.filter(delivery=delivery, kind=Event.Kind.BOUNCE).exists():
            Event.objects.create(campaign_id=delivery.campaign_id, delivery=delivery, kind=Event.Kind.BOUNCE)
        return
    now = timezone.now()
    if Delivery.objects.filter(pk=delivery.pk, bounced_at=None).update(bounced_at=now, status=Delivery.Status.BOUNCED):
        _count(delivery, "bounced_count")
        Event.objects.create(campaign_id=delivery.campaign_id, delivery=delivery, kind=Event.Kind.BOUNCE)
    suppress_address(
        email_key=delivery.email_key, reason=Suppression.Reason.BOUNCED, campaign=delivery.campaign, detail=detail
    )


def origin_url(url: str, delivery_id: int, base: str = "") -> str:
    """A campaign link as the click redirect gives it: a link to one of the CRM's own web forms
    carries the recipient's origin token, so that a lead the form creates names this campaign
    (`lead_origin`); every other address is left exactly as written."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    ours = urlsplit(_absolute("/", base))
    form_prefix = reverse("pipeline:web_form", args=["x"]).removesuffix("x/")
    if (
        (parts.scheme, parts.netloc) != (ours.scheme, ours.netloc)
        or not parts.path.startswith(form_prefix)
        or "/." in parts.path  # a dot segment may lead out of the forms: such a link stays as written
    ):
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != ORIGIN_PARAMETER]
    query.append((ORIGIN_PARAMETER, token_for(delivery_id, purpose="origin")))
    return urlunsplit(parts._replace(query=urlencode(query)))


ORIGIN_PARAMETER = "origin"
CAMPAIGN_SOURCE_CODE = "campaign"


def lead_origin(token: str) -> tuple[str, LeadSource | None] | None:
    """pipeline's web form asks who brought a lead: for a campaign's origin token, the campaign's
    reference ("campaigns.campaign:42") and the lead source it gives (its own, else the source
    coded "campaign" when the administrator keeps one); None for anything else."""
    parsed = read_token(token, "origin")
    if parsed is None or parsed[1] is not None:
        return None
    campaign = Campaign.objects.filter(deliveries__pk=parsed[0]).select_related("lead_source").first()
    if campaign is None:
        return None
    source = campaign.lead_source or LeadSource.objects.filter(code=CAMPAIGN_SOURCE_CODE).first()
    return f"campaigns.campaign:{campaign.pk}", source


def name_origin(source_ref: str, user) -> tuple[str, str] | None:
    """A lead's origin as its page shows it: the campaign by name and link to those who may see
    it, else only that a campaign brought it."""
    from crm.permissions import restrict

    prefix, _sep, pk = source_ref.partition(":")
    if prefix != "campaigns.campaign" or not (pk.isascii() and pk.isdigit()):
        return None
    campaign = restrict(Campaign.objects.filter(pk=int(pk)), user).first()
    if campaign is None:
        return _("A marketing campaign"), ""
    return campaign.name, campaign.get_absolute_url()


def deliveries_by_message_id(message_id: str):
    message_id = (message_id or "").strip()
    return Delivery.objects.filter(Q(message_id=message_id) | Q(message_id=f"<{message_id.strip('<>')}>"))


# Replies that withdraw SMS consent ("回T退订": T; TD, R and the words people write).
SMS_OPT_OUT_WORDS = {"T", "TD", "R", "N", "STOP", "UNSUBSCRIBE", "退订", "取消"}


@transaction.atomic
def sms_reply(*, number: str, text: str) -> int:
    """A text message a recipient sent back: the opt-out word withdraws the SMS consent of every
    contact and lead with that number (audited); anything else changes nothing. Returns how many
    people it changed."""
    if text.strip().upper() not in SMS_OPT_OUT_WORDS:
        return 0
    key = blind_index_for(normalize_phone, number)
    if not key:
        return 0
    pks = list(
        Contact.objects.filter(Q(mobile_bidx=key) | Q(phone_bidx=key), sms_opt_in=True).values_list("pk", flat=True)
    )
    if pks:
        Contact.objects.filter(pk__in=pks).update(sms_opt_in=False)
        log_bulk_change(
            Contact, pks, actor=None, changes={"sms_opt_in": ["True", "False"]}, event="campaign sms opt-out"
        )
    return len(pks) + leads_sms_opted_out(phone_key=key, event="campaign sms opt-out")
