"""The cache, on Redis, tolerating Redis being away: a miss instead of an error.

Nothing the CRM keeps in the cache is the only copy of anything, so while Redis is down or
restarting pages are served without it, a little slower. Which uses rely on the cache and what
they do meanwhile (docs/operations.md, "Redis or PostgreSQL restarting"):

- sessions: the database holds them, the cache a copy (crm.sessions); nobody is signed out.
- the public web form's rate limit (pipeline.web_forms): fails open, the limit is not counted
  while Redis is away; the honeypot and the size caps still apply.
- sign-in lockouts (django-axes) count in the database, never in the cache: they keep working.

A limit that must fail closed instead counts, then refuses while `cache_unavailable()` is true.

After a connection error the backend leaves Redis alone for `RETRY_SECONDS`, so an unreachable
Redis (which costs a connect timeout per try, not an instant refusal) slows one request per
thread every few seconds rather than every cache call. Writes and deletes made meanwhile are
lost; that is why sessions trust their cached copy only for a few minutes.
"""

from __future__ import annotations

import logging
import time
import uuid
from functools import partial

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Redis refusing or dropping the connection, not answering in time, or still loading its data
# after a restart (BusyLoadingError is a ConnectionError). A wrong command or value still raises.
REDIS_AWAY = (RedisConnectionError, RedisTimeoutError)
RETRY_SECONDS = 5.0

_MISSING = object()


class _OneClientPerPool(RedisCacheClient):
    """Django builds a new `redis.Redis` around the connection pool for every cache call (about
    70 µs each, ten or more a page). One per pool serves every call: it is thread-safe and holds
    no connection of its own, the pool does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    """Django's Redis cache; while Redis is away reads miss, writes are dropped, both logged."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _OneClientPerPool
        self._away_until = 0.0

    @property
    def unavailable(self) -> bool:
        """True while the last call found Redis away (and for RETRY_SECONDS after it)."""
        return time.monotonic() < self._away_until

    def _tolerate(self, operation: str, fallback, call):
        if self.unavailable:
            return fallback
        try:
            return call()
        except REDIS_AWAY as error:
            self._away_until = time.monotonic() + RETRY_SECONDS
            logger.warning(
                "cache unavailable (%s on %s): serving without it for %d s",
                type(error).__name__,
                operation,
                RETRY_SECONDS,
            )
            return fallback

    def get(self, key, default=None, version=None):
        return self._tolerate("get", default, partial(super().get, key, default, version))

    def get_many(self, keys, version=None):
        return self._tolerate("get_many", {}, partial(super().get_many, keys, version))

    def has_key(self, key, version=None):
        return self._tolerate("has_key", False, partial(super().has_key, key, version))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._tolerate("add", False, partial(super().add, key, value, timeout, version))

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._tolerate("set", None, partial(super().set, key, value, timeout, version))

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        # Django's contract: the keys that could not be stored.
        return self._tolerate("set_many", list(data), partial(super().set_many, data, timeout, version))

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._tolerate("touch", False, partial(super().touch, key, timeout, version))

    def delete(self, key, version=None):
        return self._tolerate("delete", False, partial(super().delete, key, version))

    def delete_many(self, keys, version=None):
        self._tolerate("delete_many", None, partial(super().delete_many, keys, version))

    def incr(self, key, delta=1, version=None):
        # Away, the key is as good as missing, and a missing key is incr's ValueError.
        value = self._tolerate("incr", _MISSING, partial(super().incr, key, delta, version))
        if value is _MISSING:
            raise ValueError(f"Key {key!r} not found: the cache is unavailable.")
        return value

    def clear(self):
        return self._tolerate("clear", False, super().clear)


def cache_unavailable(alias: str = "default") -> bool:
    """Whether the cache just found Redis away (never, for a local-memory cache without Redis)."""
    return getattr(caches[alias], "unavailable", False)


