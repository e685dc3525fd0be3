"""What every form served without sign-in shares (web-to-lead, the service request form): a
honeypot field, a per-address rate limit, a body-size cap and the framing headers.

- `Honeypot`: a form mixin with a field people never see; bots that fill every input fill it,
  and such a submission is thanked and dropped (`form.is_spam`).
- `over_rate_limit(request, key)`: WEB_FORM_RATE_LIMIT submissions per WEB_FORM_RATE_WINDOW
  seconds per address and key. Fails open while Redis is away (crm/cache.py): a lost enquiry
  costs more than a spell of spam, which the honeypot and the size caps still filter.
- `max_body_bytes()`: WEB_FORM_MAX_BODY_BYTES, for `crm.middleware.body_limit`.
- `frame_headers(response)`: which sites may embed the form (WEB_FORM_FRAME_ANCESTORS, default
  the CRM's own origin only); every other page keeps `frame-ancestors 'none'`.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from crm.cache import count_hit
from crm.network import client_address

HONEYPOT = "website_url"


class Honeypot(forms.Form):
    """Mix into a public form (before the form class); render the field hidden from people."""

    website_url = forms.CharField(label=_("Leave this empty"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[HONEYPOT].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})

    @property
    def is_spam(self) -> bool:
        return bool(self.data.get(HONEYPOT))


def over_rate_limit(request, key: str) -> bool:
    """Count this submission against the visitor's address; True once over the limit."""
    limit = int(getattr(settings, "WEB_FORM_RATE_LIMIT", 10))
    window = int(getattr(settings, "WEB_FORM_RATE_WINDOW", 3600))
    return count_hit(f"{key}:{client_address(request) or 'unknown'}", window=window) > limit


def max_body_bytes() -> int:
    return int(getattr(settings, "WEB_FORM_MAX_BODY_BYTES", 16 * 1024))


def frame_headers(response):
    ancestors = list(getattr(settings, "WEB_FORM_FRAME_ANCESTORS", ["'self'"]))
    response._csp_replace = {"frame-ancestors": ancestors}
    if ancestors == ["'self'"]:
        response["X-Frame-Options"] = "SAMEORIGIN"
    # Otherwise no X-Frame-Options: it cannot name other sites; browsers follow frame-ancestors.
    return response
