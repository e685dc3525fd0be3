"""Sign-in rules: the networks each role may sign in from, the absolute lifetime of a session,
and the signed-in sessions a user sees and ends ("where you are signed in").

- Networks: `RoleSecurity.networks` of each of the user's roles. A user with several
  restricted roles must be inside a network of every one of them. The address is
  `crm.network.client_address` (proxy-aware), and an address that cannot be read fails closed.
  Checked when the password is accepted (the sign-in form says why it refuses) and again on
  every request, so a session cannot follow its user out of the office.
- Sessions: each sign-in records a `UserSession` (address, browser, last seen). Ending one
  deletes it from the session store, so its browser is anonymous at its next request.
  Changing the password, losing a role or being deactivated ends the user's other sessions
  (crm/signals.py); a session also ends SESSION_ABSOLUTE_TIMEOUT seconds after sign-in,
  however active it is (the idle timeout is crm.middleware.SessionIdleTimeoutMiddleware).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm.audit import EVENT_SESSION_ENDED, EVENT_SIGN_IN_REFUSED, log_event
from crm.cache import bump, forget_user, per_user
from crm.logging import request_context
from crm.middleware import sign_out_to_login
from crm.models import RoleSecurity, User, UserSession
from crm.network import client_address

logger = logging.getLogger(__name__)

SESSION_STARTED = "_crm_signed_in_at"
LAST_SEEN_RESOLUTION = 60  # seconds: a session's record is written at most once a minute


# --- networks ---------------------------------------------------------------------------------------


def parse_networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks of a RoleSecurity.networks text (one per line; "#" starts a comment).
    Raises ValidationError naming the lines that are no address or range."""
    networks, bad = [], []
    for line in (text or "").splitlines():
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            bad.append(value[:50])
    if bad:
        raise ValidationError(
            _("Not an address or range: %(values)s. Write one per line, e.g. 10.20.0.0/16 or 192.168.1.7.")
            % {"values": ", ".join(bad)}
        )
    return networks


RULES_GENERATION = "signin:rules"  # bumped when any role's rule changes (crm/signals.py)
_RULES_NAME = "signin:rules:user"
RULES_TIMEOUT = 5 * 60


def _rules_from_database(user) -> list[dict]:
    rows = RoleSecurity.objects.filter(role__user=user).exclude(networks="").values("role__name", "networks")
    return [{"name": row["role__name"], "networks": row["networks"]} for row in rows]


def role_rules(user) -> list[dict]:
    """The network rules of the user's roles ([{"name", "networks"}]), from the cache (no query
    per request) until a rule or the user's roles change: the change applies at the next request."""
    rules = getattr(user, "_crm_role_rules", None)
    if rules is None:
        rules = per_user(
            user, _RULES_NAME, lambda: _rules_from_database(user), generation=RULES_GENERATION, timeout=RULES_TIMEOUT
        )
        user._crm_role_rules = rules
    return rules


def forget_role_rules(users=None) -> None:
    """After a rule changed (everyone) or some users' roles changed (those users)."""
    if users is None:
        bump(RULES_GENERATION)
    else:
        forget_user(users, _RULES_NAME)


def network_problem(user, address: str | None) -> str:
    """Why `user` may not work from `address`; empty when they may."""
    from crm.roles import role_label

    for rule in role_rules(user):
        if not rule["networks"].strip():
            continue
        try:
            networks = parse_networks(rule["networks"])
            ip = ipaddress.ip_address(address or "")
        except (ValueError, ValidationError):
            networks, ip = [], None  # an unreadable rule or address refuses: fail closed
        if ip is None or not any(ip in network for network in networks):
            return _(
                "%(role)s may sign in only from the networks the administrator allowed, and %(address)s "
                "is not one of them. Connect from the office network (or its VPN) and try again."
            ) % {"role": role_label(rule["name"]), "address": address or _("your address")}
    return ""


def check_sign_in_allowed(user, request) -> None:
    """For the sign-in form, once the password is right: refuse (and audit) a sign-in from a
    network the user's roles may not use."""
    address = client_address(request)
    problem = network_problem(user, address)
    if problem:
        log_event(user, actor=user, event=EVENT_SIGN_IN_REFUSED, remote_addr=address)
        raise ValidationError(problem, code="network")


# --- sessions ---------------------------------------------------------------------------------------


def _store(session_key: str):
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def _browser(user_agent: str) -> str:
    return (user_agent or "")[:300]


def record_sign_in(request, user) -> None:
    """Called when `user` has signed in through `request` (crm/signals.py)."""
    session = request.session
    session[SESSION_STARTED] = int(time.time())
    if not session.session_key:
        session.save()
    UserSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={
            "user": user,
            "last_seen": timezone.now(),
            "ip_address": client_address(request),
            "user_agent": _browser(request.headers.get("User-Agent", "")),
        },
    )


