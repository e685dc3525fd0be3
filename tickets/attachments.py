"""Files sent with tickets: kept under names of ours, within a size limit, and never served so
that a browser would run or render them in the CRM's origin (see customer_views.attachment_download).

A file is written to storage before its row, inside the transaction of the reply or the e-mail
it came with; when that transaction rolls back (or the worker is killed) the file stays behind
with no row naming it. Rather than tie deletion to every transaction that may store files, a
daily task (`sweep_orphan_files`) deletes the files of the attachments folder that no row names
once they are older than any transaction lasts.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import secrets
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import ATTACHMENT_FOLDER, Attachment, Message, Ticket

logger = logging.getLogger(__name__)

ORPHAN_AGE = timedelta(days=1)
"""How old a file no row names must be before the sweep deletes it: far longer than any
transaction that writes a file and then its row, so a file still in flight is never touched."""
SWEEP_BATCH = 500

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


def sweep_orphan_files(*, age: timedelta = ORPHAN_AGE, batch_size: int = SWEEP_BATCH) -> dict[str, int]:
    """Delete the files of the attachments folder that no attachment row names and that were
    last written more than `age` ago; the counts of files examined and deleted.

    The folder is walked one directory entry at a time, and the candidates are checked against
    the rows `batch_size` names per query, so memory stays flat however many files there are.
    Runs only on storages with local paths (FileSystemStorage, the default); others are skipped
    with a warning rather than guessed at."""
    storage = Attachment._meta.get_field("file").storage
    try:
        root = storage.path(ATTACHMENT_FOLDER)
    except NotImplementedError:
        logger.warning("attachment sweep skipped: %s has no local paths", type(storage).__name__)
        return {"examined": 0, "deleted": 0}
    cutoff = (timezone.now() - age).timestamp()
    examined = deleted = 0
    batch: list[str] = []
    for name, modified in _files_under(root, ATTACHMENT_FOLDER):
        examined += 1
        if modified < cutoff:
            batch.append(name)
        if len(batch) >= batch_size:
            deleted += _delete_unnamed(storage, batch)
            batch = []
    if batch:
        deleted += _delete_unnamed(storage, batch)
    logger.info("attachment sweep: %d files examined, %d without a row deleted", examined, deleted)
    return {"examined": examined, "deleted": deleted}


def _files_under(root: str, folder: str) -> Iterator[tuple[str, float]]:
    """(storage name, modification time) of each regular file below `root`, which is the storage
    path of `folder`; symbolic links are neither followed nor returned."""
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            with os.scandir(os.path.join(root, relative)) as entries:
                for entry in entries:
                    inner = f"{relative}/{entry.name}" if relative else entry.name
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(inner)
                        elif entry.is_file(follow_symlinks=False):
                            yield f"{folder}/{inner}", entry.stat(follow_symlinks=False).st_mtime
                    except FileNotFoundError:
                        continue  # deleted meanwhile
        except (FileNotFoundError, NotADirectoryError):
            continue  # no attachment stored yet, or a directory removed meanwhile


def _delete_unnamed(storage, names: list[str]) -> int:
    named = set(Attachment.objects.filter(file__in=names).values_list("file", flat=True))
    deleted = 0
    for name in names:
        if name in named:
            continue
        try:
            storage.delete(name)
        except OSError as error:  # one file that cannot go must not keep the others
            logger.warning("attachment sweep: cannot delete %s: %r", name, error)
        else:
            deleted += 1
    if deleted:
        logger.info("attachment sweep: deleted %d of %d old files without a row", deleted, len(names) - len(named))
    return deleted
