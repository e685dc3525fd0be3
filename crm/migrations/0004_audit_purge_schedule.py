"""Schedule the daily audit purge at 03:00 (local time). Administrators may change or disable
it in the admin site (django-celery-beat); the purge never goes below the legal floor."""

from django.conf import settings
from django.db import migrations

TASK_NAME = "Purge old audit entries"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _created = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "crm.tasks.purge_audit_log",
            "crontab": crontab,
            "enabled": True,
            "description": "Deletes audit entries older than AUDIT_RETENTION_DAYS (at least 180 days).",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0003_saved_view"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
