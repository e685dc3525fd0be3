"""`manage.py bench_send` keeps working: a tiny send through real Celery workers with one killed
midway (on a message's RCPT, so never between "250 OK" and COMMIT: no copy is allowed), and the
segment count on a table just past the exact-count cap. Its own databases (`crm_bench_send_test`
and `…_segment`) and a Redis database of its own, not the suite's."""

import io
import json
import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from campaigns.segments import EXACT_COUNT_CAP
from crm.tests.outages import missing_binaries

pytestmark = [pytest.mark.slow, pytest.mark.celery_worker]

RECIPIENTS = 200
SEGMENT_CONTACTS = 2 * EXACT_COUNT_CAP  # 60% agreed: the first segment is past the cap


def _urls() -> tuple[str, str]:
    database = connection.settings_dict
    password = f":{database['PASSWORD']}" if database.get("PASSWORD") else ""
    host, port = database.get("HOST") or "127.0.0.1", database.get("PORT") or 5432
    database_url = f"postgres://{database.get('USER') or 'postgres'}{password}@{host}:{port}/crm_bench_send_test"
    broker = urlsplit(settings.CELERY_BROKER_URL)
    return database_url, urlunsplit((broker.scheme, broker.netloc, "/13", "", ""))


def test_the_send_benchmark_counts_every_message_once_and_times_the_segment_count(monkeypatch):
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs PostgreSQL and Redis")
    if missing := [path for path in missing_binaries() if path.endswith("celery")]:
        pytest.skip(f"needs the celery command: {missing}")
    monkeypatch.setitem(os.environ, "SECRET_KEY", "bench-send-test-key")
    database_url, redis_url = _urls()
    out = io.StringIO()

    call_command(
        "bench_send",
        recipients=RECIPIENTS,
        kill_mode="rcpt",
        segment_contacts=SEGMENT_CONTACTS,
        segment_budget=120,
        database_url=database_url,
        redis_url=redis_url,
        timeout=180,
        no_doc=True,
        stdout=out,
    )

    lines = out.getvalue().splitlines()
    result = json.loads(next(line for line in reversed(lines) if line.startswith("RESULT "))[len("RESULT ") :])
    send = result["send"]
    assert send["status"] == "sent"
    assert (send["received"], send["losses"], send["not_sent"]) == (RECIPIENTS, 0, 0)
    assert (send["distinct_duplicates"], send["same_id_copies"], send["wrong_message_ids"]) == (0, 0, 0)
    assert send["counters"] == [RECIPIENTS, RECIPIENTS, 0]
    assert send["events"]["kill"] > 0 and 0 < send["events"]["received_at_kill"] < RECIPIENTS
    assert send["steady_rate"] > 0 and send["overall_rate"] > 0
    assert len(send["peak_rss_mb"]) == 3 and all(mb > 50 for mb in send["peak_rss_mb"].values())
    segment = result["segment"]
    assert segment["contacts"] >= SEGMENT_CONTACTS
    everyone = segment["segments"][0]
    assert everyone["estimated"] and everyone["exact"] > EXACT_COUNT_CAP
    assert all(s["median_ms"] > 0 for s in segment["segments"])
    assert "## Campaign sends" in out.getvalue()
