"""Sending a campaign: list every recipient once, then mail them in batches, each message once.

1. `prepare(campaign)` reads the audience once, as the campaign's owner may see it, and writes a
   delivery row per person, contact or lead (unique on campaign and person): queued, or left out with the reason
   (no address, no consent, unsubscribed, bounced before, in a left-out segment, an address
   already on the list). Rerunning it after a crash adds only the rows still missing.
2. `send_some(campaign)` claims one queued row at a time (`SELECT … FOR UPDATE SKIP LOCKED`, so
   several workers share a send and never take the same row), hands the message to SMTP over a
   connection kept for the batch, and marks the row sent in the same transaction. A worker killed
   mid-batch leaves its row queued (its transaction rolls back) and every earlier row marked, so
   the restarted send resends nothing already accepted; the only window for a duplicate is the
   instant between the server's "250 OK" and COMMIT, and the message then carries the same
   Message-ID, which receiving servers use to drop the copy.
3. Temporary refusals (4xx, a dropped connection) are retried later with backoff; permanent ones
   (5xx) fail the row, and "no such user" suppresses the address.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from campaigns import content, sms, tracking
from campaigns.models import Campaign, Delivery, Event, Segment, Suppression, send_batch_size
from campaigns.segments import audience
from crm.cache import REDIS_AWAY
from customers.models import Contact, Interaction
from customers.services import record_interactions

logger = logging.getLogger(__name__)
PREPARE_CHUNK = 2000
HEARTBEAT_EVERY = 30.0  # seconds
RECONNECT = "reconnect"
Reason = Delivery.Reason


def address_key(contact, *, sms: bool) -> str:
    """What makes two recipients the same: the mobile number's blind index for SMS, else the e-mail's."""
    return (contact.mobile_bidx if sms else contact.email_bidx) or ""


def _reason(
    contact, *, suppressed: dict, excluded: set, seen: set, sms: bool = False, excluded_keys=frozenset()
) -> str:
    key = address_key(contact, sms=sms)
    if sms and not key:
        return Reason.NO_MOBILE
    if not sms and (not contact.email or not key):
        return Reason.NO_EMAIL
    if contact.do_not_contact:
        return Reason.DO_NOT_CONTACT
    if contact.unsubscribed:
        return Reason.UNSUBSCRIBED
    if not sms and key in suppressed:
        return Reason.BOUNCED if suppressed[key] == Suppression.Reason.BOUNCED else Reason.UNSUBSCRIBED
    if sms and not contact.sms_opt_in:
        return Reason.NO_SMS_CONSENT
    if not sms and not contact.email_opt_in:
        return Reason.NO_CONSENT
    if contact.pk in excluded or key in excluded_keys:
        return Reason.EXCLUDED
    if key in seen:
        return Reason.DUPLICATE
    return Reason.NONE


def prepare(campaign: Campaign) -> int:
    """Write the delivery rows of every recipient not yet listed; returns how many were added.
    One run at a time per campaign (a PostgreSQL advisory lock): a second one returns at once."""
    with _listing_lock(campaign.pk) as mine:
        return _prepare(campaign) if mine else 0


@contextlib.contextmanager
def _listing_lock(campaign_id: int):
    if db_connection.vendor != "postgresql":
        yield True
        return
    key = (0x43414D50 << 32) | campaign_id  # "CAMP" and the id
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        mine = cursor.fetchone()[0]
    try:
        yield mine
    finally:
        if mine:
            with db_connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def _prepare(campaign: Campaign) -> int:
    owner = campaign.owner
    segment = campaign.segment
    recipients = audience(segment, owner).order_by("pk") if segment is not None else Contact.objects.none()
    # A delivery names a contact, or a lead when the audience is a segment of leads.
    column = segment.member_field if segment is not None else "contact_id"
    excluded_segments = list(campaign.exclude_segments.all())
    listed = Delivery.objects.filter(campaign=campaign)
    live = (Delivery.Status.QUEUED, Delivery.Status.HELD, Delivery.Status.SENT)
    seen = set(listed.filter(status__in=live).values_list("email_key", flat=True))
    added, after = 0, 0
    sms = campaign.is_sms
    fields = (
        "pk",
        "email",
        "email_bidx",
        "email_opt_in",
        "mobile_bidx",
        "sms_opt_in",
        "unsubscribed",
        "do_not_contact",
        "preferred_language",
    )
    while True:
        chunk = list(recipients.filter(pk__gt=after).only(*fields)[:PREPARE_CHUNK])
        if not chunk:
            break
        # Alive for `resume_sends`, and the subject test's winner as it stands now.
        Campaign.objects.filter(pk=campaign.pk).update(heartbeat_at=timezone.now())
        campaign.ab_winner = Campaign.objects.filter(pk=campaign.pk).values_list("ab_winner", flat=True).first()
        after = chunk[-1].pk
        ids = [contact.pk for contact in chunk]
        already = set(listed.filter(**{f"{column}__in": ids}).values_list(column, flat=True))
        keys = {contact.email_bidx for contact in chunk if contact.email_bidx}
        suppressed = dict(Suppression.objects.filter(email_key__in=keys).values_list("email_key", "reason"))
        excluded, excluded_keys = set(), set()
        chunk_keys = {address_key(contact, sms=sms) for contact in chunk} - {""}
        for left_out in excluded_segments:
            if left_out.people == segment.people:
                excluded |= set(audience(left_out, owner).filter(pk__in=ids).values_list("pk", flat=True))
            else:  # leads left out of a send to contacts (or the reverse): by address
                key_column = "mobile_bidx" if sms else "email_bidx"
                excluded_keys |= set(
                    audience(left_out, owner)
                    .filter(**{f"{key_column}__in": chunk_keys})
                    .values_list(key_column, flat=True)
                )
        rows = []
        for contact in chunk:
            if contact.pk in already:
                continue
            reason = _reason(
                contact, suppressed=suppressed, excluded=excluded, seen=seen, sms=sms, excluded_keys=excluded_keys
            )
            status, variant = Delivery.Status.SUPPRESSED, ""
            if not reason:
                seen.add(address_key(contact, sms=sms))
                status, variant = test_group(campaign, contact)
            rows.append(
                Delivery(
                    campaign=campaign,
                    **{column: contact.pk},
                    email="" if sms else contact.email,
                    email_key=address_key(contact, sms=sms),
                    status=status,
                    variant=variant,
                    reason=reason,
                )
            )
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        added += len(rows)
    if segment is not None and segment.kind == Segment.Kind.STATIC:
        # Listed members out of the owner's reach: recorded as left out, their address not copied.
        hidden = (
            segment.memberships.exclude(**{f"{column}__in": recipients.order_by().values("pk")})
            .exclude(**{f"{column}__in": listed.exclude(**{column: None}).values(column)})
            .values_list(column, flat=True)
        )
        rows = [
            Delivery(campaign=campaign, **{column: pk}, status=Delivery.Status.SUPPRESSED, reason=Reason.NOT_VISIBLE)
            for pk in hidden
        ]
        Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=PREPARE_CHUNK)
        added += len(rows)
    recount(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(prepared_at=timezone.now())
    return added


def test_group(campaign: Campaign, contact) -> tuple[str, str]:
    """A recipient's place in the subject test: (status, variant). The test's share is chosen by a
    hash of the ids, so a recipient listed again after a crash lands in the same group; recipients
    of the second-language version are not part of the test."""
    if not campaign.testing_subject or (
        content.has_second_language(campaign) and contact.preferred_language == campaign.second_language
    ):
        return Delivery.Status.QUEUED, ""
    if campaign.ab_winner:
        return Delivery.Status.QUEUED, campaign.ab_winner
    spread = (contact.pk * 2654435761 + campaign.pk * 40503) % 1000
    if spread < campaign.ab_share * 10:
        return Delivery.Status.QUEUED, "a" if spread % 2 == 0 else "b"
    return Delivery.Status.HELD, ""


def subject_test_rates(campaign: Campaign) -> dict[str, dict]:
    """Per subject of the test: messages sent, opened and clicked, and the rate that decides."""
    rows = (
        Delivery.objects.filter(campaign=campaign, variant__in=("a", "b"), sent_at__isnull=False)
        .values("variant")
        .annotate(
            sent=Count("pk"),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        )
    )
    rates = {v: {"sent": 0, "opened": 0, "clicked": 0, "rate": 0.0} for v in ("a", "b")}
    for row in rows:
        measured = row["clicked"] if campaign.ab_metric == "click" else row["opened"]
        rates[row["variant"]] = {**row, "rate": measured / row["sent"] if row["sent"] else 0.0}
    return rates


@transaction.atomic
def decide_subject_test(campaign_id: int) -> str:
    """Choose the winning subject once its time has come and release the waiting recipients to it;
    returns the winner ("" when not due or already decided). Audited with the rates."""
    from crm.audit import log_event

    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    due = campaign.ab_decision_due()
    if due is None or due > timezone.now() or campaign.status not in Campaign.RUNNING_STATUSES:
        return ""
    rates = subject_test_rates(campaign)
    winner = "b" if rates["b"]["rate"] > rates["a"]["rate"] else "a"
    Campaign.objects.filter(pk=campaign.pk).update(ab_winner=winner, ab_decided_at=timezone.now())
    Delivery.objects.filter(campaign=campaign, status=Delivery.Status.HELD).update(
        status=Delivery.Status.QUEUED, variant=winner
    )
    # The rates that decided, beside the winner: "b (a 12.0% of 50, b 20.0% of 50)".
    summary = ", ".join(f"{v} {r['rate'] * 100:.1f}% / {r['sent']}" for v, r in rates.items())
    log_event(
        campaign,
        actor=None,
        event="campaign_subject_test_decided",
        changes={"ab_winner": ["", f"{winner} ({summary})"]},
    )
    return winner


def recount(campaign: Campaign) -> None:
    """The campaign's counters from its delivery rows (two grouped counts over its index)."""
    deliveries = Delivery.objects.filter(campaign=campaign)
    counts = dict(deliveries.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    stamps = deliveries.aggregate(
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
        unsubscribed=Count("pk", filter=Q(unsubscribed_at__isnull=False)),
        bounced=Count("pk", filter=Q(bounced_at__isnull=False)),
    )
    Campaign.objects.filter(pk=campaign.pk).update(
        recipient_count=sum(counts.values()),
        sent_count=counts.get(Delivery.Status.SENT, 0) + counts.get(Delivery.Status.BOUNCED, 0),
        failed_count=counts.get(Delivery.Status.FAILED, 0),
        suppressed_count=counts.get(Delivery.Status.SUPPRESSED, 0),
        opened_count=stamps["opened"],
        clicked_count=stamps["clicked"],
        unsubscribed_count=stamps["unsubscribed"],
        bounced_count=stamps["bounced"],
    )


def message_id_for(delivery: Delivery) -> str:
    """Fixed per delivery: a message sent twice after a crash carries the same Message-ID. Its
    signature makes it unguessable, so only a bounce of the real message can name it."""
    signature = tracking.message_id_signature(delivery.campaign_id, delivery.pk)
    return f"<campaign-{delivery.campaign_id}-{delivery.pk}-{signature}@{settings.CAMPAIGN_SENDER_DOMAIN}>"


def from_address(campaign: Campaign) -> str:
    from email.utils import formataddr

    return (
        formataddr((campaign.from_name, settings.CAMPAIGN_FROM_EMAIL))
        if campaign.from_name
        else settings.CAMPAIGN_FROM_EMAIL
    )


def build_message(campaign: Campaign, delivery: Delivery, *, connection=None) -> EmailMultiAlternatives:
    contact = delivery.person
    context = content.recipient_context(contact=contact, sender=campaign.owner, campaign=campaign)
    base = campaign.link_base
    unsubscribe = tracking.unsubscribe_url(delivery.pk, base)
    language = contact.preferred_language or settings.LANGUAGE_CODE
    with translation.override(language):  # the few words the CRM adds ("Unsubscribe") in theirs
        rendered = content.render_message(
            campaign,
            context,
            parts=content.parts_for(campaign, language=contact.preferred_language, variant=delivery.variant),
            click_url=lambda index: tracking.click_url(delivery.pk, index, base),
            open_url=tracking.open_url(delivery.pk, base),
            unsubscribe_url=unsubscribe,
        )
    targets = [f"<{unsubscribe}>"]
    if settings.CAMPAIGN_UNSUBSCRIBE_MAILTO:
        targets.append(
            f"<mailto:{settings.CAMPAIGN_UNSUBSCRIBE_MAILTO}?subject=unsubscribe-{tracking.token_for(delivery.pk)}>"
        )
    headers = {
        "Message-ID": message_id_for(delivery),
        "List-Unsubscribe": ", ".join(targets),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Precedence": "bulk",
        "Auto-Submitted": "auto-generated",
    }
    sender = from_address(campaign)
    if settings.CAMPAIGN_RETURN_PATH:  # bounces go to the bounce mailbox; people see the sender
        headers["From"] = sender
        sender = settings.CAMPAIGN_RETURN_PATH
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=sender,
        to=[delivery.email],
        reply_to=[campaign.reply_to] if campaign.reply_to else None,
        headers=headers,
        connection=connection,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def _claim(campaign: Campaign, after: int = 0) -> Delivery | None:
    """The next queued row no other worker holds: after `after` (the last this batch took, so
    the index is not walked again over the rows already sent), else from the start."""
    if after:
        found = _next_queued(campaign, after)
        if found is not None:
            return found
    return _next_queued(campaign, 0)


def _next_queued(campaign: Campaign, after: int) -> Delivery | None:
    now = timezone.now()
    return (
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("contact__company", "lead")
        .filter(campaign=campaign, status=Delivery.Status.QUEUED, pk__gt=after)
        .filter(Q(next_attempt_at=None) | Q(next_attempt_at__lte=now))
        # Read with each claim: a pause or cancel stops the batch at the next message.
        .filter(campaign__status=Campaign.Status.SENDING)
        .order_by("id")
        .first()
    )


def _permanent(error: Exception) -> bool:
    code = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [value[0] for value in error.recipients.values()]
        code = codes[0] if codes else None
    return isinstance(code, int) and 500 <= code < 600


def _hard_bounce(error: Exception) -> bool:
    text = str(error).lower()
    return _permanent(error) and any(
        marker in text for marker in ("5.1.1", "user unknown", "no such user", "does not exist")
    )


def send_some(campaign_id: int, *, limit: int | None = None) -> dict:
    """Send up to `limit` (a batch) of a campaign's queued messages over one SMTP connection.
    Returns {"sent", "failed", "retry", "more"}: "more" when queued rows are left now."""
    limit = limit or send_batch_size()
    result = {"sent": 0, "failed": 0, "retry": 0, "suppressed": 0, "postponed": 0, "more": False}
    campaign = Campaign.objects.select_related("owner").get(pk=campaign_id)
    if campaign.status != Campaign.Status.SENDING:
        return result
    pause = 60.0 / settings.CAMPAIGN_RATE_PER_MINUTE if settings.CAMPAIGN_RATE_PER_MINUTE > 0 else 0.0
    connection = sms.backend() if campaign.is_sms else get_connection()
    send = _send_sms if campaign.is_sms else _send_one
    beat, last = time.monotonic(), 0
    try:
        if not campaign.is_sms:
            connection.open()
        for _index in range(limit):
            with transaction.atomic():
                delivery = _claim(campaign, after=last)
                if delivery is None:
                    break
                last = delivery.pk
                outcome = send(campaign, delivery, connection)
            if outcome == RECONNECT:  # the connection broke: this message waits, the next batch reconnects
                result["retry"] += 1
                result["more"] = True
                break
            result[outcome] += 1
            if pause and outcome in ("sent", "failed", "retry"):  # only what reached the server counts
                time.sleep(pause)
            if time.monotonic() - beat > HEARTBEAT_EVERY:  # a slow (throttled) batch is not a silent one
                Campaign.objects.filter(pk=campaign.pk).update(heartbeat_at=timezone.now())
                beat = time.monotonic()
        else:
            result["more"] = True
    except (smtplib.SMTPException, OSError) as error:
        # The connection itself failed (opening it, or dropped mid-batch): the claimed row was
        # rolled back or marked for retry; the next batch tries again.
        logger.warning("campaign %s: SMTP connection failed: %s", campaign.pk, error)
        result["more"] = True
        result["stalled"] = not any(result[k] for k in ("sent", "failed", "retry", "suppressed", "postponed"))
    finally:
        if not campaign.is_sms:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.close()
    _add_counts(campaign, result)
    return result


def _reason_now(delivery: Delivery, *, sms: bool = False) -> str:
    """Why a queued message may no longer go out: the recipient unsubscribed, withdrew consent or
    bounced (in another campaign, say) since the recipients were listed."""
    contact = delivery.person
    if delivery.lead_id and contact.status == contact.Status.CONVERTED:
        return Reason.CONVERTED
    if contact.do_not_contact:
        return Reason.DO_NOT_CONTACT
    if contact.unsubscribed:
        return Reason.UNSUBSCRIBED
    if sms:
        return Reason.NONE if contact.sms_opt_in and contact.mobile else Reason.NO_SMS_CONSENT
    if not contact.email_opt_in:
        return Reason.NO_CONSENT
    suppressed = Suppression.objects.filter(email_key=delivery.email_key).values_list("reason", flat=True).first()
    if suppressed:
        return Reason.BOUNCED if suppressed == Suppression.Reason.BOUNCED else Reason.UNSUBSCRIBED
    return Reason.NONE


def _domain_full_until(email: str):
    """The start of the next minute when the recipient's mail domain has had its share of this
    minute (CAMPAIGN_DOMAIN_RATES, counted in the shared cache across workers), else None."""
    domain = email.rpartition("@")[2].lower()
    limit = settings.CAMPAIGN_DOMAIN_RATES.get(domain)
    if not limit:
        return None
    now = timezone.now()
    key = f"campaign-domain:{domain}:{int(now.timestamp()) // 60}"
    try:
        cache.add(key, 0, timeout=120)
        count = cache.incr(key)
    except (ValueError, *REDIS_AWAY):  # the cache is away: better to send than to stall
        return None
    if count <= limit:
        return None
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


def _send_one(campaign: Campaign, delivery: Delivery, connection) -> str:
    if reason := _reason_now(delivery):
        delivery.status, delivery.reason = Delivery.Status.SUPPRESSED, reason
        delivery.save(update_fields=["status", "reason"])
        return "suppressed"
    if later := _domain_full_until(delivery.email):
        # The domain's share of this minute is spent: the message waits, no attempt counted.
        delivery.next_attempt_at = later
        delivery.save(update_fields=["next_attempt_at"])
        return "postponed"
    now = timezone.now()
    delivery.attempts += 1
    try:
        message = build_message(campaign, delivery, connection=connection)
    except Exception as error:  # noqa: BLE001 - this recipient's message cannot be made (their data breaks a merge field)
        logger.warning("campaign %s: delivery %s cannot be built: %r", campaign.pk, delivery.pk, error)
        return _retry_or_fail(campaign, delivery, _error_text(error), permanent=True, now=now)
    # The marks are written first, in a savepoint, and undone if the server refuses: after the
    # server's "250 OK" only the COMMIT is left, the shortest window a crash can resend in.
    savepoint = transaction.savepoint()
    _mark_sent(campaign, delivery, now, message.extra_headers["Message-ID"])
    try:
        message.send()
    except Exception as error:  # noqa: BLE001 - every refusal is this message's, never the batch's
        transaction.savepoint_rollback(savepoint)
        delivery.status, delivery.sent_at, delivery.message_id = Delivery.Status.QUEUED, None, ""
        return _not_sent(campaign, delivery, error, now)
    transaction.savepoint_commit(savepoint)
    return "sent"


def _not_sent(campaign: Campaign, delivery: Delivery, error: Exception, now) -> str:
    """What a refusal or failure of `send()` means for the message."""
    if isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPResponseException | smtplib.SMTPSenderRefused):
        outcome = _retry_or_fail(campaign, delivery, error, permanent=_permanent(error), now=now)
        if outcome == "failed" and _hard_bounce(error):
            tracking.suppress_address(
                email_key=delivery.email_key, reason=Suppression.Reason.BOUNCED, campaign=campaign, detail=str(error)
            )
        return outcome
    if isinstance(error, smtplib.SMTPNotSupportedError):  # an address this server cannot take (SMTPUTF8)
        return _retry_or_fail(campaign, delivery, error, permanent=True, now=now)
    if isinstance(error, smtplib.SMTPException | OSError):  # the connection dropped: try this one again later
        _retry_or_fail(campaign, delivery, error, permanent=False, now=now)
        return RECONNECT
    logger.warning("campaign %s: delivery %s not sent: %r", campaign.pk, delivery.pk, error)
    return _retry_or_fail(campaign, delivery, _error_text(error), permanent=False, now=now)


