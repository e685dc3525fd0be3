"""The field-encryption keyring: AES-256-GCM for values, HMAC-SHA256 for blind indexes.

Keys come from settings: `FIELD_ENCRYPTION_KEYS` (base64 keys of 32 bytes, comma-separated in
the environment; the first encrypts, all decrypt) and `FIELD_BLIND_INDEX_KEY` (its own base64
key). A stored value reads `enc1:<key id>:<base64(nonce | ciphertext | tag)>`; the key id is a
short hash of the key, so a value names the key that can open it without revealing it.
Messages name settings, positions and key ids, never key material or values.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

PREFIX = "enc1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID_CHARS = 8


class DecryptionError(Exception):
    """A stored value could not be decrypted: altered, copied from another column, or malformed."""


class UnknownKeyError(DecryptionError):
    """A stored value was encrypted with a key that is no longer in FIELD_ENCRYPTION_KEYS."""


def _decode_key(text: str, *, setting: str, position: int | None = None) -> bytes:
    where = f"{setting} entry {position}" if position is not None else setting
    text = text.strip()
    try:
        # Accept both base64 alphabets: keys pasted from other tools are often URL-safe.
        key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"{where} is not valid base64.") from None
    if len(key) != KEY_BYTES:
        raise ImproperlyConfigured(
            f"{where} decodes to {len(key)} bytes; it must be {KEY_BYTES} random bytes in base64. "
            'Generate one with: python -c "import base64,os;print(base64.b64encode(os.urandom(32)).decode())"'
        )
    return key


def key_id(key: bytes) -> str:
    """A few hex characters naming a key; a hash, so it says nothing useful about the key."""
    return hashlib.sha256(b"crm-field-encryption-key-id:" + key).hexdigest()[:KEY_ID_CHARS]


def _setting_list(value) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    return [item.strip() for item in (value or []) if item and item.strip()]


@dataclass(frozen=True)
class Keyring:
    """Decoded keys: `keys` maps key id to key, in settings order (the first one encrypts)."""

    keys: dict[str, bytes]
    blind_index_key: bytes | None

    @classmethod
    def from_settings(cls) -> Keyring:
        raw_keys = _setting_list(getattr(settings, "FIELD_ENCRYPTION_KEYS", []))
        if not raw_keys:
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS is empty, but a model uses encrypted fields. Set it to one or more "
                "comma-separated base64 keys of 32 bytes (see docs/encryption.md)."
            )
        keys: dict[str, bytes] = {}
        for position, text in enumerate(raw_keys, start=1):
            key = _decode_key(text, setting="FIELD_ENCRYPTION_KEYS", position=position)
            kid = key_id(key)
            if kid in keys:
                raise ImproperlyConfigured(f"FIELD_ENCRYPTION_KEYS entry {position} repeats an earlier key.")
            keys[kid] = key
        raw_index_key = (getattr(settings, "FIELD_BLIND_INDEX_KEY", "") or "").strip()
        index_key = _decode_key(raw_index_key, setting="FIELD_BLIND_INDEX_KEY") if raw_index_key else None
        if index_key is not None and index_key in keys.values():
            raise ImproperlyConfigured("FIELD_BLIND_INDEX_KEY must differ from every FIELD_ENCRYPTION_KEYS entry.")
        return cls(keys=keys, blind_index_key=index_key)

    @property
    def primary_id(self) -> str:
        return next(iter(self.keys))

    @cached_property
    def _ciphers(self) -> dict[str, AESGCM]:
        return {kid: AESGCM(key) for kid, key in self.keys.items()}

    def cipher(self, kid: str | None = None) -> tuple[str, AESGCM]:
        """(key id, AES-GCM cipher) of key `kid`, or of the first key when None: for callers that
        frame their own ciphertext (sealed files, `crm.storage`)."""
        kid = kid or self.primary_id
        try:
            return kid, self._ciphers[kid]
        except KeyError:
            raise UnknownKeyError(
                f"The data was encrypted with key id {kid}, which is not in FIELD_ENCRYPTION_KEYS. "
                "Restore that key to read it."
            ) from None

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """Encrypt under the first key, bound to `context` (the column) as associated data."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.primary_id].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{PREFIX}:{self.primary_id}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str, *, context: str) -> str:
        kid, payload = parse_token(token, context=context)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise UnknownKeyError(
                f"Cannot decrypt {context}: the value was encrypted with key id {kid}, "
                "which is not in FIELD_ENCRYPTION_KEYS. Restore that key to read it."
            )
        try:
            return cipher.decrypt(payload[:NONCE_BYTES], payload[NONCE_BYTES:], context.encode()).decode()
        except (InvalidTag, UnicodeDecodeError):
            raise DecryptionError(
                f"Cannot decrypt {context} (key id {kid}): the stored value was altered or belongs to another column."
            ) from None

    def needs_rotation(self, stored: str) -> bool:
        """Whether a stored, non-empty value is not ciphertext under the current first key."""
        return not stored.startswith(f"{PREFIX}:{self.primary_id}:")

    def blind_index(self, normalized: str, *, context: str) -> str:
        """HMAC-SHA256 of a normalised value, separated per column so equal values in two columns differ."""
        if self.blind_index_key is None:
            raise ImproperlyConfigured(
                "FIELD_BLIND_INDEX_KEY is empty, but a model uses a blind index. Set it to a base64 key "
                "of 32 bytes, different from the encryption keys (see docs/encryption.md)."
            )
        message = context.encode() + b"\x00" + unicodedata.normalize("NFC", normalized).encode()
        return hmac.new(self.blind_index_key, message, hashlib.sha256).hexdigest()


def is_ciphertext(stored: str | None) -> bool:
    return bool(stored) and stored.startswith(PREFIX + ":")


def parse_token(token: str, *, context: str) -> tuple[str, bytes]:
    """Split a stored value into (key id, nonce|ciphertext|tag) or raise DecryptionError."""
    parts = token.split(":", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise DecryptionError(f"Cannot decrypt {context}: the stored value is not in the {PREFIX} format.")
    try:
        payload = base64.b64decode(parts[2], validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError(f"Cannot decrypt {context}: the stored value is not valid base64.") from None
    if len(payload) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError(f"Cannot decrypt {context}: the stored value is truncated.")
    return parts[1], payload


def seal_json(value, *, context: str) -> str:
    """`value` (anything JSON can hold) as one `enc1:` token bound to `context`: for copies of
    sensitive data kept outside their encrypted columns (import undo values, error reports)."""
    return get_keyring().encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")), context=context)


def open_json(token: str, *, context: str):
    """The value `seal_json` sealed under `context`; DecryptionError if it was sealed elsewhere or altered."""
    return json.loads(get_keyring().decrypt(token, context=context))


_keyring: Keyring | None = None


def get_keyring() -> Keyring:
    """The keyring from settings, validated on first use and cached until the settings change."""
    global _keyring
    if _keyring is None:
        _keyring = Keyring.from_settings()
    return _keyring


@receiver(setting_changed)
def _forget_keyring(*, setting, **kwargs):
    global _keyring
    if setting in ("FIELD_ENCRYPTION_KEYS", "FIELD_BLIND_INDEX_KEY"):
        _keyring = None
