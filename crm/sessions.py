"""Sessions kept in the database, with a short-lived copy in the cache (SESSION_ENGINE).

The database row is the session: a Redis outage or restart signs nobody out, and only costs a
query per request while the cache is away (crm.cache turns its errors into misses). The cached
copy saves that query the rest of the time.

A copy can go stale: a sign-out or a password change made while Redis was unreachable updates
the row but not the copy, which Redis may still hold when it answers again (or restores from
its append-only file after a restart). So a copy is trusted for at most SESSION_CACHE_TIMEOUT
seconds, not for the session's whole life as Django's `cached_db` would.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDBStore
from django.contrib.sessions.backends.db import SessionStore as DBStore


class SessionStore(CachedDBStore):
    def _cache_timeout(self, **kwargs) -> int:
        return min(self.get_expiry_age(**kwargs), settings.SESSION_CACHE_TIMEOUT)

    def load(self):
        data = self._cache.get(self.cache_key)
        if data is not None:
            return data
        stored = self._get_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        self._cache.set(self.cache_key, data, self._cache_timeout(expiry=stored.expire_date))
        return data

    def save(self, must_create=False):
        DBStore.save(self, must_create)
        self._cache.set(self.cache_key, self._session, self._cache_timeout())
