"""An import queued from the page runs in a real Celery worker, through Redis."""

import time

import pytest

from customers.importing import service
from customers.models import Company, ImportBatch
from customers.tests.import_helpers import csv_bytes

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def wait_until_read(batch, timeout=60):
    """The worker reads an upload before its columns are mapped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if batch.stage != ImportBatch.Stage.READING:
            return batch
        time.sleep(0.2)
    raise AssertionError(f"upload still being read after {timeout}s")


def wait_until_finished(batch, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch.refresh_from_db()
        if batch.finished:
            return batch
        time.sleep(0.2)
    raise AssertionError(f"import still {batch.status} after {timeout}s")


def test_a_worker_runs_the_dry_run_and_the_import(live_celery_worker, cast):
    rows = [["公司名称", "城市"], *([f"公司{i}", "上海"] for i in range(30)), ["", "北京"]]
    batch = service.import_create(
        actor=cast.owner, target="companies", filename="gbk.csv", data=csv_bytes(rows, encoding="gbk"), team=cast.team
    )
    wait_until_read(batch)
    assert (batch.stage, batch.total, batch.params["detected_encoding"]) == (ImportBatch.Stage.MAPPING, 31, "gb18030")
    service.import_start(batch=batch, actor=cast.owner, dry_run=True)
    wait_until_finished(batch)
    assert (batch.stage, batch.created_count, batch.error_count) == (ImportBatch.Stage.CHECKED, 30, 1)
    assert not Company.objects.exists()

    service.import_start(batch=batch, actor=cast.owner, dry_run=False)
    wait_until_finished(batch)
    assert (batch.stage, batch.status, batch.done) == (ImportBatch.Stage.IMPORTED, "done", 31)
    assert Company.objects.filter(owner=cast.owner, team=cast.team).count() == 30
