import time
import uuid

from auditlog.context import auditlog_value
from auditlog.middleware import AuditlogMiddleware
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _

from crm.audit import remote_addr_of
from crm.logging import request_context

SESSION_LAST_SEEN = "_crm_last_seen"


class RequestIdMiddleware:
    """Give every request an id (or keep the proxy's), bind it to log lines and echo it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.id = incoming[:64] if incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        token = request_context.set({"request_id": request.id, "user_id": None})
        try:
            response = self.get_response(request)
        finally:
            request_context.reset(token)
        response["X-Request-ID"] = request.id
        return response


class SessionIdleTimeoutMiddleware:
    """Sign out a user who has been idle longer than SESSION_IDLE_TIMEOUT seconds."""

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
                logout(request)
                messages.info(request, _("You were signed out after a period of inactivity."))
                if request.htmx:
                    response = self.get_response(request)
                    response["HX-Redirect"] = settings.LOGIN_URL
                    return response
                return redirect(f"{redirect(settings.LOGIN_URL).url}?next={request.get_full_path()}")
            # Writing the session on every request is wasteful; a minute's resolution is enough.
            if last_seen is None or now - last_seen > 60:
                request.session[SESSION_LAST_SEEN] = now
        return self.get_response(request)


class UserLanguageMiddleware:
    """Use the language the user chose in their profile, over the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
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
        return remote_addr_of(request)

    @staticmethod
    def _get_remote_port(request):
        return None

    def __call__(self, request):
        token = auditlog_value.set({})
        try:
            return super().__call__(request)
        finally:
            auditlog_value.reset(token)
