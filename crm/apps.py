from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _after_migrate(sender, using="default", verbosity=0, **kwargs):
    """After the last app migrates: every permission exists, the roles have theirs, and the
    apps' reference data is present (crm.defaults)."""
    if sender.label != list(apps.get_app_configs())[-1].label:
        return
    from django.contrib.auth.management import create_permissions

    from crm.defaults import ensure_all
    from crm.permissions import forget_permission_ids
    from crm.roles import sync_role_permissions

    forget_permission_ids()
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    sync_role_permissions(verbosity=verbosity)
    ensure_all(kwargs.get("apps") or apps)


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("CRM core")

    def ready(self):
        from auditlog.models import LogEntry
        from django.db.models.signals import pre_save

        from crm import mfa, signals  # noqa: F401 - their signal handlers
        from crm.audit import fill_acting_user
        from crm.permissions import restrict
        from crm.querysets import register_scope

        pre_save.connect(fill_acting_user, sender=LogEntry, dispatch_uid="crm_fill_acting_user")
        post_migrate.connect(_after_migrate, dispatch_uid="crm_after_migrate")
        register_scope(restrict)

        from django.contrib.auth.models import Group

        from crm import choices
        from crm.models import Team, TeamMembership, User

        choices.register(User, Group, Team, TeamMembership)
