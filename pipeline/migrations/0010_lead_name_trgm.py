"""Index leads' names for `crm.people.find_people(name=...)` (PostgreSQL only).

`display_name__istartswith` compiles to `upper(display_name) LIKE upper('x%')`, which a GIN
trigram index on `upper(display_name)` answers, as `customers_contact_name_trgm` does for
contacts. Built CONCURRENTLY (so not in a transaction) to keep the lead table writable.
"""

from django.db import migrations

from crm.migration_ops import RunSQLOnPostgres


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0004_search_indexes_and_grades"),  # CREATE EXTENSION pg_trgm
        ("pipeline", "0009_lead_person_fields"),
    ]

    operations = [
        RunSQLOnPostgres(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS pipeline_lead_name_trgm ON pipeline_lead "
            "USING gin (upper(display_name) gin_trgm_ops)",
            "DROP INDEX CONCURRENTLY IF EXISTS pipeline_lead_name_trgm",
        ),
    ]
