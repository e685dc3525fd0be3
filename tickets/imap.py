"""Reading the support mailboxes over IMAP: each new message is handed to `intake.receive` and
then flagged \\Seen. A message is fetched with BODY.PEEK, so a worker that dies before acting on
it leaves it unseen for the next poll; one that dies after acting but before flagging it finds
it recorded and only flags it (the Message-ID is the key)."""

from __future__ import annotations

import imaplib
import logging
from contextlib import suppress

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from tickets import intake
from tickets.mail import MailParseError, parse_message
from tickets.models import InboundMail, Mailbox

logger = logging.getLogger(__name__)

BATCH = 100


def _connect(mailbox: Mailbox) -> imaplib.IMAP4:
    timeout = int(getattr(settings, "TICKET_IMAP_TIMEOUT", 30))
    cls = imaplib.IMAP4_SSL if mailbox.use_ssl else imaplib.IMAP4
    connection = cls(mailbox.host, mailbox.port, timeout=timeout)
    connection.login(mailbox.username, mailbox.password)
    status, _data = connection.select(_quoted(mailbox.folder))
    if status != "OK":
        connection.logout()
        raise imaplib.IMAP4.error(f"cannot open folder {mailbox.folder!r}")
    return connection


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fetch(connection: imaplib.IMAP4, uid: bytes) -> bytes | None:
    status, data = connection.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None


def _size(connection: imaplib.IMAP4, uid: bytes) -> int:
    status, data = connection.uid("FETCH", uid, "(RFC822.SIZE)")
    if status == "OK" and data and isinstance(data[0], bytes):
        words = data[0].replace(b"(", b" ").replace(b")", b" ").split()
        if b"RFC822.SIZE" in words:
            try:
                return int(words[words.index(b"RFC822.SIZE") + 1])
            except (IndexError, ValueError):
                return 0
    return 0


def _handle(connection: imaplib.IMAP4, mailbox: Mailbox, uid: bytes, limit: int) -> str:
    """Act on one message and flag it seen; what happened, or "" to leave it for the next poll.

    A message that cannot be acted on (too large, not mail, an address no contact can have, a
    refusal of the services) is recorded as refused with the reason and flagged seen: one bad
    message must not stand in front of the others at every poll."""
    if _size(connection, uid) > limit:
        parsed = _headers_only(connection, uid)
        outcome = _refuse(mailbox, parsed, f"larger than {limit} bytes") if parsed else "refused"
    else:
        raw = _fetch(connection, uid)
        if raw is None:
            return ""  # the server did not answer for it: try again next time
        try:
            parsed = parse_message(raw)
        except MailParseError:
            parsed = None
        if parsed is None:
            outcome = "unreadable"
        else:
            try:
                record = intake.receive(mailbox=mailbox, parsed=parsed)
            except (DatabaseError, OSError):
                raise  # the database or the network is away: the message waits for the next poll
            except Exception as error:  # any refusal of the message itself: recorded, the mailbox goes on
                logger.warning("mailbox %s: message %s refused: %r", mailbox.pk, uid, error)
                outcome = _refuse(mailbox, parsed, _reason(error))
            else:
                outcome = record.outcome if record is not None else "already"
    connection.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    return outcome


def _headers_only(connection: imaplib.IMAP4, uid: bytes):
    status, data = connection.uid("FETCH", uid, "(BODY.PEEK[HEADER])")
    for item in data if status == "OK" else []:
        if isinstance(item, tuple) and len(item) == 2:
            try:
                return parse_message(item[1])
            except MailParseError:
                return None
    return None


def _reason(error: Exception) -> str:
    return " ".join(getattr(error, "messages", [str(error)]))[:300] or type(error).__name__


def _refuse(mailbox: Mailbox, parsed, detail: str) -> str:
    with transaction.atomic():
        InboundMail.objects.get_or_create(
            mailbox=mailbox,
            message_id=parsed.message_id[:255],
            defaults={
                "sender": parsed.from_address[:254],
                "subject": parsed.subject[:200],
                "outcome": InboundMail.Outcome.REFUSED,
                "detail": detail[:300],
            },
        )
    return InboundMail.Outcome.REFUSED


def poll(mailbox: Mailbox) -> dict:
    """Read the unseen messages of one mailbox (at most BATCH a run); the counts by outcome."""
    counts: dict[str, int] = {}
    connection = _connect(mailbox)
    try:
        status, data = connection.uid("SEARCH", None, "UNSEEN")
        uids = data[0].split()[:BATCH] if status == "OK" and data and data[0] else []
        limit = int(getattr(settings, "TICKET_MAIL_MAX_BYTES", 30 * 1024 * 1024))
        for uid in uids:
            outcome = _handle(connection, mailbox, uid, limit)
            if outcome:
                counts[outcome] = counts.get(outcome, 0) + 1
    finally:
        with suppress(imaplib.IMAP4.error, OSError):
            connection.logout()
    return counts


def poll_all() -> dict:
    """Poll every active mailbox; one that fails is reported on its admin page, the others go on."""
    results = {}
    for mailbox in Mailbox.objects.filter(active=True).select_related("team", "category", "contact_owner"):
        try:
            results[mailbox.name] = poll(mailbox)
            error = ""
        except Exception as exc:  # one mailbox's trouble must not keep the others unread
            logger.warning("mailbox %s: %r", mailbox.pk, exc)
            results[mailbox.name] = {"error": str(exc) or type(exc).__name__}
            error = (str(exc) or type(exc).__name__)[:1000]
        Mailbox.objects.filter(pk=mailbox.pk).update(last_checked_at=timezone.now(), last_error=error)
    return results
