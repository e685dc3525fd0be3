"""An import's file as a table: the reader its format needs (CSV, spreadsheet or vCard)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.crypto import DecryptionError
from customers.importing.reading import Table, UnreadableFile, read_csv, read_spreadsheet
from customers.importing.vcard import read_vcards
from customers.models import ImportBatch

logger = logging.getLogger(__name__)


def read_table(data: bytes, *, file_format: str, encoding: str = "", delimiter: str = "") -> Table:
    if file_format == "xlsx":
        return read_spreadsheet(data)
    if file_format == "vcard":
        return read_vcards(data, encoding=encoding)
    return read_csv(data, encoding=encoding, delimiter=delimiter)


def read_batch_table(batch: ImportBatch) -> Table:
    """The stored upload of `batch`, read with the encoding and delimiter chosen for it.

    UnreadableFile once the upload is gone (deleted after the retention period) or cannot be
    decrypted (its key was removed from FIELD_ENCRYPTION_KEYS)."""
    try:
        if not batch.source:
            raise FileNotFoundError
        with batch.source.open("rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        days = settings.IMPORT_EXPORT_RETENTION_DAYS
        raise UnreadableFile(
            ngettext(
                "The uploaded file was deleted: uploads are kept for %(days)d day. Upload it again to import it.",
                "The uploaded file was deleted: uploads are kept for %(days)d days. Upload it again to import it.",
                days,
            )
            % {"days": days}
        ) from None
    except DecryptionError:
        logger.exception("import %s: the stored upload cannot be decrypted", batch.pk)
        raise UnreadableFile(_("The uploaded file cannot be read any more. Upload it again.")) from None
    return read_table(data, file_format=batch.source_format, encoding=batch.encoding, delimiter=batch.delimiter)
