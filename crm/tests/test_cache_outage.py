"""While Redis is away the cache misses instead of failing, and says so once in the log."""

import logging

import pytest
from django.conf import settings
from django.core.cache import cache

from crm import cache as crm_cache
from crm.cache import RedisCache, cache_unavailable

# Nothing listens on port 1: every call is refused, as while Redis restarts.
AWAY = "redis://127.0.0.1:1/0"


def make_cache(location: str) -> RedisCache:
    return RedisCache(location, {"KEY_PREFIX": "crm-cache-outage-test", "OPTIONS": {"socket_connect_timeout": 1}})


@pytest.fixture
def away():
    return make_cache(AWAY)


def test_reads_miss_and_writes_are_dropped_without_an_error(away):
    assert away.get("k") is None
    assert away.get("k", "fallback") == "fallback"
    assert away.get_many(["a", "b"]) == {}
    assert "k" not in away
    assert away.get_or_set("k", 42) == 42
    assert away.add("k", 1) is False
    away.set("k", 1)
    assert away.set_many({"a": 1, "b": 2}) == ["a", "b"]  # Django's contract: the keys not stored
    assert away.touch("k") is False
    assert away.delete("k") is False
    away.delete_many(["a", "b"])
    away.clear()


def test_counting_while_away_is_a_missing_key(away):
    # incr's contract for a key it cannot find: callers already handle it (rate limits fail open).
    with pytest.raises(ValueError):
        away.incr("hits")
    with pytest.raises(ValueError):
        away.decr("hits")


def test_an_outage_is_logged_once_and_retried_after_a_pause(away, caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(crm_cache.time, "monotonic", lambda: clock[0])
    caplog.set_level(logging.WARNING, logger="crm.cache")

    assert not away.unavailable
    for _ in range(5):
        away.get("k")

    assert away.unavailable
    assert [record.getMessage() for record in caplog.records] == [
        "cache unavailable (ConnectionError on get): serving without it for 5 s"
    ]

    clock[0] += crm_cache.RETRY_SECONDS + 0.1
    assert not away.unavailable
    away.set("k", 1)
    assert len(caplog.records) == 2


def test_with_redis_up_it_is_an_ordinary_cache():
    up = make_cache(settings.REDIS_URL)
    up.set("k", {"a": 1})
    try:
        assert up.get("k") == {"a": 1}
        assert up.add("n", 1) is True
        assert up.incr("n") == 2
        assert not up.unavailable
    finally:
        up.delete_many(["k", "n"])


def test_a_limit_that_must_fail_closed_can_tell_the_cache_is_away(settings):
    settings.CACHES = {"default": {"BACKEND": "crm.cache.RedisCache", "LOCATION": AWAY}}
    assert not cache_unavailable()
    with pytest.raises(ValueError):
        cache.incr("phone-searches:7")
    assert cache_unavailable()


def test_a_local_memory_cache_is_never_away(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert not cache_unavailable()
