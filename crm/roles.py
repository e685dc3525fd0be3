"""The built-in roles and the model permissions each one carries.

Roles are auth groups. The data migration creates the groups; `sync_role_permissions` (run
after every migrate) grants each role its permissions, so a module added later is picked up
without a new data migration.
"""

from django.utils.translation import gettext_lazy as _

ADMINISTRATOR = "Administrator"
SALES_MANAGER = "Sales manager"
SALES_REP = "Sales rep"
MARKETING = "Marketing"
SUPPORT_MANAGER = "Support manager"
SUPPORT_AGENT = "Support agent"
AUDITOR = "Auditor"

# Group names are stored in English (stable keys); these are the labels users read.
ROLE_LABELS = {
    ADMINISTRATOR: _("Administrator"),
    SALES_MANAGER: _("Sales manager"),
    SALES_REP: _("Sales rep"),
    MARKETING: _("Marketing"),
    SUPPORT_MANAGER: _("Support manager"),
    SUPPORT_AGENT: _("Support agent"),
    AUDITOR: _("Auditor"),
}

ROLES = tuple(ROLE_LABELS)


def role_label(group_name: str) -> str:
    """The name a user reads for a role's group, or for a team's group ("team:<name>") its team's name."""
    if group_name.startswith("team:"):
        return group_name.removeprefix("team:")
    return str(ROLE_LABELS.get(group_name, group_name))


# Roles that see every record, whatever its owner or team.
SEE_ALL_ROLES = (ADMINISTRATOR, AUDITOR)

VIEW = ("view",)
READ_WRITE = ("view", "add", "change")
FULL = ("view", "add", "change", "delete")

# role -> {app_label: actions}. Extra permissions ("app_label.codename") are listed apart.
ROLE_PERMISSIONS = {
    SALES_MANAGER: {"customers": FULL, "pipeline": FULL, "campaigns": VIEW, "tickets": VIEW, "reports": FULL},
    SALES_REP: {"customers": READ_WRITE, "pipeline": FULL, "tickets": VIEW, "reports": VIEW},
    MARKETING: {"customers": READ_WRITE, "campaigns": FULL, "reports": VIEW},
    SUPPORT_MANAGER: {"customers": READ_WRITE, "tickets": FULL, "reports": FULL},
    SUPPORT_AGENT: {"customers": VIEW, "tickets": READ_WRITE, "reports": VIEW},
    AUDITOR: {
        "customers": VIEW,
        "pipeline": VIEW,
        "campaigns": VIEW,
        "tickets": VIEW,
        "reports": VIEW,
        "auditlog": VIEW,
        "crm": VIEW,
    },
}
ROLE_EXTRA_PERMISSIONS = {
    SALES_MANAGER: (
        "customers.reveal_sensitive",
        "customers.export_records",
        "pipeline.reveal_sensitive",
        "pipeline.export_records",
    ),
    # Marketing reaches leads too (campaigns to leads, trade-show lists), within its own reach.
    MARKETING: ("pipeline.view_lead", "pipeline.add_lead", "pipeline.change_lead", "pipeline.view_leadsource"),
    SUPPORT_MANAGER: ("customers.reveal_sensitive",),
    AUDITOR: (
        "customers.reveal_sensitive",
        "customers.export_records",
        "pipeline.reveal_sensitive",
        "pipeline.export_records",
    ),
}


def sync_role_permissions(*, verbosity: int = 0) -> None:
    """Create the role groups if missing and grant each its permissions (idempotent).

    Administrators get every permission; other roles get the actions listed above on every
    model of the listed apps. Permissions a role has beyond its definition are left alone, so
    an administrator may widen a role in the admin site.
    """
    from django.contrib.auth.models import Group, Permission

    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role)
        if role == ADMINISTRATOR:
            wanted = Permission.objects.all()
        else:
            wanted = Permission.objects.none()
            for app_label, actions in ROLE_PERMISSIONS.get(role, {}).items():
                for action in actions:
                    wanted |= Permission.objects.filter(
                        content_type__app_label=app_label, codename__startswith=f"{action}_"
                    )
            for dotted in ROLE_EXTRA_PERMISSIONS.get(role, ()):
                app_label, codename = dotted.split(".", 1)
                wanted |= Permission.objects.filter(content_type__app_label=app_label, codename=codename)
        missing = wanted.exclude(group=group)
        if missing.exists():
            group.permissions.add(*missing)
            if verbosity:
                print(f"Role {role}: granted {missing.count()} permissions")
