"""Pages for customers, without signing in: the public request form; a ticket's status page (its
public conversation and a reply box) and the rating page, each opened by a signed link that
names one ticket; and the attachment download for staff."""

from __future__ import annotations

import logging

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from crm.forms import style_form
from crm.middleware import body_limit
from crm.public_forms import HONEYPOT, Honeypot, frame_headers, max_body_bytes, over_rate_limit
from tickets import intake, services
from tickets.attachments import ACTIVE_TYPES
from tickets.models import Ticket
from tickets.selectors import attachment_for, conversation

logger = logging.getLogger(__name__)


class CustomerReplyForm(forms.Form):
    body = forms.CharField(label=_("Your message"), max_length=20000, widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


class FeedbackForm(forms.Form):
    score = forms.TypedChoiceField(
        label=_("Your rating"),
        coerce=int,
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything to add? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style_form(self)


def _private(response):
    # A page opened by a secret link: kept out of shared caches, search engines and referrers.
    patch_cache_control(response, private=True, no_store=True)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "same-origin"  # no-referrer would make its own form posts Origin: null
    return response


@require_http_methods(["GET", "HEAD", "POST"])
def status(request, token):
    ticket = intake.ticket_for_status(token)
    if ticket is None:
        raise Http404
    form = CustomerReplyForm(request.POST or None)
    code = 200
    if request.method == "POST":
        if ticket.status == Ticket.Status.CLOSED:
            form.add_error(None, _("This ticket is closed. Write to us again to open a new one."))
        elif form.is_valid():
            try:
                services.customer_message(
                    ticket=ticket, body=form.cleaned_data["body"], author_name=str(ticket.contact or "")
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return redirect(request.path + "?sent=1")
        code = 400
    context = {
        "ticket": ticket,
        "messages_": conversation(ticket=ticket, staff=False),
        "form": form if ticket.status != Ticket.Status.CLOSED else None,
        "sent": request.GET.get("sent") == "1",
    }
    return _private(render(request, "tickets/status.html", context, status=code))


@require_http_methods(["GET", "HEAD", "POST"])
def feedback(request, token):
    ticket = intake.ticket_for_feedback(token)
    if ticket is None:
        raise Http404
    initial = {}
    if request.GET.get("score", "") in {"1", "2", "3", "4", "5"}:
        initial["score"] = int(request.GET["score"])
    form = FeedbackForm(request.POST or None, initial=initial)
    code = 200
    done = ticket.csat_score is not None
    if request.method == "POST" and not done:
        if form.is_valid():
            done = intake.record_feedback(
                ticket=ticket, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
            )
            ticket.refresh_from_db()
        else:
            code = 400
    context = {"ticket": ticket, "form": form, "done": done}
    return _private(render(request, "tickets/feedback.html", context, status=code))


@login_required
def attachment_download(request, pk, token):
    """A file of a ticket the user may see, always as a download: a sent HTML or SVG file never
    runs in the CRM's origin (`Content-Disposition: attachment`, `nosniff`, a sandbox CSP)."""
    attachment = attachment_for(user=request.user, pk=pk, token=token)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, OSError):
        logger.warning("attachment %s: file missing", attachment.pk)
        raise Http404 from None
    content_type = attachment.content_type
    if content_type in ACTIVE_TYPES or not content_type:
        content_type = "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, filename=attachment.filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    patch_cache_control(response, private=True, no_store=True)
    return response


class RequestForm(Honeypot, forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=100)
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(
        label=_("How can we help?"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6, "maxlength": 5000})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(["name", "email", "subject", "description", HONEYPOT])
        style_form(self)


def _refuse_too_large(request):
    return frame_headers(render(request, "tickets/request_refused.html", status=413))


@body_limit(max_body_bytes, refuse=_refuse_too_large)
@xframe_options_exempt
@ensure_csrf_cookie
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def request_form(request):
    """The public service request form: no sign-in, spam-safe like the web-to-lead form
    (crm/public_forms.py), embeddable on the company's site."""
    code = 200
    form = RequestForm(request.POST or None)
    if request.method == "POST":
        if over_rate_limit(request, "ticket-request"):
            return frame_headers(render(request, "tickets/request_refused.html", status=429))
        if form.is_spam:
            logger.info("service request honeypot filled")
            return frame_headers(render(request, "tickets/request_thanks.html", {"number": ""}))
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != HONEYPOT}
            try:
                ticket = intake.web_request(**data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                return frame_headers(render(request, "tickets/request_thanks.html", {"number": ticket.number}))
        code = 400
    return frame_headers(render(request, "tickets/request_form.html", {"form": form}, status=code))
