"""Schedule the daily audit purge at 03:00 (local time). Administrators may change or disable
it in the admin site (django-celery-beat); the purge never goes below the legal floor."""

from django.db import migrations

from crm.migration_ops import SchedulePeriodicTask


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0003_saved_view"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        SchedulePeriodicTask(
            "Purge old audit entries",
            "crm.tasks.purge_audit_log",
            description="Deletes audit entries older than AUDIT_RETENTION_DAYS (at least 180 days).",
            minute="0",
            hour="3",
        )
    ]
