"""Audit registration of the core models and sign-in events, and the writes that make cached
answers about a user (roles, teams, permissions, shares, saved views) be forgotten."""

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from crm import signin
from crm.audit import audit_register, log_sign_in, log_sign_in_failure, log_sign_out
from crm.cache import forget_for_members, forget_for_owner, forget_user, now_and_after_commit
from crm.models import RoleSecurity, SavedView, Team, TeamMembership, User
from crm.permissions import forget_all_scopes, forget_scopes, forget_shares, shares_changed

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
    now_and_after_commit(signin.forget_role_rules)


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="crm_forget_network_rules_of_users")
def forget_network_rules_of_users(sender, instance, action, reverse, pk_set, **kwargs):
    forget_for_members(
        instance, action, reverse, pk_set, forget_users=signin.forget_role_rules, forget_all=signin.forget_role_rules
    )


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


# --- cached roles, teams and permissions (crm.permissions) -----------------------------------------


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="crm_forget_scopes_on_roles")
@receiver(m2m_changed, sender=User.user_permissions.through, dispatch_uid="crm_forget_scopes_on_permissions")
def forget_scopes_of_users(sender, instance, action, reverse, pk_set, **kwargs):
    forget_for_members(instance, action, reverse, pk_set, forget_users=forget_scopes, forget_all=forget_all_scopes)


@receiver(m2m_changed, sender=Group.permissions.through, dispatch_uid="crm_forget_scopes_on_role_permissions")
def forget_scopes_on_role_permissions(sender, action, **kwargs):
    if action in ("post_add", "post_remove", "post_clear"):
        now_and_after_commit(forget_all_scopes)


@receiver([post_save, post_delete], sender=Group, dispatch_uid="crm_forget_scopes_on_role")
@receiver(post_delete, sender=Permission, dispatch_uid="crm_forget_scopes_on_permission")
def forget_scopes_on_role(sender, **kwargs):
    now_and_after_commit(forget_all_scopes)


@receiver([post_save, post_delete], sender=TeamMembership, dispatch_uid="crm_forget_scopes_on_membership")
def forget_scopes_on_membership(sender, instance, **kwargs):
    forget_for_owner(instance, forget_scopes)


def _user_share_changed(sender, instance, **kwargs):
    forget_for_owner(instance, forget_shares)


def _group_share_changed(sender, **kwargs):
    now_and_after_commit(shares_changed)


# Every record's share tables (guardian's direct foreign-key models), whichever app declares them.
for _model in apps.get_models():
    if issubclass(_model, UserObjectPermissionBase):
        post_save.connect(_user_share_changed, sender=_model, dispatch_uid=f"crm_share_{_model._meta.label}_saved")
        post_delete.connect(_user_share_changed, sender=_model, dispatch_uid=f"crm_share_{_model._meta.label}_gone")
    elif issubclass(_model, GroupObjectPermissionBase):
        post_save.connect(_group_share_changed, sender=_model, dispatch_uid=f"crm_share_{_model._meta.label}_saved")
        post_delete.connect(_group_share_changed, sender=_model, dispatch_uid=f"crm_share_{_model._meta.label}_gone")


@receiver([post_save, post_delete], sender=SavedView, dispatch_uid="crm_forget_saved_views")
def forget_saved_views(sender, instance, **kwargs):
    from crm.selectors import SAVED_VIEWS

    forget_for_owner(instance, lambda users: forget_user(users, SAVED_VIEWS))


@receiver(user_login_failed, dispatch_uid="crm_audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    # Only the username is read; whatever else the form sent (the password) is never touched.
    username = credentials.get(User.USERNAME_FIELD) or credentials.get("username") or ""
    log_sign_in_failure(username=username, request=request)
