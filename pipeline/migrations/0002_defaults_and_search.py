"""Default pipelines, stages, lead sources and lost reasons; search indexes on PostgreSQL."""

from django.db import migrations

from crm.migration_ops import RunSQLOnPostgres
from crm.search import tokens_index_sql
from pipeline.defaults import ensure_pipeline_defaults

def seed(apps, schema_editor):
    ensure_pipeline_defaults(apps)


lead_tsv = tokens_index_sql("pipeline_lead")
opportunity_tsv = tokens_index_sql("pipeline_opportunity")


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0001_initial"), ("customers", "0004_search_indexes_and_grades")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        RunSQLOnPostgres(*lead_tsv),
        RunSQLOnPostgres(*opportunity_tsv),
    ]
