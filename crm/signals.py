"""Audit registration of the core models and sign-in events."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from crm import signin
from crm.audit import audit_register, log_sign_in, log_sign_in_failure, log_sign_out
from crm.models import RoleSecurity, Team, TeamMembership, User

# The password hash never reaches the log; last_login changes on every sign-in, which is
# recorded as its own event below.
audit_register(User, exclude_fields=["password", "last_login"], m2m_fields={"groups"})
audit_register(Team)
audit_register(TeamMembership)
audit_register(RoleSecurity)


@receiver(user_logged_in, dispatch_uid="crm_audit_login")
def audit_login(sender, request, user, **kwargs):
    log_sign_in(user=user, request=request)
    if request is not None and hasattr(request, "session"):
        signin.record_sign_in(request, user)


@receiver(user_logged_out, dispatch_uid="crm_audit_logout")
def audit_logout(sender, request, user, **kwargs):
    log_sign_out(user=user, request=request)
    if request is not None and hasattr(request, "session"):
        signin.forget_session(request.session.session_key)


# --- sessions that must end ----------------------------------------------------------------------


@receiver(pre_save, sender=User, dispatch_uid="crm_end_sessions_on_password_or_deactivation")
def end_sessions_on_password_or_deactivation(sender, instance, update_fields=None, raw=False, **kwargs):
    """A new password or a deactivated account ends the user's other sessions."""
    if raw or not instance.pk or (update_fields is not None and not {"password", "is_active"} & set(update_fields)):
        return
    before = User.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is None:
        return
    if not instance.is_active and before["is_active"]:
        signin.end_other_sessions(instance, reason="deactivated")
    elif before["password"] != instance.password:
        signin.end_other_sessions(instance, reason="password changed")


@receiver([post_save, post_delete], sender=RoleSecurity, dispatch_uid="crm_forget_network_rules")
def forget_network_rules(sender, **kwargs):
    # Now for this request, and again after commit in case another request cached the old rule
    # between the two.
    signin.forget_role_rules()
    transaction.on_commit(signin.forget_role_rules)


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="crm_forget_network_rules_of_users")
def forget_network_rules_of_users(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        signin.forget_role_rules([instance])
    elif pk_set:
        signin.forget_role_rules(list(User.objects.filter(pk__in=pk_set).only("pk", "date_joined")))
    else:
        signin.forget_role_rules()


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="crm_end_sessions_on_role_loss")
def end_sessions_on_role_loss(sender, instance, action, reverse, pk_set, **kwargs):
    """Losing a role ends the user's sessions: pages already open must not keep its rights."""
    if action not in ("post_remove", "pre_clear"):
        return
    if not reverse:
        users = [instance] if action == "pre_clear" or pk_set else []
    elif action == "pre_clear":
        users = list(instance.user_set.all())
    else:
        users = list(User.objects.filter(pk__in=pk_set or []))
    for user in users:
        signin.end_other_sessions(user, reason="role removed")


@receiver(user_login_failed, dispatch_uid="crm_audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    # Only the username is read; whatever else the form sent (the password) is never touched.
    username = credentials.get(User.USERNAME_FIELD) or credentials.get("username") or ""
    log_sign_in_failure(username=username, request=request)
