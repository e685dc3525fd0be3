"""Optional error reporting to Sentry (or a self-hosted GlitchTip) when SENTRY_DSN is set.

A CRM's requests and stack frames are full of customer data (names, phone numbers, decrypted
fields), so nothing of the request but its method and path leaves the server, and no local
variables are sent.
"""

from __future__ import annotations

# Request headers that say nothing about the person or their session.
_KEPT_HEADERS = {"user-agent", "accept", "accept-language", "content-type", "content-length", "x-request-id"}


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Drop cookies, credentials, query strings, form data and identifying headers from an event."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("cookies", "data", "query_string", "env"):
            request.pop(key, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {name: value for name, value in headers.items() if name.lower() in _KEPT_HEADERS}
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    return event


def init_sentry(*, dsn: str, environment: str, traces_sample_rate: float, release: str | None = None) -> None:
    import sentry_sdk

    # send_default_pii is left at its default (off): the SDK then adds its own scrubber too.
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        traces_sample_rate=traces_sample_rate,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_send_transaction=scrub_event,
    )
