"""Create the role groups. Their permissions are granted after every migrate by
`crm.roles.sync_role_permissions`, so models added by later migrations are covered too."""

from django.db import migrations

ROLES = (
    "Administrator",
    "Sales manager",
    "Sales rep",
    "Marketing",
    "Support manager",
    "Support agent",
    "Auditor",
)


def create_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_roles, remove_roles)]
