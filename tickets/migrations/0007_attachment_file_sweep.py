"""Attachment files left behind by rolled-back transactions (or killed workers) are deleted by a
daily task once a day old; the index lets it look a batch of stored names up at a time.
Administrators may change the schedule in the admin site (django-celery-beat)."""

from django.db import migrations, models

from crm.migration_ops import SchedulePeriodicTask


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0006_ticket_related_index"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="attachment",
            index=models.Index(fields=["file"], name="ticket_attachment_file"),
        ),
        SchedulePeriodicTask(
            "Delete ticket attachment files without a record",
            "tickets.tasks.sweep_attachment_files",
            description="Deletes files in the ticket attachments folder that no attachment names and that are "
            "more than a day old: left by a reply or an e-mail whose transaction rolled back, or by a worker "
            "that was stopped.",
            minute="40",
            hour="3",
        ),
    ]
