"""An import's file as a table: the reader its format needs (CSV, spreadsheet or vCard)."""

from __future__ import annotations

from customers.importing.reading import Table, read_csv, read_spreadsheet
from customers.importing.vcard import read_vcards
from customers.models import ImportBatch


def read_table(data: bytes, *, file_format: str, encoding: str = "", delimiter: str = "") -> Table:
    if file_format == "xlsx":
        return read_spreadsheet(data)
    if file_format == "vcard":
        return read_vcards(data, encoding=encoding)
    return read_csv(data, encoding=encoding, delimiter=delimiter)


def read_batch_table(batch: ImportBatch) -> Table:
    """The stored upload of `batch`, read with the encoding and delimiter chosen for it."""
    with batch.source.open("rb") as handle:
        data = handle.read()
    return read_table(data, file_format=batch.source_format, encoding=batch.encoding, delimiter=batch.delimiter)
