"""Schedule the hand-over of tasks that waited for the broker (every minute) and the purge of
expired sessions (daily at 03:30, local time). Administrators may change either in the admin
site (django-celery-beat)."""

from django.db import migrations

from crm.migration_ops import SchedulePeriodicTask


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0007_pending_task"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        SchedulePeriodicTask(
            "Hand queued tasks to the broker",
            "crm.tasks.publish_pending_tasks",
            description="Sends the broker the tasks queued while it was unavailable.",
            every_minutes=1,
        ),
        SchedulePeriodicTask(
            "Purge expired sessions",
            "crm.tasks.purge_expired_sessions",
            description="Deletes sessions past their expiry from the database.",
            minute="30",
            hour="3",
        ),
    ]
