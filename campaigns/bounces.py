"""Bounces: messages that came back. Read from delivery status notifications (RFC 3464) found in
a bounce mailbox over IMAP, or posted by a mail provider's webhook; each names the message it
answers by our Message-ID (`<campaign-C-D@domain>`), which names the delivery. A hard bounce
(permanent failure, 5.x.x) suppresses the address for every later campaign; a soft one (4.x.x,
"delayed") is recorded on the delivery only. Applying the same bounce twice changes nothing.
"""

from __future__ import annotations

import imaplib
import logging
import re
from contextlib import suppress
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message

from django.conf import settings
from django.db import DatabaseError
from django.utils.crypto import constant_time_compare

from campaigns import tracking
from campaigns.models import Delivery
from crm.fields import blind_index_for, normalize_email

logger = logging.getLogger(__name__)

OUR_MESSAGE_ID = re.compile(r"<?campaign-(\d+)-(\d+)-([0-9a-f]{20})@[^>\s]+>?")
STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
IMAP_BATCH = 200
MAX_BOUNCE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Bounce:
    message_id: str
    recipient: str
    hard: bool
    detail: str = ""


def _text(part) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = part.get_payload()
        if isinstance(payload, list):
            return "\n".join(_text(p) for p in payload)
        return str(payload or "")
    try:
        return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", errors="replace")


def _status_groups(part: Message) -> list[dict[str, str]]:
    """The per-message and per-recipient field groups of a message/delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package parses each group as a message of headers
        return [{k.lower(): str(v) for k, v in group.items()} for group in payload]
    groups, current = [], {}
    for line in _text(part).splitlines():
        if not line.strip():
            if current:
                groups.append(current)
                current = {}
            continue
        name, sep, value = line.partition(":")
        if sep:
            current[name.strip().lower()] = value.strip()
    if current:
        groups.append(current)
    return groups


def _original_message_id(message: Message) -> str:
    """Our Message-ID from the returned original (message/rfc822 or text/rfc822-headers): only
    there, not anywhere in a text anyone may write to the bounce address."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message) and inner.get("Message-ID"):
                return str(inner["Message-ID"]).strip()
        if content_type == "text/rfc822-headers":
            headers = message_from_bytes(_text(part).encode(), policy=policy.compat32)
            if headers.get("Message-ID"):
                return str(headers["Message-ID"]).strip()
    return ""


def parse_bounce(raw: bytes) -> list[Bounce]:
    """The bounces a delivery status notification reports; [] for anything else (an auto-reply,
    a message that is not a report, one about a message of someone else)."""
    try:
        message = message_from_bytes(raw[:MAX_BOUNCE_BYTES], policy=policy.compat32)
    except (ValueError, TypeError, IndexError):
        return []
    message_id = _original_message_id(message)
    if not OUR_MESSAGE_ID.search(message_id or ""):
        return []
    bounces = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for group in _status_groups(part):
            recipient = group.get("final-recipient") or group.get("original-recipient") or ""
            if not recipient:
                continue
            recipient = recipient.split(";", 1)[-1].strip().strip("<>")
            action = group.get("action", "").lower()
            status = STATUS.search(group.get("status", ""))
            code = status.group(1) if status else ""
            if action in ("delivered", "relayed", "expanded") or code == "2":
                continue
            hard = action == "failed" and code != "4"
            detail = (group.get("diagnostic-code") or group.get("status") or action)[:300]
            bounces.append(Bounce(message_id=message_id, recipient=recipient, hard=hard, detail=detail))
    return bounces


def delivery_for(message_id: str, recipient: str = "") -> Delivery | None:
    """The delivery our Message-ID names, checked against the bounced address when one is given."""
    match = OUR_MESSAGE_ID.search(message_id or "")
    if not match or not recipient:
        return None  # a report must name the bounced address, and it must be the one we mailed
    campaign_id, delivery_id = int(match.group(1)), int(match.group(2))
    if not constant_time_compare(match.group(3), tracking.message_id_signature(campaign_id, delivery_id)):
        return None
    delivery = (
        Delivery.objects.select_related("campaign")
        .filter(pk=delivery_id, campaign_id=campaign_id)
        .exclude(sent_at=None)
        .first()
    )
    if delivery is None:
        return None
    if not delivery.email_key or blind_index_for(normalize_email, recipient) != delivery.email_key:
        return None  # a report about another address than the one we mailed
    return delivery


def apply(bounces: list[Bounce]) -> int:
    """Record each bounce on its delivery; returns how many matched a delivery of ours."""
    applied = 0
    for bounce in bounces:
        delivery = delivery_for(bounce.message_id, bounce.recipient)
        if delivery is None:
            continue
        tracking.record_bounce(delivery, hard=bounce.hard, detail=bounce.detail)
        applied += 1
    return applied


# --- the bounce mailbox ------------------------------------------------------------------------


def mailbox_configured() -> bool:
    return bool(settings.CAMPAIGN_BOUNCE_IMAP_HOST and settings.CAMPAIGN_BOUNCE_IMAP_USER)


def poll_mailbox() -> dict:
    """Read the unseen messages of the bounce mailbox (CAMPAIGN_BOUNCE_IMAP_*), apply the bounces
    they report and flag each seen; a message is fetched with BODY.PEEK, so one a dead worker
    left unflagged is read again (and applying it twice changes nothing)."""
    if not mailbox_configured():
        return {"configured": False}
    cls = imaplib.IMAP4_SSL if settings.CAMPAIGN_BOUNCE_IMAP_SSL else imaplib.IMAP4
    connection = cls(
        settings.CAMPAIGN_BOUNCE_IMAP_HOST, settings.CAMPAIGN_BOUNCE_IMAP_PORT, timeout=settings.TICKET_IMAP_TIMEOUT
    )
    counts = {"read": 0, "bounces": 0}
    try:
        connection.login(settings.CAMPAIGN_BOUNCE_IMAP_USER, settings.CAMPAIGN_BOUNCE_IMAP_PASSWORD)
        folder = settings.CAMPAIGN_BOUNCE_IMAP_FOLDER.replace("\\", "\\\\").replace('"', '\\"')
        status, _data = connection.select(f'"{folder}"')
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open folder {settings.CAMPAIGN_BOUNCE_IMAP_FOLDER!r}")
        status, data = connection.uid("SEARCH", None, "UNSEEN")
        uids = data[0].split()[:IMAP_BATCH] if status == "OK" and data and data[0] else []
        for uid in uids:
            status, fetched = connection.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in fetched or [] if isinstance(item, tuple) and len(item) == 2), None)
            if status != "OK" or raw is None:
                continue
            counts["read"] += 1
            try:
                counts["bounces"] += apply(parse_bounce(raw))
            except DatabaseError:
                raise  # the database is away: the message waits for the next poll
            except Exception as error:  # noqa: BLE001 - one unreadable message must not jam the mailbox
                logger.warning("bounce mailbox: message %s skipped: %r", uid, error)
            connection.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    finally:
        with suppress(imaplib.IMAP4.error, OSError):
            connection.logout()
    return counts
