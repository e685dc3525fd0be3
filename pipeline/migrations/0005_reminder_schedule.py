"""Schedule the task and stale-deal reminders every 15 minutes (editable in the admin site).

The task is named by string so the migration does not import the Celery module.
"""

from django.db import migrations

TASK_NAME = "Send task and stale-deal reminders"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _created = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "pipeline.tasks.send_reminders",
            "interval": every,
            "enabled": True,
            "description": "Emails each owner about tasks due within the hour, overdue tasks and stale deals, "
            "each reminder once.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0004_opportunity_won_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
