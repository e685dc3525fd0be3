"""Sign-in with the company directory (LDAP / Active Directory).

`DirectoryBackend` checks a password against the directory and brings the account up to date
at every sign-in: names and e-mail, roles and team memberships from the mapped directory
groups, and whether the directory has disabled the account. `DirectoryCheckMiddleware` asks the
directory again every LDAP_RECHECK_SECONDS and signs out a user it has disabled or removed.

Local accounts (no `directory_dn`) are never looked up in the directory and never changed by
it, so administrators keep a way in whatever the directory does. Settings: docs/directory.md.
"""

from __future__ import annotations

import logging
import re
import time
from enum import Enum

import ldap
import ldap.dn
import ldap.filter
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage import default_storage
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.utils.translation import gettext as _
from django_auth_ldap.backend import LDAPBackend, ldap_error, populate_user
from django_auth_ldap.config import (
    ActiveDirectoryGroupType,
    GroupOfNamesType,
    GroupOfUniqueNamesType,
    LDAPSearch,
    LDAPSettings,
    NestedActiveDirectoryGroupType,
    PosixGroupType,
)
from django_htmx.http import HttpResponseClientRedirect

from crm import roles
from crm.models import Team, TeamMembership
from crm.services import team_create, team_remove_member, team_set_member

logger = logging.getLogger(__name__)

# When the signed-in user was last found active in the directory (seconds since the epoch).
SESSION_CHECKED_AT = "_crm_directory_checked_at"

# LDAP_GROUP_TYPE -> (how membership is stored, which entries are groups).
GROUP_TYPES = {
    "ad": (ActiveDirectoryGroupType, "(objectClass=group)"),
    "ad-nested": (NestedActiveDirectoryGroupType, "(objectClass=group)"),
    "groupofnames": (GroupOfNamesType, "(objectClass=groupOfNames)"),
    "groupofuniquenames": (GroupOfUniqueNamesType, "(objectClass=groupOfUniqueNames)"),
    "posix": (PosixGroupType, "(objectClass=posixGroup)"),
}
# Attributes read from a user's entry: names and e-mail, and the login names posix groups list.
USER_ATTRIBUTES = ["givenName", "sn", "mail", "uid", "sAMAccountName", "gidNumber"]
# Active Directory refuses the bind of a disabled (533) or expired (701) account with these codes,
# and only when the password was right (a wrong one answers 52e whatever the account's state).
_AD_REFUSED_ACCOUNT = re.compile(r"\bdata (533|701)\b")


class DirectoryRefusal(ValidationError):
    """Raised by the backend during sign-in; the sign-in form shows it as the form's error."""


class DirectoryAccountDisabled(DirectoryRefusal):
    def __init__(self):
        super().__init__(
            _("Your account is disabled in the company directory. Ask your IT administrator to enable it."),
            code="directory_disabled",
        )


class DirectoryUnavailable(DirectoryRefusal):
    def __init__(self):
        super().__init__(
            _(
                "The company directory is not answering, so directory accounts cannot sign in right now. "
                "Please try again in a few minutes."
            ),
            code="directory_unavailable",
        )


class AccountState(Enum):
    ACTIVE = "active"
    DISABLED = "disabled"
    GONE = "gone"


def normalize_dn(dn: str) -> str:
    """One spelling per DN ("CN=Sales, OU=Groups" == "cn=sales,ou=groups"), to compare group DNs."""
    try:
        return ldap.dn.dn2str(ldap.dn.str2dn(dn.strip())).lower()
    except ldap.DECODING_ERROR:
        return dn.strip().lower()


def refused_as_disabled(error: BaseException | None) -> bool:
    """Whether a refused bind is Active Directory saying "right password, account disabled"."""
    if not isinstance(error, ldap.INVALID_CREDENTIALS) or not error.args or not isinstance(error.args[0], dict):
        return False
    return bool(_AD_REFUSED_ACCOUNT.search(str(error.args[0].get("info", ""))))


