"""Schedule the nightly customer regrade at 02:00 (local time), an hour before the audit purge.

Recency moves on every day even when nobody buys, so grades are recomputed nightly. The task
is named by string only (the core imports no business app); administrators may change or
disable the schedule in the admin site (django-celery-beat).
"""

from django.conf import settings
from django.db import migrations

TASK_NAME = "Recompute customer grades"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _created = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour="2",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "customers.tasks.grade_all_companies",
            "crontab": crontab,
            "enabled": True,
            "description": "Recomputes every company's RFM grade from its purchases (grading policy in the admin site).",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_job"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
