"""Health of the services the CRM depends on, for /healthz and monitoring."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection


def _timed(check) -> dict:
    started = time.monotonic()
    try:
        detail = check()
    except Exception as error:  # any failure of the dependency is a "down"
        return {"status": "down", "error": type(error).__name__, "ms": round((time.monotonic() - started) * 1000)}
    result = {"status": "ok", "ms": round((time.monotonic() - started) * 1000)}
    if detail:
        result.update(detail)
    return result


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _redis():
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    client.ping()


def _celery():
    from crm.celery import app

    replies = app.control.ping(timeout=1.0)
    if not replies:
        raise RuntimeError("no worker answered")
    return {"workers": len(replies)}


def health_report() -> dict:
    checks = {"database": _timed(_database)}
    if settings.REDIS_URL:
        checks["redis"] = _timed(_redis)
        if settings.HEALTHZ_CHECK_CELERY and checks["redis"]["status"] == "ok":
            checks["celery"] = _timed(_celery)
    status = "ok" if all(c["status"] == "ok" for c in checks.values()) else "down"
    return {"status": status, "checks": checks}