def is_directory_enabled() -> bool:
    return bool(getattr(settings, "LDAP_SERVER_URI", ""))


class DirectoryBackend(LDAPBackend):
    """django-auth-ldap configured from the LDAP_* settings, for directory accounts only.

    Permissions still come from ModelBackend: roles are Django groups this backend keeps in step.
    """

    @property
    def settings(self) -> LDAPSettings:
        if self._settings is None:
            self._settings = _ldap_settings()
        return self._settings

    @settings.setter
    def settings(self, value):
        self._settings = value

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not is_directory_enabled() or not username:
            return None
        # A local account keeps its own password, roles and teams: the directory is not asked.
        if get_user_model().objects.filter(username__iexact=username.strip(), directory_dn="").exists():
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def authenticate_ldap_user(self, ldap_user, password):
        # The steps of django-auth-ldap's `_LDAPUser.authenticate` (5.4), taken one by one so
        # that a refused bind can be told apart from a disabled account or a silent directory.
        try:
            try:
                ldap_user._authenticate_user_dn(password)
            except ldap_user.AuthenticationFailed as failure:
                if refused_as_disabled(failure.__context__):
                    _deactivate(self.ldap_to_django_username(ldap_user._username))
                    raise DirectoryAccountDisabled() from None
                return None
            try:
                ldap_user._get_or_create_user()
            except ldap_user.AuthenticationFailed:
                return None
            user = ldap_user._user
            if not user.is_active:
                raise DirectoryAccountDisabled()
            if settings.LDAP_ROLE_GROUPS or settings.LDAP_TEAM_GROUPS:
                apply_directory_groups(user, {normalize_dn(dn) for dn in ldap_user.group_dns})
        except ldap.LDAPError as error:
            logger.warning("The directory could not be asked about %r: %s", ldap_user._username, error)
            raise DirectoryUnavailable() from error
        return user

    def get_or_build_user(self, username, ldap_user):
        user, built = super().get_or_build_user(username, ldap_user)
        if not built and not user.directory_dn:
            raise ldap_user.AuthenticationFailed("a local account has this username")
        return user, built

    def get_user(self, user_id):
        # Unlike django-auth-ldap's, a deactivated account's sessions stop working at once.
        user = get_user_model()._default_manager.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None

    # Permissions come from the roles (Django groups) through ModelBackend, not from here.
    def get_all_permissions(self, user, obj=None):
        return set()

    def get_group_permissions(self, user, obj=None):
        return set()

    def has_perm(self, user, perm, obj=None):
        return False

    def has_module_perms(self, user, app_label):
        return False

    def connect(self):
        """A connection bound as the service account (LDAP_BIND_DN)."""
        options = self.settings
        connection = ldap.initialize(options.SERVER_URI, bytes_mode=False)
        for option, value in options.CONNECTION_OPTIONS.items():
            connection.set_option(option, value)
        if options.START_TLS:
            connection.start_tls_s()
        connection.simple_bind_s(options.BIND_DN, options.BIND_PASSWORD)
        return connection

    def account_state(self, username: str) -> AccountState:
        """Whether the directory still has this account and it is enabled. Raises ldap.LDAPError
        when the directory cannot be asked."""
        connection = self.connect()
        try:
            login = ldap.filter.escape_filter_chars(self.django_to_ldap_username(username))
            found = connection.search_s(
                settings.LDAP_USER_BASE, ldap.SCOPE_SUBTREE, settings.LDAP_USER_FILTER % {"user": login}, ["1.1"]
            )
            entries = [dn for dn, _attrs in found if dn]
            if len(entries) != 1:
                return AccountState.GONE
            return AccountState.DISABLED if _is_disabled(connection, entries[0]) else AccountState.ACTIVE
        finally:
            connection.unbind_s()


