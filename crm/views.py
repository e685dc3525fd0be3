import sys

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from crm import signin
from crm.forms import AuditFilterForm, ProfileForm, ShareForm, SignInForm, UnshareForm
from crm.health import health_report
from crm.lists import safe_next
from crm.outbox import BROKER_AWAY
from crm.pagination import keyset_page
from crm.params import BadParameter, QueryParams, parse_id, parse_text
from crm.permissions import can, get_object_for_user
from crm.selectors import (
    audit_entries,
    audit_rows,
    can_view_audit_log,
    own_session,
    record_shares,
    sessions_of,
    shareable_model,
)
from crm.services import record_share, record_unshare

# A service the request needs is restarting or unreachable (PostgreSQL, or Redis as the broker):
# the request gets "try again shortly" (503), not "something went wrong" (500). With
# CONN_HEALTH_CHECKS the next request replaces a dead database connection.
SERVICE_AWAY = (OperationalError, InterfaceError, *BROKER_AWAY)
RETRY_AFTER_SECONDS = 10


@login_required
def home(request):
    return render(request, "crm/home.html", {})


@never_cache
@require_safe
def healthz(request):
    """Unauthenticated status of the database, Redis and Celery for load balancers and monitors."""
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True
    form_class = SignInForm


class PasswordChangeView(auth_views.PasswordChangeView):
    def form_valid(self, form):
        # The other sessions end with the new password (crm/signals.py); this one stays, under
        # the new key Django gives it.
        old_key = self.request.session.session_key
        response = super().form_valid(form)
        signin.session_renamed(old_key, self.request.session.session_key)
        messages.success(self.request, _("Your password was changed. You were signed out everywhere else."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        messages.success(request, _("Your profile was saved."))
        response = redirect("profile")
        if user.language:
            from django.conf import settings

            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                user.language,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response
    return render(request, "crm/profile.html", {"form": form})


@login_required
def signed_in_sessions(request):
    """Where the user is signed in: each browser, from where, last seen; sign out any of them."""
    current = signin.current_session_key(request)
    if request.method == "POST":
        which = request.POST.get("session", "")
        if which == "others":
            count = signin.end_sessions(request.user, actor=request.user, keep=current, reason="signed out elsewhere")
        else:
            try:
                record = own_session(request.user, parse_id(which))
            except BadParameter:
                record = None
            if record is None or record.session_key == current:
                messages.error(request, _("That session is not one of your other sessions any more."))
                return redirect("signed_in_sessions")
            count = signin.end_sessions(request.user, actor=request.user, only=record.session_key, reason="signed out")
        messages.success(
            request,
            ngettext("%(count)d session was signed out.", "%(count)d sessions were signed out.", count)
            % {"count": count},
        )
        return redirect("signed_in_sessions")
    sessions = sessions_of(request.user)
    rows = [
        {"record": s, "current": s.session_key == current, "browser": signin.browser_name(s.user_agent)}
        for s in sessions
    ]
    return render(request, "crm/sessions.html", {"rows": rows, "others": sum(1 for r in rows if not r["current"])})


def _share_context(request, obj, form):
    return {
        "object": obj,
        "model_label": obj._meta.label_lower,
        "shares": record_shares(obj),
        "form": form,
        "can_share": can(request.user, obj, "assign"),
    }


@login_required
def share_dialog(request, model, pk):
    obj = get_object_for_user(request.user, shareable_model(model), pk, "view")
    template = "crm/share.html#dialog" if request.htmx else "crm/share.html"
    return render(request, template, _share_context(request, obj, ShareForm(user=request.user)))


@login_required
@require_POST
def share_add(request, model, pk):
    obj = get_object_for_user(request.user, shareable_model(model), pk, "assign")
    form = ShareForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            record_share(obj=obj, recipient=form.recipient(), level=form.cleaned_data["level"], actor=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Sharing updated."))
            if request.htmx:
                return render(
                    request, "crm/share.html#dialog", _share_context(request, obj, ShareForm(user=request.user))
                )
            return redirect("crm:share", model=model, pk=pk)
    template = "crm/share.html#dialog" if request.htmx else "crm/share.html"
    return render(request, template, _share_context(request, obj, form), status=400)


@login_required
@require_POST
def share_remove(request, model, pk):
    obj = get_object_for_user(request.user, shareable_model(model), pk, "assign")
    form = UnshareForm(request.POST)
    recipient = form.recipient() if form.is_valid() else None
    if recipient is None:
        messages.error(request, _("That share no longer exists."))
    else:
        record_unshare(obj=obj, recipient=recipient, actor=request.user)
        messages.success(request, _("Sharing updated."))
    if request.htmx:
        return render(request, "crm/share.html#dialog", _share_context(request, obj, ShareForm(user=request.user)))
    return redirect(reverse("crm:share", kwargs={"model": model, "pk": pk}))


@login_required
@require_safe
def audit_log(request):
    if not can_view_audit_log(request.user):
        raise PermissionDenied
    form = AuditFilterForm(request.GET)
    params = QueryParams(request)
    page, rows = None, []
    if form.is_valid():
        page = keyset_page(
            audit_entries(user=request.user, filters=form.cleaned_data),
            ordering=("-timestamp", "-id"),
            after=params.cursor("after"),
            before=params.cursor("before"),
            size=settings.PAGE_SIZE,
        )
        rows = audit_rows(page.items, viewer=request.user)
    filters = request.GET.copy()
    for key in ("after", "before"):
        filters.pop(key, None)
    return render(
        request, "crm/audit_log.html", {"form": form, "page": page, "rows": rows, "filters": filters.urlencode()}
    )


def _error_page(request, template, status):
    body = loader.render_to_string(template, {"request_path": request.path}, request)
    return HttpResponse(body, status=status)


def permission_denied(request, exception=None):
    return _error_page(request, "403.html", 403)


def page_not_found(request, exception=None):
    return _error_page(request, "404.html", 404)


def server_error(request):
    # No request context processors here: the failure may be in one of them, or the database.
    if isinstance(sys.exc_info()[1], SERVICE_AWAY):
        return service_unavailable(request)
    body = loader.render_to_string("500.html")
    return HttpResponse(body, status=500)


def service_unavailable(request):
    """503 with Retry-After: the database (or the broker) is restarting; the next try will do."""
    response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def saved_view_create(request):
    from crm.services import saved_view_save

    try:
        saved_view_save(
            user=request.user,
            list_key=request.POST.get("list_key", "")[:100],
            name=request.POST.get("name", "")[:100],
            query=request.POST.get("query", ""),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("View saved."))
    return redirect(safe_next(request, "/"))


@login_required
@require_POST
def saved_view_remove(request, pk):
    from crm.services import saved_view_delete

    if saved_view_delete(user=request.user, pk=pk):
        messages.success(request, _("View deleted."))
    return redirect(safe_next(request, "/"))


@login_required
def global_search(request):
    """The top bar's search: grouped matches as you type (htmx), or a full page without JavaScript."""
    from crm.search import PHONE_SEARCH_REFUSED, phone_search_allowed, search_everything

    query = parse_text(request.GET.get("q"))
    groups, refused = [], ""
    if query and phone_search_allowed(request.user, query, where="search"):
        groups = search_everything(user=request.user, query=query)
    elif query:
        refused = PHONE_SEARCH_REFUSED
    template = "crm/search.html#results" if request.htmx else "crm/search.html"
    response = render(request, template, {"query": query, "groups": groups, "refused": refused})
    response["Vary"] = "HX-Request"
    return response