def _error_text(error: Exception) -> str:
    return " ".join(getattr(error, "messages", [])) or f"{type(error).__name__}: {error}"


def _retry_or_fail(campaign: Campaign, delivery: Delivery, error, *, permanent: bool, now) -> str:
    delivery.error = str(error)[:300]
    if permanent or delivery.attempts >= settings.CAMPAIGN_MAX_ATTEMPTS:
        delivery.status = Delivery.Status.FAILED
        delivery.save(update_fields=["attempts", "error", "status"])
        Event.objects.create(campaign=campaign, delivery=delivery, kind=Event.Kind.FAILED)
        return "failed"
    delivery.next_attempt_at = now + timedelta(minutes=2 ** min(delivery.attempts, 8))
    delivery.save(update_fields=["attempts", "error", "next_attempt_at"])
    return "retry"


def _mark_sent(campaign: Campaign, delivery: Delivery, now, message_id: str) -> str:
    delivery.status = Delivery.Status.SENT
    delivery.sent_at = now
    delivery.message_id = message_id[:255]
    delivery.error = ""
    delivery.save(update_fields=["attempts", "status", "sent_at", "message_id", "error"])
    Event.objects.create(campaign=campaign, delivery=delivery, kind=Event.Kind.SENT)
    if not delivery.contact_id:  # a lead: no customer timeline (its opens and clicks reach its score)
        return "sent"
    # In the same transaction as the mark: the timeline shows exactly the messages that went out.
    summary = (
        _("Received the campaign text message “%(campaign)s”")
        if campaign.is_sms
        else _("Received the campaign e-mail “%(campaign)s”")
    )
    record_interactions(
        [{"contact": delivery.contact, "summary": summary % {"campaign": campaign.name}, "occurred_at": now}],
        subject=campaign,
        kind=Interaction.Kind.CAMPAIGN,
    )
    return "sent"


