"""Formerly: the nightly customer regrade schedule.

The schedule belongs to customers and is created by its migration 0009_nightly_grading_schedule
(which keeps one this step made on databases migrated earlier). This step stays, empty, so the
migration history of existing databases and the migrations that depend on it are unchanged.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_job"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = []
