"""Files sent with tickets: kept under names of ours, within a size limit, and never served so
that a browser would run or render them in the CRM's origin (see customer_views.attachment_download)."""

from __future__ import annotations

import mimetypes
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from tickets.models import Attachment, Message, Ticket

# Types a browser would run or render in the CRM's origin: stored, but never served as such.
ACTIVE_TYPES = {"text/html", "image/svg+xml", "application/xhtml+xml", "text/xml", "application/xml"}


def attachment_limit() -> int:
    return int(settings.TICKET_ATTACHMENT_MAX_BYTES)


def store_attachment(*, ticket: Ticket, message: Message | None, filename: str, content: bytes) -> Attachment:
    """Keep a file sent with a ticket under a name of ours. Raises ValidationError when it is
    larger than the limit. The type recorded is a guess from the name, for the page's icon and
    the download's header; the download never lets a browser run or render it in place."""
    if len(content) > attachment_limit():
        raise ValidationError(
            _("%(name)s is larger than %(size)d MB.") % {"name": filename, "size": attachment_limit() // (1024 * 1024)}
        )
    detected = mimetypes.guess_type(filename or "")[0] or "application/octet-stream"
    attachment = Attachment(
        ticket=ticket,
        message=message,
        filename=(filename or "attachment")[:200],
        content_type=detected[:100],
        size=len(content),
        token=secrets.token_hex(16),
    )
    attachment.file.save(attachment.token, ContentFile(content), save=False)
    attachment.save()
    return attachment
