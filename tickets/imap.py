"""Reading the support mailboxes over IMAP: each new message is handed to `intake.receive` and
then flagged \\Seen. A message is fetched with BODY.PEEK, so a worker that dies before acting on
it leaves it unseen for the next poll; one that dies after acting but before flagging it finds
it recorded and only flags it (the Message-ID is the key)."""

from __future__ import annotations

import imaplib
import logging
from contextlib import suppress

from django.conf import settings
from django.utils import timezone

from tickets import intake
from tickets.mail import MailParseError, parse_message
from tickets.models import Mailbox

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


def poll(mailbox: Mailbox) -> dict:
    """Read the unseen messages of one mailbox (at most BATCH a run); the counts by outcome."""
    counts: dict[str, int] = {}
    connection = _connect(mailbox)
    try:
        status, data = connection.uid("SEARCH", None, "UNSEEN")
        uids = data[0].split()[:BATCH] if status == "OK" and data and data[0] else []
        limit = int(getattr(settings, "TICKET_MAIL_MAX_BYTES", 30 * 1024 * 1024))
        for uid in uids:
            if _size(connection, uid) > limit:
                logger.warning("mailbox %s: message %s is larger than %d bytes; left unread", mailbox.pk, uid, limit)
                counts["too_large"] = counts.get("too_large", 0) + 1
                continue
            raw = _fetch(connection, uid)
            if raw is None:
                continue
            try:
                parsed = parse_message(raw)
            except MailParseError:
                counts["unreadable"] = counts.get("unreadable", 0) + 1
                connection.uid("STORE", uid, "+FLAGS", "(\\Seen)")
                continue
            record = intake.receive(mailbox=mailbox, parsed=parsed)
            outcome = record.outcome if record is not None else "already"
            counts[outcome] = counts.get(outcome, 0) + 1
            connection.uid("STORE", uid, "+FLAGS", "(\\Seen)")
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
        except (imaplib.IMAP4.error, OSError) as exc:  # timeouts are OSErrors
            logger.warning("mailbox %s: %s", mailbox.pk, exc)
            results[mailbox.name] = {"error": str(exc)}
            error = str(exc)[:1000]
        Mailbox.objects.filter(pk=mailbox.pk).update(last_checked_at=timezone.now(), last_error=error)
    return results