def count_hit(key: str, *, window: int) -> int:
    """Count one more hit on `key` within a window of `window` seconds and return the count so far
    (rate limits). While the cache is away every call counts 1: callers fail open, as documented
    where they are used; one that must fail closed checks `cache_unavailable()` too."""
    from django.core.cache import cache

    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr, or the cache is away
        cache.set(key, 1, timeout=window)
        return 1


# --- answers about one user, kept until what they depend on changes ---------------------------------


def _user_key(user, name: str) -> str:
    # The account's creation time keeps a recycled id (a restored or re-created database) from
    # reading another account's answer.
    joined = int(user.date_joined.timestamp() * 1_000_000) if getattr(user, "date_joined", None) else 0
    return f"{name}:{user.pk}:{joined}"


def per_user(user, name: str, compute, *, generation: str, timeout: int, stamp: str | None = None):
    """`compute()`'s answer for `user`, from the cache while neither `generation` nor the user's
    own stamp for `name` changed: a rule that changes for everyone bumps the generation (`bump`),
    a change of one user's facts renews that user's stamp (`forget_user`). Without Redis it is
    computed each time. Answers that share a `stamp` name are forgotten together.

    Both are read before `compute()` runs and stored with its answer, so an answer computed from
    data a concurrent write was changing is stored under stamps that write has already replaced
    (writers forget now and again after their commit), and is never read."""
    from django.core.cache import cache

    key = _user_key(user, name)
    stamp_key = f"{_user_key(user, stamp or name)}:stamp"
    found = cache.get_many([generation, stamp_key, key])
    current, stamp, cached = found.get(generation), found.get(stamp_key), found.get(key)
    if (
        current is not None
        and stamp is not None
        and isinstance(cached, tuple)
        and len(cached) == 2
        and cached[0] == (current, stamp)
    ):
        return cached[1]
    if current is None:
        current = uuid.uuid4().hex
        if not cache.add(generation, current, None):
            return compute()  # another process set it meanwhile: cache the answer next time
    if stamp is None:
        stamp = uuid.uuid4().hex
        if not cache.add(stamp_key, stamp, None):
            return compute()
    answer = compute()
    cache.set(key, ((current, stamp), answer), timeout)
    return answer


def now_and_after_commit(forget) -> None:
    """Run `forget` (a `bump` or `forget_user`) now, for the rest of this request, and again when
    the transaction commits: a request that read the old data meanwhile stored its answer under
    stamps this replaces."""
    from django.db import transaction

    forget()
    transaction.on_commit(forget)


def forget_for_members(instance, action, reverse, pk_set, *, forget_users, forget_all) -> None:
    """Receiver body for an `m2m_changed` between users and their roles (or permissions): forget,
    now and after commit, what was cached for the users the change names; for everyone when a
    role is emptied, since whose it was is not known any more."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        users = [instance]
    elif pk_set:
        from django.contrib.auth import get_user_model

        users = list(get_user_model().objects.filter(pk__in=pk_set).only("pk", "date_joined"))
    else:
        now_and_after_commit(forget_all)
        return
    now_and_after_commit(lambda: forget_users(users))


def forget_for_owner(instance, forget_users) -> None:
    """Receiver body for a saved or deleted row that belongs to a user (`instance.user`): forget,
    now and after commit, what was cached for that user; nothing while the account itself is
    being deleted."""
    from django.core.exceptions import ObjectDoesNotExist

    try:
        users = [instance.user]
    except ObjectDoesNotExist:
        return
    now_and_after_commit(lambda: forget_users(users))


def bump(generation: str) -> None:
    from django.core.cache import cache

    cache.set(generation, uuid.uuid4().hex, None)


def forget_user(users, name: str) -> None:
    """Renew the users' stamps for `name`: what was cached for them is not read again."""
    from django.core.cache import cache

    cache.set_many({f"{_user_key(user, name)}:stamp": uuid.uuid4().hex for user in users}, None)
