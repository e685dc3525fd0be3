"""Schedule the nightly customer regrade at 02:00 (local time), an hour before the audit purge.

Recency moves on every day even when nobody buys, so grades are recomputed nightly;
administrators may change or disable the schedule in the admin site (django-celery-beat).
The task is named by string so the migration does not import the Celery module.

crm's migration 0006 used to create this schedule; it is customers' own, so it lives here now.
A database that already has it (by name) keeps it as it is, edits included.
"""

from django.conf import settings
from django.db import migrations

TASK_NAME = "Recompute customer grades"


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(name=TASK_NAME).exists():
        return
    crontab, _created = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour="2",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    PeriodicTask.objects.create(
        name=TASK_NAME,
        task="customers.tasks.grade_all_companies",
        crontab=crontab,
        enabled=True,
        description="Recomputes every company's RFM grade from its purchases (grading policy in the admin site).",
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_interaction_subject_backfill"),
        # After the step that created this schedule before it moved here (now empty).
        ("crm", "0006_nightly_grading_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
