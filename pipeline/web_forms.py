"""The public web-to-lead form, served without sign-in and embeddable in an iframe.

Embed it on the company's own site with:

    <iframe src="https://crm.example.com/pipeline/forms/<slug>/" title="Contact us"
            style="width:100%;height:640px;border:0"></iframe>

Which sites may frame it is the WEB_FORM_FRAME_ANCESTORS setting (default: the CRM's own origin
only); every other page keeps `frame-ancestors 'none'`. CSRF protection stays on: the form page
sets the token cookie itself, so a same-site embedding works as is.

Spam safety is crm/public_forms.py's, shared with the service request form: a honeypot field (a
filled one is thanked and dropped), a per-IP rate limit per form, a cap on the request body and
on every field's length. A refused submission creates nothing and tells the visitor nothing
about the CRM beyond the form's own text.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import ensure_csrf_cookie

from crm.middleware import body_limit
from crm.network import absolute_url
from crm.public_forms import frame_headers as _frame_headers
from crm.public_forms import max_body_bytes as _max_body_bytes
from crm.public_forms import over_rate_limit
from pipeline.lead_forms import PublicLeadForm
from pipeline.leads import web_form_submit
from pipeline.models import WebForm

logger = logging.getLogger(__name__)


def _rate_limited(web_form: WebForm, request) -> bool:
    return over_rate_limit(request, f"webform:{web_form.pk}")


def _active_form(slug: str) -> WebForm:
    web_form = WebForm.objects.filter(slug=slug, active=True).select_related("team", "source").first()
    if web_form is None:
        raise Http404
    return web_form


def _refuse_too_large(request, slug):
    return _frame_headers(
        render(request, "pipeline/web_form_refused.html", {"web_form": _active_form(slug)}, status=413)
    )


@body_limit(_max_body_bytes, refuse=_refuse_too_large)
@xframe_options_exempt
@ensure_csrf_cookie
@never_cache
def web_form(request, slug):
    web_form = _active_form(slug)
    status = 200
    if request.method == "POST":
        if _rate_limited(web_form, request):
            return _frame_headers(render(request, "pipeline/web_form_refused.html", {"web_form": web_form}, status=429))
        form = PublicLeadForm(request.POST, web_form=web_form)
        if form.is_spam:
            logger.info("web form honeypot filled", extra={"web_form": web_form.pk})
            return _frame_headers(render(request, "pipeline/web_form_thanks.html", {"web_form": web_form}))
        if form.is_valid():
            try:
                web_form_submit(
                    web_form=web_form,
                    data=form.lead_data(),
                    lead_url_builder=lambda path: absolute_url(path, request),
                    origin=form.cleaned_data.get("origin", ""),
                )
            except ValidationError as error:
                form.add_error(None, ValidationError(error.messages))
            else:
                return _frame_headers(render(request, "pipeline/web_form_thanks.html", {"web_form": web_form}))
        status = 400
    elif request.method in ("GET", "HEAD"):
        origin = request.GET.get("origin", "")
        form = PublicLeadForm(web_form=web_form, initial={"origin": origin[:200] if isinstance(origin, str) else ""})
    else:
        return _frame_headers(render(request, "pipeline/web_form_refused.html", {"web_form": web_form}, status=405))
    return _frame_headers(
        render(request, "pipeline/web_form.html", {"web_form": web_form, "form": form}, status=status)
    )
