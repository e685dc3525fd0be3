"""Files that hold customer data at rest (uploaded imports, generated exports): encrypted on disk,
never served by URL, and deleted after `IMPORT_EXPORT_RETENTION_DAYS`.

    source = models.FileField(_("file"), upload_to="imports/%Y/%m/", storage=SealedFileStorage())

`SealedFileStorage` encrypts a file as it is saved and decrypts it as it is read, so callers
keep using `field.save(...)` and `field.open("rb")`. A sealed file is

    header   b"CRMSEAL1" | key id (8 ASCII hex characters) | file id (16 random bytes)
    chunks   nonce (12 bytes) | AES-256-GCM ciphertext of up to 64 KiB | tag (16 bytes), ...

under the first key of `FIELD_ENCRYPTION_KEYS` (any configured key opens it). Every chunk binds
the whole header, its own index and whether it is the last chunk as associated data, so chunks
cannot be altered, reordered, spliced in from another file or cut off the end without the read
failing (`DecryptionError`). Only the last chunk is shorter than 64 KiB, so the plaintext size
follows from the file size and the reader can seek. A file without the header (stored before
encryption) is read as it is.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import timedelta

from cryptography.exceptions import InvalidTag
from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone

from crm.crypto import KEY_ID_CHARS, NONCE_BYTES, TAG_BYTES, DecryptionError, get_keyring

MAGIC = b"CRMSEAL1"
FILE_ID_BYTES = 16
HEADER_BYTES = len(MAGIC) + KEY_ID_CHARS + FILE_ID_BYTES
CHUNK_BYTES = 64 * 1024
SEALED_CHUNK_BYTES = NONCE_BYTES + CHUNK_BYTES + TAG_BYTES


def _associated_data(header: bytes, index: int, final: bool) -> bytes:
    return header + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def _sealed_chunks(content) -> Iterator[bytes]:
    """Header and sealed chunks of `content` (a Django File), as they go to disk."""
    kid, cipher = get_keyring().cipher()
    header = MAGIC + kid.encode("ascii") + os.urandom(FILE_ID_BYTES)
    yield header
    if hasattr(content, "seek"):
        content.seek(0)
    pending = bytearray()
    index = 0
    # The last chunk is written only once the input has ended, so it carries the final flag;
    # it is 1 to 64 KiB long, or empty for an empty file.
    for piece in content.chunks(CHUNK_BYTES):
        pending += piece.encode() if isinstance(piece, str) else piece
        start = 0
        while len(pending) - start > CHUNK_BYTES:
            chunk = bytes(pending[start : start + CHUNK_BYTES])
            start += CHUNK_BYTES
            nonce = os.urandom(NONCE_BYTES)
            yield nonce + cipher.encrypt(nonce, chunk, _associated_data(header, index, False))
            index += 1
        del pending[:start]
    nonce = os.urandom(NONCE_BYTES)
    yield nonce + cipher.encrypt(nonce, bytes(pending), _associated_data(header, index, True))


class _SealingFile(File):
    """What FileSystemStorage._save writes: `chunks()` yields ciphertext, and there is no
    `temporary_file_path`, so a large upload's plaintext temporary file is never moved into place."""

    def __init__(self, content):
        super().__init__(content, getattr(content, "name", None))
        self._content = content

    def chunks(self, chunk_size=None):
        return _sealed_chunks(self._content)


class SealedReader(io.RawIOBase):
    """A sealed file's plaintext as a seekable binary stream, decrypting one chunk at a time."""

    def __init__(self, raw):
        super().__init__()
        self._raw = raw
        raw.seek(0)
        self._header = raw.read(HEADER_BYTES)
        if len(self._header) != HEADER_BYTES or not self._header.startswith(MAGIC):
            raise DecryptionError("Cannot decrypt the file: it is not a sealed file.")
        kid = self._header[len(MAGIC) : len(MAGIC) + KEY_ID_CHARS].decode("ascii", "replace")
        _kid, self._cipher = get_keyring().cipher(kid)
        body = raw.seek(0, io.SEEK_END) - HEADER_BYTES
        full, rest = divmod(body, SEALED_CHUNK_BYTES)
        if (rest and rest < NONCE_BYTES + TAG_BYTES) or not (full or rest):
            raise DecryptionError(f"Cannot decrypt the file (key id {kid}): it is truncated.")
        self._count = full + (1 if rest else 0)
        self.size = body - self._count * (NONCE_BYTES + TAG_BYTES)
        self._position = 0
        self._cached: tuple[int, bytes] | None = None
        # Opening checks the last chunk, so a file cut short fails before any of it is used.
        self._chunk(self._count - 1)

    def _chunk(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        self._raw.seek(HEADER_BYTES + index * SEALED_CHUNK_BYTES)
        sealed = self._raw.read(SEALED_CHUNK_BYTES)
        final = index == self._count - 1
        try:
            plain = self._cipher.decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _associated_data(self._header, index, final)
            )
        except InvalidTag:
            raise DecryptionError(
                f"Cannot decrypt chunk {index} of the file: it was altered, reordered or cut short."
            ) from None
        self._cached = (index, plain)
        return plain

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._position >= self.size:
            return 0
        index, offset = divmod(self._position, CHUNK_BYTES)
        plain = self._chunk(index)
        count = min(len(buffer), len(plain) - offset)
        buffer[:count] = plain[offset : offset + count]
        self._position += count
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _OpenedFile(File):
    """An opened stored file. Reopening goes through the storage again: Django's File would
    reopen its name as a plain path, which here is relative, and would bypass decryption."""

    def __init__(self, stream, *, name: str, storage: SealedFileStorage, mode: str):
        super().__init__(stream, name=name)
        self._storage, self._mode = storage, mode

    def open(self, mode=None):
        if not self.closed:
            self.seek(0)
        else:
            self.file = self._storage._open(self.name, mode or self._mode).file
        return self


