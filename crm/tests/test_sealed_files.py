"""Sealed files: encrypted on disk in authenticated chunks, read back as a stream, never given a
URL, and deleted after the retention period by a scheduled task."""

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from crm.crypto import DecryptionError, UnknownKeyError
from crm.models import Job
from crm.storage import CHUNK_BYTES, HEADER_BYTES, MAGIC, SEALED_CHUNK_BYTES, SealedFileStorage
from crm.tasks import purge_expired_files
from crm.testing import make_user

SECRET = "华为技术有限公司,0755-28780808,914403001922038216\n".encode()
NEW_KEY = "bmV3LWtleS0wMi0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ="


@pytest.fixture
def storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return SealedFileStorage()


def on_disk(storage, name) -> bytes:
    with open(storage.path(name), "rb") as handle:
        return handle.read()


def read_back(storage, name) -> bytes:
    with storage.open(name) as handle:
        return handle.read()


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES, 3 * CHUNK_BYTES + 17]
)
def test_round_trip_of_every_size_with_no_plaintext_on_disk(storage, size):
    data = (SECRET * (size // len(SECRET) + 1))[:size]
    name = storage.save("imports/x.csv", ContentFile(data))
    raw = on_disk(storage, name)
    assert raw.startswith(MAGIC)
    if size >= len(SECRET):
        assert b"28780808" not in raw and b"914403001922038216" not in raw
    assert read_back(storage, name) == data
    assert storage.size(name) == size
    assert oct(os.stat(storage.path(name)).st_mode & 0o777) == "0o600"


def test_the_stream_seeks_reads_in_parts_and_reopens(storage):
    data = bytes(range(256)) * 1000  # 256 000 bytes: four chunks
    name = storage.save("jobs/x.bin", ContentFile(data))
    with storage.open(name) as handle:
        handle.seek(CHUNK_BYTES - 10)
        assert handle.read(20) == data[CHUNK_BYTES - 10 : CHUNK_BYTES + 10]
        assert handle.seek(0, io.SEEK_END) == len(data)
        handle.seek(-5, io.SEEK_END)
        assert handle.read() == data[-5:]
        assert handle.size == len(data)
        handle.close()
        handle.open()
        assert handle.read(3) == data[:3]


def test_a_large_upload_is_sealed_not_moved_into_place(storage):
    upload = TemporaryUploadedFile("big.csv", "text/csv", 0, "utf-8")
    upload.write(SECRET * 10_000)
    upload.seek(0)
    name = storage.save("imports/big.csv", upload)
    assert b"914403001922038216" not in on_disk(storage, name)
    assert read_back(storage, name) == SECRET * 10_000
    upload.close()


def test_a_changed_byte_fails(storage):
    name = storage.save("jobs/x.csv", ContentFile(SECRET * 5000))
    path = storage.path(name)
    raw = bytearray(on_disk(storage, name))
    raw[HEADER_BYTES + 40] ^= 1
    Path(path).write_bytes(raw)
    with pytest.raises(DecryptionError), storage.open(name) as handle:
        handle.read()


def test_a_file_cut_at_a_chunk_boundary_fails_on_open(storage):
    name = storage.save("jobs/x.csv", ContentFile(b"x" * (3 * CHUNK_BYTES + 100)))
    raw = on_disk(storage, name)
    Path(storage.path(name)).write_bytes(raw[: HEADER_BYTES + 2 * SEALED_CHUNK_BYTES])
    with pytest.raises(DecryptionError):
        storage.open(name)


def test_reordered_or_spliced_chunks_fail(storage):
    first = storage.save("jobs/a.csv", ContentFile(b"a" * CHUNK_BYTES + b"b" * CHUNK_BYTES + b"c"))
    other = storage.save("jobs/b.csv", ContentFile(b"a" * CHUNK_BYTES + b"b" * CHUNK_BYTES + b"c"))
    raw, other_raw = on_disk(storage, first), on_disk(storage, other)
    header, body = raw[:HEADER_BYTES], raw[HEADER_BYTES:]
    chunk0, chunk1 = body[:SEALED_CHUNK_BYTES], body[SEALED_CHUNK_BYTES : 2 * SEALED_CHUNK_BYTES]
    rest = body[2 * SEALED_CHUNK_BYTES :]
    Path(storage.path(first)).write_bytes(header + chunk1 + chunk0 + rest)
    with pytest.raises(DecryptionError), storage.open(first) as handle:
        handle.read()
    # The same position of another file (same key, same plaintext) does not fit either.
    Path(storage.path(first)).write_bytes(
        header + other_raw[HEADER_BYTES : HEADER_BYTES + SEALED_CHUNK_BYTES] + chunk1 + rest
    )
    with pytest.raises(DecryptionError), storage.open(first) as handle:
        handle.read()


def test_a_file_stored_before_sealing_still_opens(storage):
    os.makedirs(storage.path("imports/2025/01"))
    with open(storage.path("imports/2025/01/old.csv"), "wb") as handle:
        handle.write(SECRET)
    assert read_back(storage, "imports/2025/01/old.csv") == SECRET
    assert storage.size("imports/2025/01/old.csv") == len(SECRET)


def test_files_sealed_under_an_older_key_open_after_rotation(storage, settings):
    name = storage.save("jobs/x.csv", ContentFile(SECRET))
    old_keys = list(settings.FIELD_ENCRYPTION_KEYS)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, *old_keys]
    assert read_back(storage, name) == SECRET
    newer = storage.save("jobs/y.csv", ContentFile(SECRET))
    settings.FIELD_ENCRYPTION_KEYS = old_keys
    with pytest.raises(UnknownKeyError):
        storage.open(newer)


def test_sealed_files_have_no_url(storage):
    name = storage.save("jobs/x.csv", ContentFile(SECRET))
    with pytest.raises(ValueError, match="no URL"):
        storage.url(name)


# --- retention ------------------------------------------------------------------------------------


def _age(obj, days):
    type(obj).objects.filter(pk=obj.pk).update(created_at=timezone.now() - timedelta(days=days))


@pytest.mark.django_db
def test_the_hourly_task_deletes_expired_files_and_keeps_the_rest(storage, settings):
    settings.IMPORT_EXPORT_RETENTION_DAYS = 7
    owner = make_user()
    old_job, new_job = Job.objects.create(kind="x", owner=owner), Job.objects.create(kind="x", owner=owner)
    for job in (old_job, new_job):
        job.file.save("export.csv", ContentFile(SECRET))
    _age(old_job, 8)
    orphan = storage.path("jobs/2020/01/orphan.csv")
    os.makedirs(os.path.dirname(orphan))
    Path(orphan).write_bytes(b"left behind by a rolled-back save")
    os.utime(orphan, (0, 0))
    old_path, new_path = old_job.file.path, new_job.file.path

    assert purge_expired_files() == 2
    assert not os.path.exists(old_path) and not os.path.exists(orphan)
    assert os.path.exists(new_path)
    old_job.refresh_from_db()
    new_job.refresh_from_db()
    assert not old_job.file and new_job.file
    assert purge_expired_files() == 0  # safe to run twice


@pytest.mark.django_db
def test_the_task_is_scheduled_with_celery_beat():
    task = PeriodicTask.objects.get(task="crm.tasks.purge_expired_files")
    assert task.enabled and task.crontab.minute == "15" and task.crontab.hour == "*"


def test_the_retention_setting_fails_loudly_below_one_day():
    import subprocess
    import sys

    env = {**os.environ, "IMPORT_EXPORT_RETENTION_DAYS": "0", "DJANGO_SETTINGS_MODULE": "crm.test_settings"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and "IMPORT_EXPORT_RETENTION_DAYS must be at least 1" in result.stderr
