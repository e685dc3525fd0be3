"""Every five minutes: read the bounce mailbox (a no-op until CAMPAIGN_BOUNCE_IMAP_* is set)."""

from django.db import migrations

from crm.migration_ops import SchedulePeriodicTask


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_second_language_subject_test_link_base"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        SchedulePeriodicTask(
            "Read the campaign bounce mailbox",
            "campaigns.tasks.poll_bounces",
            description="Marks the deliveries whose messages came back; a hard bounce stops all later sends to the address.",
            every_minutes=5,
        ),
    ]