def forget_session(session_key: str | None) -> None:
    """On sign-out: the session is gone, so is its record."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def end_sessions(user: User, *, actor=None, keep: str | None = None, only: str | None = None, reason: str = "") -> int:
    """End the user's signed-in sessions (all, all but `keep`, or the one `only`): each is deleted
    from the session store, so its browser is signed out at its next request. Audited."""
    records = UserSession.objects.filter(user=user)
    if keep:
        records = records.exclude(session_key=keep)
    if only:
        records = records.filter(session_key=only)
    keys = list(records.values_list("session_key", flat=True))
    for key in keys:
        _store(key).delete()
    UserSession.objects.filter(session_key__in=keys).delete()
    if keys:
        changes = {"sessions": ["", str(len(keys))], "reason": ["", reason]}
        log_event(user, actor=actor, event=EVENT_SESSION_ENDED, changes=changes)
    return len(keys)


def end_other_sessions(user: User, *, reason: str) -> None:
    """End the user's sessions but the one making the change (when the user changes their own
    password: Django keeps that one under a new key), at once: a change rolled back afterwards
    costs a sign-in, a session left open after a lost role would cost more."""
    context = request_context.get(None) or {}
    keep = context.get("session_key") if context.get("user_id") == user.pk else None
    end_sessions(user, keep=keep, reason=reason)


def current_session_key(request) -> str | None:
    return getattr(request.session, "session_key", None)


def session_renamed(old_key: str | None, new_key: str | None) -> None:
    """Django gave the session a new key (after a password change): its record follows."""
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def browser_name(user_agent: str) -> str:
    """ "Chrome on Windows" from a User-Agent header, or the header's start when unknown."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or (user_agent[:60] or _("Unknown browser"))


# --- the middleware ----------------------------------------------------------------------------------


class SignInPolicyMiddleware:
    """For a signed-in request: end a session past its absolute lifetime, or used from a network
    the user's roles may not use, or ended elsewhere; keep the session's record up to date.

    After SessionIdleTimeoutMiddleware (it shares its way of signing out)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response = self._check(request, user)
            if response is not None:
                return response
        return self.get_response(request)

    def _check(self, request, user):
        session = request.session
        now = int(time.time())
        context = request_context.get(None)
        if context is not None:
            context["session_key"] = session.session_key
        started = session.get(SESSION_STARTED)
        if started is None:  # signed in before sessions were recorded: start counting now
            session[SESSION_STARTED] = started = now
        if now - started > settings.SESSION_ABSOLUTE_TIMEOUT:
            hours = max(1, settings.SESSION_ABSOLUTE_TIMEOUT // 3600)
            message = ngettext(
                "For your security, a session lasts at most %(hours)d hour. Sign in again.",
                "For your security, a session lasts at most %(hours)d hours. Sign in again.",
                hours,
            ) % {"hours": hours}
            return self._end(request, user, message, reason="absolute timeout")
        address = client_address(request)
        problem = network_problem(user, address)
        if problem:
            log_event(user, actor=user, event=EVENT_SIGN_IN_REFUSED, remote_addr=address)
            return self._end(request, user, problem, reason="network")
        seen = session.get("_crm_record_seen", 0)
        if now - seen > LAST_SEEN_RESOLUTION and session.session_key:
            session["_crm_record_seen"] = now
            updated = UserSession.objects.filter(session_key=session.session_key).update(
                last_seen=timezone.now(), ip_address=address
            )
            if not updated:
                record_sign_in(request, user)  # signed in before records were kept
        return None

    def _end(self, request, user, message, *, reason):
        key = current_session_key(request)
        response = sign_out_to_login(request, message)
        forget_session(key)
        logger.info("session of user %s ended: %s", user.pk, reason)
        return response


def _ended() -> Q:
    """Records of sessions that can no longer be used: past their lifetime, or idle too long
    (last_seen is written once a minute, hence the extra minute)."""
    now = timezone.now()
    idle = timedelta(seconds=settings.SESSION_IDLE_TIMEOUT + LAST_SEEN_RESOLUTION)
    return Q(created_at__lt=now - timedelta(seconds=settings.SESSION_ABSOLUTE_TIMEOUT)) | Q(last_seen__lt=now - idle)


def live_sessions(queryset):
    """`queryset` (UserSession) without the sessions that have ended by time."""
    return queryset.exclude(_ended())


def ended_sessions_purge() -> int:
    """Delete the records of sessions that ended by time (the nightly session purge calls it)."""
    deleted, _details = UserSession.objects.filter(_ended()).delete()
    return deleted
