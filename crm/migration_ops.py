"""Migration operations for PostgreSQL-only schema (GIN indexes, extensions).

The embedded SQLite database skips them: it is for a single developer, not for scale.
"""

from django.db import migrations


class RunSQLOnPostgres(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return "Raw SQL (PostgreSQL only)"


class SchedulePeriodicTask(migrations.RunPython):
    """Create one django-celery-beat schedule (reversed: delete it), for a module's periodic task.

    Give either `every_minutes` or the crontab fields `minute` and `hour` (local time, every day).
    A schedule of that name that already exists is kept as it is, administrators' edits included.
    The task is named by string, so the migration does not import the Celery module.

        SchedulePeriodicTask("Purge old audit entries", "crm.tasks.purge_audit_log",
                             description="…", minute="0", hour="3")
    """

    def __init__(self, name, task, *, description, every_minutes=None, minute=None, hour=None):
        self.schedule_name, self.task_path, self.description = name, task, description
        self.every_minutes, self.minute, self.hour = every_minutes, minute, hour
        super().__init__(self._create, self._remove)

    def _create(self, apps, schema_editor):
        from django.conf import settings

        periodic = apps.get_model("django_celery_beat", "PeriodicTask")
        if periodic.objects.filter(name=self.schedule_name).exists():
            return
        if self.every_minutes is not None:
            interval, _created = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(
                every=self.every_minutes, period="minutes"
            )
            when = {"interval": interval}
        else:
            crontab, _created = apps.get_model("django_celery_beat", "CrontabSchedule").objects.get_or_create(
                minute=self.minute,
                hour=self.hour,
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone=settings.TIME_ZONE,
            )
            when = {"crontab": crontab}
        periodic.objects.create(
            name=self.schedule_name, task=self.task_path, enabled=True, description=self.description, **when
        )

    def _remove(self, apps, schema_editor):
        apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=self.schedule_name).delete()

    def describe(self):
        return f"Schedule the periodic task {self.schedule_name!r}"
