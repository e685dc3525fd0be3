import re
import time
import uuid

from auditlog.context import auditlog_value
from auditlog.middleware import AuditlogMiddleware
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.utils import translation
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from crm.logging import request_context
from crm.network import client_address

SESSION_LAST_SEEN = "_crm_last_seen"
# A proxy's request id is kept only when it is plain ASCII, so it cannot smuggle text into logs.
_INCOMING_REQUEST_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


class RequestIdMiddleware:
    """Give every request an id (or keep the proxy's), bind it to log lines and echo it back.

    The binding lasts until the response is closed, not just until this middleware returns:
    Django logs 4xx and 5xx responses ("Not Found: /x") after the whole middleware chain.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.id = incoming if _INCOMING_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        request_context.set({"request_id": request.id, "user_id": None})
        response = self.get_response(request)
        response["X-Request-ID"] = request.id
        return response


@receiver(request_finished, dispatch_uid="crm.middleware.forget_request_context")
def _forget_request_context(**kwargs):
    request_context.set(None)


class SessionIdleTimeoutMiddleware:
    """Sign out a user who has been idle longer than SESSION_IDLE_TIMEOUT seconds.

    Also binds the user's id to log lines. It must come after MessageMiddleware (it leaves a
    message for the sign-in page) and HtmxMiddleware (htmx requests get an HX-Redirect).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            context = request_context.get(None)
            if context is not None:
                context["user_id"] = user.pk
            now = int(time.time())
            last_seen = request.session.get(SESSION_LAST_SEEN)
            if last_seen is not None and now - last_seen > settings.SESSION_IDLE_TIMEOUT:
                return self._sign_out(request)
            # Writing the session on every request is wasteful; a minute's resolution is enough.
            if last_seen is None or now - last_seen > 60:
                request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)

    def _sign_out(self, request):
        return sign_out_to_login(request, _("You were signed out after a period of inactivity."))


def sign_out_to_login(request, message: str):
    """Sign the user out, say why on the sign-in page, and send them there (htmx: HX-Redirect),
    to come back to the page they were on. The request itself is not served: acting on it would
    run as nobody, or as a half-signed-out user."""
    htmx = getattr(request, "htmx", None)
    # After signing in again, come back to the page, not to the fragment htmx asked for.
    if htmx:
        back_to = htmx.current_url_abs_path or resolve_url(settings.LOGIN_REDIRECT_URL)
    elif request.method in ("GET", "HEAD"):
        back_to = request.get_full_path()
    else:  # a form's action answers POST only; going back there after signing in would fail
        back_to = resolve_url(settings.LOGIN_REDIRECT_URL)
    logout(request)
    messages.info(request, message)
    login = redirect_to_login(back_to)
    if htmx:
        return HttpResponseClientRedirect(login.url)
    return login


class UserLanguageMiddleware:
    """Use the language the user chose in their profile over the browser's, unless they picked
    one with the language switcher (the cookie), which wins until they change the profile."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        switched = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if user is not None and user.is_authenticated and user.language and not switched:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


class AuditContextMiddleware(AuditlogMiddleware):
    """Tie audit entries written during a request to its user and peer address.

    Unlike auditlog's own middleware it trusts no forwarding header (a client can send any
    X-Forwarded-For), and it clears the context after the response, which auditlog leaves
    behind for whatever runs next in the same thread.
    """

    @staticmethod
    def _get_remote_addr(request):
        return client_address(request)

    @staticmethod
    def _get_remote_port(request):
        return None

    def __call__(self, request):
        token = auditlog_value.set({})
        try:
            return super().__call__(request)
        finally:
            auditlog_value.reset(token)


def body_limit(max_bytes, *, refuse=None):
    """Give a view a request-body limit that `BodyLimitMiddleware` enforces before anything reads
    the body (CSRF, form parsing). `max_bytes` is a number or a callable returning one (to read a
    setting per request); `refuse(request, *args, **kwargs)` answers an oversized request (a plain
    413 without it). Apply it outermost, above the view's other decorators."""

    def decorate(view):
        view.max_body_bytes = max_bytes
        view.refuse_body = refuse
        return view

    return decorate


class BodyLimitMiddleware:
    """Answer 413 to a body over its view's `body_limit`, judged by Content-Length alone.

    It must come before CsrfViewMiddleware, whose process_view reads the whole form body. A body
    sent without Content-Length (chunked) is never read by Django, so it cannot slip past."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        limit = getattr(view_func, "max_body_bytes", None)
        if limit is None:
            return None
        limit = limit() if callable(limit) else limit
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = limit + 1  # a length nobody can check is refused, not guessed
        if length <= limit:
            return None
        refuse = getattr(view_func, "refuse_body", None)
        if refuse is None:
            return HttpResponse(_("The request is too large."), status=413, content_type="text/plain; charset=utf-8")
        return refuse(request, *view_args, **view_kwargs)


class CachedRolesMiddleware:
    """The signed-in user's roles, teams and model permissions from the cache rather than four
    queries a request (`crm.permissions.remember_permissions`); the cache forgets them when they
    change (crm.signals)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            from crm.permissions import remember_permissions

            remember_permissions(user)
        return self.get_response(request)


class ReadSharesOnceMiddleware:
    """On a GET or HEAD, what is shared with the user is read once per model and action for the
    whole request (`crm.permissions.shares_held`), not at every `restrict()`: a company page asks
    for the user's shared companies, contacts, deals and tickets in each of its panels. A
    request that only reads cannot change the shares it holds; writes read them afresh."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if request.method in ("GET", "HEAD") and user is not None and user.is_authenticated:
            from crm.permissions import shares_held

            with shares_held(user):
                return self.get_response(request)
        return self.get_response(request)
