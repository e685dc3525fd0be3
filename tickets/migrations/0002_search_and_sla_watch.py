"""The ticket search index on PostgreSQL; the SLA watch every five minutes and the mailbox poll
every minute (both editable in the admin site)."""

from django.db import migrations

from crm.migration_ops import RunSQLOnPostgres, SchedulePeriodicTask
from crm.search import tokens_index_sql


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        RunSQLOnPostgres(*tokens_index_sql("tickets_ticket")),
        SchedulePeriodicTask(
            "Watch ticket service levels",
            "tickets.tasks.watch_sla",
            description="Warns the assignee before a ticket's SLA target is missed and escalates to the team's "
            "managers once it is, each once per due time.",
            every_minutes=5,
        ),
        SchedulePeriodicTask(
            "Read the support mailboxes",
            "tickets.tasks.poll_mailboxes",
            description="Turns new mail of every active mailbox into tickets, or replies on the ticket it answers.",
            every_minutes=1,
        ),
    ]