def is_sealed(path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


class SealedFileStorage(FileSystemStorage):
    """FileSystemStorage that encrypts on save and decrypts on open (see the module docstring).

    Files are readable by the server's user only and have no URL: they are downloaded through a
    view that checks who asks. Sizes are the plaintext's. A model that uses it needs a
    `created_at` field: `purge_expired_files` counts the retention period from it.
    """

    file_permissions_mode = 0o600
    directory_permissions_mode = 0o700

    def _save(self, name, content):
        return super()._save(name, _SealingFile(content))

    def _open(self, name, mode="rb"):
        if any(flag in mode for flag in "wax+"):
            raise ValueError("Sealed files are written with save(), not opened for writing.")
        raw = open(self.path(name), "rb")  # noqa: SIM115 - the returned File owns it
        try:
            if raw.read(len(MAGIC)) != MAGIC:
                raw.seek(0)
                stream = raw  # stored before files were sealed
            else:
                stream = io.BufferedReader(SealedReader(raw), CHUNK_BYTES)
        except BaseException:
            raw.close()
            raise
        if "b" not in mode:
            stream = io.TextIOWrapper(stream, encoding="utf-8")
        return _OpenedFile(stream, name=name, storage=self, mode=mode)

    def size(self, name):
        path = self.path(name)
        if not is_sealed(path):
            return os.path.getsize(path)
        with open(path, "rb") as raw:
            return SealedReader(raw).size

    def url(self, name):
        raise ValueError("Sealed files have no URL: a view that checks the owner serves them.")


# --- retention ------------------------------------------------------------------------------------


def retention() -> timedelta:
    return timedelta(days=settings.IMPORT_EXPORT_RETENTION_DAYS)


def has_expired(created_at) -> bool:
    """Whether a file made at `created_at` is past the retention period (deleted, or about to be)."""
    return created_at < timezone.now() - retention()


def sealed_file_fields(model: type[models.Model]) -> list[models.FileField]:
    return [
        f
        for f in model._meta.local_concrete_fields
        if isinstance(f, models.FileField) and isinstance(f.storage, SealedFileStorage)
    ]


def purge_expired_files() -> int:
    """Delete every sealed file older than the retention period; return how many were deleted.

    Rows keep their other columns; their file fields are emptied, and a model may clear more
    (`retention_updates()`, e.g. the rows an import's error report kept). A file is deleted before
    its row is updated, so an interrupted run leaves nothing that the next run would miss. Files
    no row points to (a save rolled back) are found on disk by their age. Safe to run twice.
    """
    cutoff = timezone.now() - retention()
    deleted = 0
    for model in apps.get_models():
        fields = sealed_file_fields(model)
        if not fields:
            continue
        with_file = models.Q()
        for field in fields:
            with_file |= ~models.Q(**{field.name: ""})
        expired = model._base_manager.filter(with_file, created_at__lt=cutoff)
        for obj in expired.iterator(chunk_size=500):
            updates = {}
            for field in fields:
                file = getattr(obj, field.name)
                if file:
                    field.storage.delete(file.name)
                    deleted += 1
                updates[field.name] = ""
            if hasattr(obj, "retention_updates"):
                updates.update(obj.retention_updates())
            model._base_manager.filter(pk=obj.pk).update(**updates)
        for field in fields:
            deleted += _purge_old_files_on_disk(field, cutoff)
    return deleted


def _purge_old_files_on_disk(field: models.FileField, cutoff) -> int:
    upload_to = field.upload_to if isinstance(field.upload_to, str) else ""
    top = upload_to.split("/", 1)[0].split("%", 1)[0]
    if not top:
        return 0  # a field without its own folder: only its rows' files are known to be its own
    root = field.storage.path(top)
    deleted = 0
    oldest = cutoff.timestamp()
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            try:
                if os.stat(path).st_mtime < oldest:
                    os.remove(path)
                    deleted += 1
            except FileNotFoundError:
                continue
    return deleted
