"""The client's address: the one function every lockout, rate limit, audit entry and session
record asks.

Behind `PROXY_COUNT` reverse proxies, each proxy appends the address it received the request
from to `X-Forwarded-For`, so the client is the `PROXY_COUNT`-th entry from the right; everything
to its left was sent by the client and may be forged. With no proxy (the default) the header is
ignored and the connection's peer address is the client.

django-ipware's `proxy_count` does not fit this rule: it counts the proxies *listed inside* the
header, so with no trusted proxy it still believes a forwarded address, and with a longer chain
than configured it picks the left-most, client-supplied, entry.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _address(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [2001:db8::1]:443
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # 203.0.113.7:443
        value = value.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_address(request) -> str | None:
    """The client's IP address as text, or None when the request carries no valid one."""
    if request is None:
        return None
    peer = _address(request.META.get("REMOTE_ADDR") or "")
    hops = getattr(settings, "PROXY_COUNT", 0)
    if hops <= 0:
        return peer
    forwarded = [entry for entry in (request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",") if entry.strip()]
    if len(forwarded) < hops:
        # Fewer entries than proxies: the request did not come through all of them (or the
        # proxies are misconfigured). The peer is the only address nobody could forge.
        return peer
    return _address(forwarded[-hops]) or peer


def absolute_url(path: str, request=None) -> str:
    """`path` as a full address for e-mails and feeds: under SITE_URL when it is configured (the
    address users know the CRM by), else the host the request came to (which ALLOWED_HOSTS
    limits), else the bare path."""
    site = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    if site:
        return site + path
    if request is not None:
        return request.build_absolute_uri(path)
    return path