def sms_text(campaign: Campaign, contact) -> str:
    """The text message for one recipient, with the opt-out line in their language."""
    context = content.recipient_context(contact=contact, sender=campaign.owner, campaign=campaign)
    with translation.override(contact.preferred_language or settings.LANGUAGE_CODE):
        opt_out = settings.CAMPAIGN_SMS_OPT_OUT or _("Reply T to unsubscribe")
    body = " ".join(content.render_merge(campaign.sms_body, context).split())
    return f"{body} {opt_out}".strip()


def _send_sms(campaign: Campaign, delivery: Delivery, backend) -> str:
    if reason := _reason_now(delivery, sms=True):
        delivery.status, delivery.reason = Delivery.Status.SUPPRESSED, reason
        delivery.save(update_fields=["status", "reason"])
        return "suppressed"
    contact = delivery.person
    now = timezone.now()
    delivery.attempts += 1
    try:
        text = sms_text(campaign, contact)
    except Exception as error:  # noqa: BLE001 - this recipient's data breaks a merge field
        return _retry_or_fail(campaign, delivery, _error_text(error), permanent=True, now=now)
    try:
        provider_id = backend.send(to=contact.mobile, text=text, reference=f"campaign-{campaign.pk}-{delivery.pk}")
    except sms.PermanentSmsError as error:
        return _retry_or_fail(campaign, delivery, error, permanent=True, now=now)
    except Exception as error:  # noqa: BLE001 - TemporarySmsError, or the adapter's own network trouble
        return _retry_or_fail(campaign, delivery, _error_text(error), permanent=False, now=now)
    return _mark_sent(campaign, delivery, now, str(provider_id or ""))


