"""Schedule the task and stale-deal reminders every 15 minutes (editable in the admin site)."""

from django.db import migrations

from crm.migration_ops import SchedulePeriodicTask


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0004_opportunity_won_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        SchedulePeriodicTask(
            "Send task and stale-deal reminders",
            "pipeline.tasks.send_reminders",
            description="Emails each owner about tasks due within the hour, overdue tasks and stale deals, "
            "each reminder once.",
            every_minutes=15,
        )
    ]
