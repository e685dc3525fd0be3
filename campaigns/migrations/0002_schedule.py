"""Every minute: start the scheduled campaigns that are due and pick up sends whose workers went
silent (editable in the admin site)."""

from django.db import migrations

from crm.migration_ops import SchedulePeriodicTask


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        SchedulePeriodicTask(
            "Start and resume campaign sends",
            "campaigns.tasks.resume_sends",
            description="Starts scheduled campaigns at their time and picks up a send whose workers stopped.",
            every_minutes=1,
        ),
    ]
