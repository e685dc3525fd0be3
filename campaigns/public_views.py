"""Endpoints a campaign's recipients reach without signing in, each by a signed link naming one
delivery: the open pixel, the click redirect (only to an address written in that campaign) and
the unsubscribe page with its one-click POST (RFC 8058). They reveal nothing about the CRM or
other recipients and answer 404 to an altered link."""

from __future__ import annotations

import base64
import json

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns import bounces, sending, tracking
from crm.middleware import body_limit

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _private(response):
    patch_cache_control(response, private=True, no_store=True)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def track_open(request, token):
    found = tracking.delivery_for(token, purpose="open")
    if found is not None:
        tracking.record_open(found[0], user_agent=request.headers.get("User-Agent", ""))
    # The image is the same either way: a pixel tells nobody whether a link was valid.
    return _private(HttpResponse(PIXEL, content_type="image/gif"))


@require_GET
def track_click(request, token):
    found = tracking.delivery_for(token, purpose="click")
    if found is None:
        raise Http404
    url = tracking.record_click(*found)
    if url is None:
        raise Http404
    return _private(HttpResponseRedirect(url))


@csrf_exempt  # mail providers post RFC 8058's one-click form without a token; the link is the secret
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    found = tracking.delivery_for(token, purpose="unsubscribe")
    if found is None:
        raise Http404
    delivery = found[0]
    language = delivery.person.preferred_language or translation.get_language()
    with translation.override(language):
        done = False
        if request.method == "POST":
            tracking.unsubscribe(delivery)
            done = True
            if request.POST.get("List-Unsubscribe") == "One-Click":
                return _private(HttpResponse(status=200))
        context = {"done": done or delivery.unsubscribed_at is not None, "campaign": delivery.campaign}
        response = render(request, "campaigns/unsubscribe.html", context)
        response["Content-Language"] = language
    return _private(response)


def _bounce_events(payload) -> list[bounces.Bounce] | None:
    """`{"events": [{"message_id", "recipient", "type": "hard"|"soft", "reason"}]}` as bounces;
    None when the shape is wrong."""
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list) or len(events) > 1000:
        return None
    found = []
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("message_id"), str):
            return None
        kind = event.get("type", "hard")
        if kind not in ("hard", "soft"):
            return None
        recipient, reason = event.get("recipient", ""), event.get("reason", "")
        if not isinstance(recipient, str) or not isinstance(reason, str):
            return None
        found.append(bounces.Bounce(event["message_id"][:300], recipient[:254], kind == "hard", reason[:300]))
    return found


@body_limit(bounces.MAX_BOUNCE_BYTES)
@csrf_exempt  # a mail provider's server posts here, with the shared secret instead of a session
@require_POST
def bounce_webhook(request):
    """Bounces posted by a mail provider: JSON events, or a delivery status notification as is
    (`Content-Type: message/rfc822` or `multipart/report`). Needs CAMPAIGN_BOUNCE_WEBHOOK_TOKEN
    as a bearer token; off (404) when that is not set."""
    secret = settings.CAMPAIGN_BOUNCE_WEBHOOK_TOKEN
    if not secret:
        raise Http404
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not constant_time_compare(given, secret):
        return JsonResponse({"error": "a valid bearer token is needed"}, status=401)
    content_type = request.content_type or ""
    if content_type == "application/json":
        try:
            payload = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            payload = None
        found = _bounce_events(payload)
        if found is None:
            return JsonResponse(
                {"error": 'expected {"events": [{"message_id": …, "type": "hard"|"soft"}]}'}, status=400
            )
    elif content_type in ("message/rfc822", "multipart/report", "text/plain"):
        found = bounces.parse_bounce(request.body)
    else:
        return JsonResponse({"error": "send JSON events or the bounce message itself"}, status=415)
    return JsonResponse({"received": len(found), "recorded": bounces.apply(found)})


@body_limit(256 * 1024)
@csrf_exempt  # the SMS provider's server posts here, with the shared secret instead of a session
@require_POST
def sms_status(request):
    """Delivery reports of the SMS provider: `{"events": [{"id": <provider's message id>, "status":
    "delivered"|"failed", "reason": …}]}` with CAMPAIGN_SMS_WEBHOOK_TOKEN as a bearer token; off
    (404) when that is not set. A report names only messages the provider itself returned."""
    secret = settings.CAMPAIGN_SMS_WEBHOOK_TOKEN
    if not secret:
        raise Http404
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not constant_time_compare(given, secret):
        return JsonResponse({"error": "a valid bearer token is needed"}, status=401)
    try:
        payload = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        payload = None
    events = payload.get("events") if isinstance(payload, dict) else None
    valid = isinstance(events, list) and len(events) <= 1000
    valid = valid and all(
        isinstance(e, dict) and isinstance(e.get("id"), str) and e["id"] and e.get("status") in ("delivered", "failed")
        for e in events
    )
    if not valid:
        expected = 'expected {"events": [{"id": …, "status": "delivered"|"failed", "reason": …}]}'
        return JsonResponse({"error": expected}, status=400)
    recorded = sending.record_sms_reports(
        [(e["id"][:255], e["status"] == "delivered", str(e.get("reason", ""))[:300]) for e in events]
    )
    return JsonResponse({"received": len(events), "recorded": recorded})


@body_limit(256 * 1024)
@csrf_exempt  # the SMS provider's server posts here, with the shared secret instead of a session
@require_POST
def sms_replies(request):
    """Text messages recipients sent back, as the SMS provider forwards them: `{"events":
    [{"from": <number>, "text": …}]}` with CAMPAIGN_SMS_WEBHOOK_TOKEN as a bearer token. The
    opt-out word ("T", "退订", "STOP"…) withdraws that number's SMS consent; off (404) without
    the token."""
    secret = settings.CAMPAIGN_SMS_WEBHOOK_TOKEN
    if not secret:
        raise Http404
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not constant_time_compare(given, secret):
        return JsonResponse({"error": "a valid bearer token is needed"}, status=401)
    try:
        payload = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        payload = None
    events = payload.get("events") if isinstance(payload, dict) else None
    valid = isinstance(events, list) and len(events) <= 1000
    valid = valid and all(
        isinstance(e, dict) and isinstance(e.get("from"), str) and isinstance(e.get("text"), str) for e in events
    )
    if not valid:
        return JsonResponse({"error": 'expected {"events": [{"from": <number>, "text": …}]}'}, status=400)
    changed = sum(tracking.sms_reply(number=e["from"][:40], text=e["text"][:160]) for e in events)
    return JsonResponse({"received": len(events), "opted_out": changed})
