"""Schedule the nightly customer regrade at 02:00 (local time), an hour before the audit purge.

Recency moves on every day even when nobody buys, so grades are recomputed nightly;
administrators may change or disable the schedule in the admin site (django-celery-beat).

crm's migration 0006 used to create this schedule; it is customers' own, so it lives here now.
A database that already has it (by name) keeps it as it is, edits included.
"""

from django.db import migrations

from crm.migration_ops import SchedulePeriodicTask

class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_interaction_subject_backfill"),
        # After the step that created this schedule before it moved here (now empty).
        ("crm", "0006_nightly_grading_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        SchedulePeriodicTask(
            "Recompute customer grades",
            "customers.tasks.grade_all_companies",
            description="Recomputes every company's RFM grade from its purchases (grading policy in the admin site).",
            minute="0",
            hour="2",
        )
    ]