def _ldap_settings() -> LDAPSettings:
    timeout = float(settings.LDAP_TIMEOUT)
    options = {ldap.OPT_REFERRALS: 0, ldap.OPT_NETWORK_TIMEOUT: timeout, ldap.OPT_TIMEOUT: timeout}
    if settings.LDAP_CA_FILE:
        options[ldap.OPT_X_TLS_REQUIRE_CERT] = ldap.OPT_X_TLS_DEMAND
        options[ldap.OPT_X_TLS_CACERTFILE] = settings.LDAP_CA_FILE
        options[ldap.OPT_X_TLS_NEWCTX] = 0  # last: applies the TLS options above
    group_type, group_filter = GROUP_TYPES[settings.LDAP_GROUP_TYPE.lower()]
    return LDAPSettings(
        # No AUTH_LDAP_* settings: everything comes from the LDAP_* ones.
        prefix="CRM_DIRECTORY_",
        defaults={
            "SERVER_URI": settings.LDAP_SERVER_URI,
            "START_TLS": settings.LDAP_START_TLS,
            "CONNECTION_OPTIONS": options,
            "BIND_DN": settings.LDAP_BIND_DN,
            "BIND_PASSWORD": settings.LDAP_BIND_PASSWORD,
            "USER_SEARCH": LDAPSearch(
                settings.LDAP_USER_BASE, ldap.SCOPE_SUBTREE, settings.LDAP_USER_FILTER, USER_ATTRIBUTES
            ),
            "USER_ATTRLIST": USER_ATTRIBUTES,
            "USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
            "ALWAYS_UPDATE_USER": True,
            "GROUP_SEARCH": LDAPSearch(settings.LDAP_GROUP_BASE, ldap.SCOPE_SUBTREE, group_filter),
            "GROUP_TYPE": group_type(),
        },
    )


def _is_disabled(connection, dn: str) -> bool:
    if not settings.LDAP_DISABLED_FILTER:
        return False
    found = connection.search_s(dn, ldap.SCOPE_BASE, f"(&(objectClass=*){settings.LDAP_DISABLED_FILTER})", ["1.1"])
    return any(entry_dn for entry_dn, _attrs in found)


def _deactivate(username: str) -> None:
    """Mark a directory account inactive here too, which ends its sessions (crm.signals)."""
    user = get_user_model().objects.filter(username__iexact=username).exclude(directory_dn="").first()
    if user is not None and user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])


@receiver(populate_user, sender=DirectoryBackend, dispatch_uid="crm_directory_populate_user")
def _populate_from_directory(sender, user, ldap_user, **kwargs):
    """Runs at each directory sign-in, before the account is saved."""
    for field in ("first_name", "last_name", "email"):
        limit = user._meta.get_field(field).max_length
        setattr(user, field, (getattr(user, field) or "")[:limit])
    user.directory_dn = ldap_user.dn
    if user.has_usable_password():
        user.set_unusable_password()
    user.is_superuser = False
    user.is_active = not _is_disabled(ldap_user.connection, ldap_user.dn)


@receiver(ldap_error, dispatch_uid="crm_directory_unavailable")
def _refuse_when_unavailable(sender, context, exception, **kwargs):
    """django-auth-ldap logs a failed user search and answers "wrong password"; a directory
    that cannot be asked must not count as a failed attempt (lockout) nor look like one."""
    if isinstance(sender, type) and issubclass(sender, DirectoryBackend) and context == "search_for_user_dn":
        raise DirectoryUnavailable() from exception


