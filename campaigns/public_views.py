"""Endpoints a campaign's recipients reach without signing in, each by a signed link naming one
delivery: the open pixel, the click redirect (only to an address written in that campaign) and
the unsubscribe page with its one-click POST (RFC 8058). They reveal nothing about the CRM or
other recipients and answer 404 to an altered link."""

from __future__ import annotations

import base64

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from campaigns import tracking

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _private(response):
    patch_cache_control(response, private=True, no_store=True)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
def track_open(request, token):
    found = tracking.delivery_for(token)
    if found is not None:
        tracking.record_open(found[0], user_agent=request.headers.get("User-Agent", ""))
    # The image is the same either way: a pixel tells nobody whether a link was valid.
    return _private(HttpResponse(PIXEL, content_type="image/gif"))


@require_GET
def track_click(request, token):
    found = tracking.delivery_for(token, link=True)
    if found is None:
        raise Http404
    url = tracking.record_click(*found)
    if url is None:
        raise Http404
    return _private(HttpResponseRedirect(url))


@csrf_exempt  # mail providers post RFC 8058's one-click form without a token; the link is the secret
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    found = tracking.delivery_for(token)
    if found is None:
        raise Http404
    delivery = found[0]
    language = delivery.contact.preferred_language or translation.get_language()
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
