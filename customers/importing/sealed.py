"""What an import keeps of its file and of the values it replaced, without plaintext secrets.

- The undo values of an update (`ImportedRecord.previous`): values of encrypted fields are
  sealed with the field-encryption keyring, bound to the record and field, and opened only to
  be written back by a revert.
- The error report (`ImportBatch.row_errors`): each failing row's problem and cells, which may
  hold phone numbers and tax IDs in any column, are sealed, bound to their import; they are
  opened for the importing user's pages and download only.
- The first rows of the file, shown beside the column mapping (`ImportBatch.params["preview"]`),
  are sealed the same way.
- Column headers that look like a phone number or a tax ID (a file without a header row) are
  masked before they are stored.

Values stored before sealing (plain lists and strings) still read.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist

from crm.crypto import get_keyring, is_ciphertext, open_json, seal_json
from crm.fields import TAX_ID_LIKE, EncryptedTextField, normalize_tax_id, phone_query
from customers.models import ImportBatch

MASK = "******"


def _undo_context(field: EncryptedTextField, object_id) -> str:
    return f"{field.encryption_context}:import-undo:{object_id}"


def _encrypted_field(model, name: str) -> EncryptedTextField | None:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, EncryptedTextField) else None


def seal_previous(obj, previous: dict) -> dict:
    """`previous` ({field: value}) of `obj` with the values of its encrypted fields sealed."""
    keyring = get_keyring()
    sealed = {}
    for name, value in previous.items():
        field = _encrypted_field(type(obj), name)
        if field is not None and value:
            value = keyring.encrypt(str(value), context=_undo_context(field, obj.pk))
        sealed[name] = value
    return sealed


def open_previous(obj, previous: dict) -> dict:
    """The values `seal_previous` kept, in clear, to be written back to `obj`."""
    keyring = get_keyring()
    opened = {}
    for name, value in previous.items():
        field = _encrypted_field(type(obj), name)
        if field is not None and is_ciphertext(value):
            value = keyring.decrypt(value, context=_undo_context(field, obj.pk))
        opened[name] = value
    return opened


def _error_context(batch_id: int, part: str) -> str:
    return f"customers.importbatch.row_errors.{part}:{batch_id}"


def seal_row_error(batch_id: int, *, row: int, message: str, values: list) -> dict:
    """One entry of `ImportBatch.row_errors`: the row number in clear, the rest sealed."""
    return {
        "row": row,
        "message": seal_json(message, context=_error_context(batch_id, "message")),
        "values": seal_json(list(values), context=_error_context(batch_id, "values")),
    }


def row_errors(batch: ImportBatch, *, limit: int | None = None) -> list[dict]:
    """The import's row errors in clear ({"row", "message", "values"}), for its owner's eyes."""
    opened = []
    for error in batch.row_errors[:limit]:
        message, values = error.get("message", ""), error.get("values", [])
        if is_ciphertext(message):
            message = open_json(message, context=_error_context(batch.pk, "message"))
        if isinstance(values, str) and is_ciphertext(values):
            values = open_json(values, context=_error_context(batch.pk, "values"))
        opened.append(
            {"row": error.get("row"), "message": message, "values": values, "warning": error.get("warning", False)}
        )
    return opened


def seal_preview(batch_id: int, rows: list[list[str]]) -> str:
    return seal_json(rows, context=_error_context(batch_id, "preview"))


def open_preview(batch: ImportBatch) -> list[list[str]]:
    """The first rows of the import's file as the reader saw them ([] once the upload expired)."""
    sealed = batch.params.get("preview")
    if not sealed or not is_ciphertext(sealed):
        return []
    return open_json(sealed, context=_error_context(batch.pk, "preview"))


def looks_sensitive(text: str) -> bool:
    """Whether a cell reads as a whole phone number or a tax ID."""
    return bool(phone_query(text) or TAX_ID_LIKE.match(normalize_tax_id(text)))


def safe_headers(headers: list[str]) -> list[str]:
    """Headers to store: a cell that looks like a phone number or tax ID (the file had no header
    row, so its first record became the header) is masked."""
    return [MASK if looks_sensitive(header) else header for header in headers]