@transaction.atomic
def apply_directory_groups(user, group_dns: set[str]) -> None:
    """Give a directory user the roles and teams their directory groups map to, and take away
    the others. A mapping left empty (no LDAP_ROLE_GROUPS or LDAP_TEAM_GROUPS) is managed here
    by hand instead. Changes go through the groups relation, so the audit trail records them."""
    if settings.LDAP_ROLE_GROUPS:
        wanted = {role for role, dn in settings.LDAP_ROLE_GROUPS if normalize_dn(dn) in group_dns}
        role_groups = {group.name: group for group in Group.objects.filter(name__in=roles.ROLES)}
        current = {group.name for group in user.groups.all() if group.name in role_groups}
        if current - wanted:
            user.groups.remove(*(role_groups[name] for name in current - wanted))
        if wanted - current:
            user.groups.add(*(role_groups[name] for name in wanted - current if name in role_groups))
        staff = roles.ADMINISTRATOR in wanted  # the admin site configures; administrators use it
        if user.is_staff != staff:
            user.is_staff = staff
            user.save(update_fields=["is_staff"])
    if settings.LDAP_TEAM_GROUPS:
        wanted_teams: dict[str, str] = {}
        for name, role, dn in settings.LDAP_TEAM_GROUPS:
            if normalize_dn(dn) in group_dns and wanted_teams.get(name) != TeamMembership.Role.MANAGER:
                wanted_teams[name] = role
        memberships = {m.team.name: m for m in user.memberships.select_related("team")}
        for name, membership in memberships.items():
            if name not in wanted_teams:
                team_remove_member(team=membership.team, user=user)
        for name, role in wanted_teams.items():
            membership = memberships.get(name)
            if membership is not None and membership.role == role:
                continue
            team = Team.objects.filter(name=name).first() or team_create(name=name)
            team_set_member(team=team, user=user, role=role)


@receiver(user_logged_in, dispatch_uid="crm_directory_checked_at_sign_in")
def _checked_at_sign_in(sender, request, user, **kwargs):
    # The directory has just said yes; the next check is due one interval from now.
    if getattr(user, "directory_dn", "") and request is not None and hasattr(request, "session"):
        request.session[SESSION_CHECKED_AT] = time.time()


class DirectoryCheckMiddleware:
    """Sign out a directory user once the directory has disabled or removed their account.

    The directory is asked at most every LDAP_RECHECK_SECONDS per session (0: every request).
    When it cannot be asked, the session goes on and a warning is logged: an outage of the
    directory must not sign out everyone, and nobody new can sign in with it meanwhile.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if is_directory_enabled() and user is not None and user.is_authenticated and user.directory_dn:
            refusal = self._check(request, user)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    def _check(self, request, user) -> HttpResponse | None:
        now = time.time()
        checked_at = request.session.get(SESSION_CHECKED_AT)
        interval = settings.LDAP_RECHECK_SECONDS
        if isinstance(checked_at, (int, float)) and interval > 0 and 0 <= now - checked_at < interval:
            return None
        try:
            state = DirectoryBackend().account_state(user.get_username())
        except ldap.LDAPError as error:
            logger.warning(
                "The directory could not be asked whether %s may stay signed in; keeping the session: %s",
                user.get_username(),
                error,
            )
            request.session[SESSION_CHECKED_AT] = now  # ask again after an interval, not on every request
            return None
        if state is AccountState.ACTIVE:
            request.session[SESSION_CHECKED_AT] = now
            return None
        logger.info("Signing out %s: the directory says the account is %s", user.get_username(), state.value)
        _deactivate(user.get_username())
        return self._sign_out(request)

    def _sign_out(self, request) -> HttpResponse:
        htmx = request.headers.get("HX-Request") == "true"
        back_to = request.get_full_path() if request.method in ("GET", "HEAD") and not htmx else None
        logout(request)
        # This runs before MessageMiddleware, so the message is stored here and now.
        storage = getattr(request, "_messages", None)
        own_storage = storage is None
        if own_storage:
            storage = default_storage(request)
        storage.add(messages.WARNING, _("Your directory account is no longer active, so you were signed out."))
        login = redirect_to_login(back_to or resolve_url(settings.LOGIN_REDIRECT_URL))
        response = HttpResponseClientRedirect(login.url) if htmx else login
        if own_storage:
            storage.update(response)
        return response
