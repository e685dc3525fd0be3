"""Export files are encrypted on disk (crm.storage.SealedFileStorage), and an hourly task deletes
uploaded import files and export files past IMPORT_EXPORT_RETENTION_DAYS. Administrators may
change the schedule in the admin site (django-celery-beat); files already stored in clear still
open until the task deletes them."""

from django.db import migrations, models

import crm.storage
from crm.migration_ops import SchedulePeriodicTask

class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0008_outbox_and_session_schedules"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AlterField(
            model_name="job",
            name="file",
            field=models.FileField(
                blank=True, storage=crm.storage.SealedFileStorage(), upload_to="jobs/%Y/%m/", verbose_name="file"
            ),
        ),
        SchedulePeriodicTask(
            "Delete expired import and export files",
            "crm.tasks.purge_expired_files",
            description="Deletes uploaded import files and generated export files older than "
            "IMPORT_EXPORT_RETENTION_DAYS (default 7).",
            minute="15",
            hour="*",
        ),
    ]
