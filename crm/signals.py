"""Audit registration of the core models and sign-in events."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from crm.audit import audit_register, log_sign_in, log_sign_in_failure, log_sign_out
from crm.models import Team, TeamMembership, User

# The password hash never reaches the log; last_login changes on every sign-in, which is
# recorded as its own event below.
audit_register(User, exclude_fields=["password", "last_login"], m2m_fields={"groups"})
audit_register(Team)
audit_register(TeamMembership)


@receiver(user_logged_in, dispatch_uid="crm_audit_login")
def audit_login(sender, request, user, **kwargs):
    log_sign_in(user=user, request=request)


@receiver(user_logged_out, dispatch_uid="crm_audit_logout")
def audit_logout(sender, request, user, **kwargs):
    log_sign_out(user=user, request=request)


@receiver(user_login_failed, dispatch_uid="crm_audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    # Only the username is read; whatever else the form sent (the password) is never touched.
    username = credentials.get(User.USERNAME_FIELD) or credentials.get("username") or ""
    log_sign_in_failure(username=username, request=request)
