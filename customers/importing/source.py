"""An import's file as a table: the reader its format needs (CSV, spreadsheet or vCard), as a stream."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.crypto import DecryptionError
from customers.importing.reading import Table, UnreadableFile, limit_rows, read_csv
from customers.importing.spreadsheet import read_spreadsheet
from customers.importing.vcard import read_vcards
from customers.models import ImportBatch

logger = logging.getLogger(__name__)


def read_table(
    data: bytes | BinaryIO, *, file_format: str, encoding: str = "", delimiter: str = "", max_rows: int | None = None
) -> Table:
    """The file as a header and a generator of rows; reading past `max_rows` rows is refused."""
    if file_format == "unsupported":
        raise UnreadableFile(_("This kind of spreadsheet cannot be read. Save it as XLSX or CSV and upload that."))
    if file_format == "xlsx":
        table = read_spreadsheet(data)
    elif file_format == "vcard":
        table = read_vcards(data, encoding=encoding)
    else:
        table = read_csv(data, encoding=encoding, delimiter=delimiter)
    if max_rows is not None:
        table.rows = limit_rows(table.rows, max_rows)
    return table


def upload_deleted() -> UnreadableFile:
    days = settings.IMPORT_EXPORT_RETENTION_DAYS
    return UnreadableFile(
        ngettext(
            "The uploaded file was deleted: uploads are kept for %(days)d day. Upload it again to import it.",
            "The uploaded file was deleted: uploads are kept for %(days)d days. Upload it again to import it.",
            days,
        )
        % {"days": days}
    )


def _undecryptable(batch: ImportBatch) -> UnreadableFile:
    logger.exception("import %s: the stored upload cannot be decrypted", batch.pk)
    return UnreadableFile(_("The uploaded file cannot be read any more. Upload it again."))


@contextmanager
def open_batch_table(batch: ImportBatch, *, max_rows: int | None = None) -> Iterator[Table]:
    """The stored upload of `batch` as a table, read with the encoding and delimiter chosen for
    it, while the block runs: its rows are read from the file as they are taken.

    UnreadableFile once the upload is gone (deleted after the retention period) or cannot be
    decrypted (its key was removed from FIELD_ENCRYPTION_KEYS, or the file was altered)."""
    if not batch.source:
        raise upload_deleted()
    try:
        handle = batch.source.open("rb")
    except FileNotFoundError:
        raise upload_deleted() from None
    except DecryptionError:
        raise _undecryptable(batch) from None
    with handle:
        try:
            table = read_table(
                handle,
                file_format=batch.source_format,
                encoding=batch.encoding,
                delimiter=batch.delimiter,
                max_rows=max_rows,
            )
        except DecryptionError:
            raise _undecryptable(batch) from None
        table.rows = _decrypting(batch, table.rows)
        yield table


def _decrypting(batch: ImportBatch, rows: Iterator) -> Iterator:
    try:
        yield from rows
    except DecryptionError:
        raise _undecryptable(batch) from None
