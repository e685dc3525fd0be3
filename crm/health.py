"""Health of the services the CRM depends on, for /healthz and monitoring.

The report names each dependency with "ok" or "down" and, when down, only the class of the
error: hostnames, credentials and messages stay in the server's own logs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


def _timed(name: str, check: Callable[[], dict | None]) -> dict:
    started = time.monotonic()
    try:
        detail = check()
    except Exception as error:  # any failure of the dependency is a "down"
        logger.warning("health check %s failed", name, exc_info=True)
        return {"status": "down", "error": type(error).__name__, "ms": _elapsed_ms(started)}
    return {"status": "ok", "ms": _elapsed_ms(started), **(detail or {})}


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _redis() -> None:
    import redis

    with redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1) as client:
        client.ping()


def _celery() -> dict:
    from crm.celery import app

    # The first answer is enough: without a limit the ping waits out the whole timeout.
    replies = app.control.ping(timeout=settings.HEALTHZ_CELERY_TIMEOUT, limit=1)
    if not replies:
        raise RuntimeError("no worker answered")
    return {"workers": len(replies)}


def health_report() -> dict:
    """Check the database, Redis and (when configured) a Celery worker; "ok" only if all are."""
    checks = {"database": _timed("database", _database)}
    if settings.REDIS_URL:
        checks["redis"] = _timed("redis", _redis)
        if settings.HEALTHZ_CHECK_CELERY:
            if checks["redis"]["status"] == "ok":
                checks["celery"] = _timed("celery", _celery)
            else:
                checks["celery"] = {"status": "down", "error": "BrokerUnavailable", "ms": 0}
    status = "ok" if all(check["status"] == "ok" for check in checks.values()) else "down"
    return {"status": status, "checks": checks}