def _add_counts(campaign: Campaign, result: dict) -> None:
    from django.db.models import F

    Campaign.objects.filter(pk=campaign.pk).update(
        sent_count=F("sent_count") + result["sent"],
        failed_count=F("failed_count") + result["failed"],
        suppressed_count=F("suppressed_count") + result["suppressed"],
        heartbeat_at=timezone.now(),
    )


def next_retry(campaign: Campaign):
    """When the earliest queued message may be tried again (None: nothing waits)."""
    return (
        Delivery.objects.filter(campaign=campaign, status=Delivery.Status.QUEUED)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def finish_if_done(campaign: Campaign) -> bool:
    """Mark the send finished when no message is queued any more (once: a conditional UPDATE)."""
    winner = Campaign.objects.filter(pk=campaign.pk).values_list("ab_winner", flat=True).first()
    if winner:  # rows listed as held while the winner was being chosen go to the winner too
        Delivery.objects.filter(campaign=campaign, status=Delivery.Status.HELD).update(
            status=Delivery.Status.QUEUED, variant=winner
        )
    waiting = (Delivery.Status.QUEUED, Delivery.Status.HELD)
    if Delivery.objects.filter(campaign=campaign, status__in=waiting).exists():
        return False
    recount(campaign)
    return bool(
        Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SENDING).update(
            status=Campaign.Status.SENT, finished_at=timezone.now()
        )
    )


def record_sms_reports(reports: list[tuple[str, bool, str]]) -> int:
    """The SMS provider's delivery reports, (its message id, delivered?, reason): delivered stamps
    the delivery, failed marks it failed; returns how many matched a text message of ours."""
    recorded, touched = 0, set()
    for provider_id, delivered, reason in reports:
        delivery = (
            Delivery.objects.filter(message_id=provider_id, campaign__channel="sms")
            .exclude(sent_at=None)
            .select_related("campaign")
            .first()
        )
        if delivery is None:
            continue
        recorded += 1
        with transaction.atomic():
            if delivered:
                Delivery.objects.filter(pk=delivery.pk, delivered_at=None).update(delivered_at=timezone.now())
            elif Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.SENT).update(
                status=Delivery.Status.FAILED, error=reason or "not delivered"
            ):
                Event.objects.create(campaign_id=delivery.campaign_id, delivery=delivery, kind=Event.Kind.FAILED)
                touched.add(delivery.campaign)
    for campaign in touched:
        recount(campaign)
    return recorded
