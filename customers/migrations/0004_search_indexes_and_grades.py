"""Search indexes (PostgreSQL only), search tokens for existing rows, and the default grades."""

from django.db import migrations

from crm.migration_ops import RunSQLOnPostgres
from crm.search import search_tokens, tokens_index_sql
from customers.defaults import ensure_grade_levels

def seed_grades(apps, schema_editor):
    ensure_grade_levels(apps)


def backfill_tokens(apps, schema_editor):
    Company = apps.get_model("customers", "Company")
    batch = []
    for company in Company.objects.only("pk", "name", "legal_name", "website").iterator(chunk_size=2000):
        company.search_text = search_tokens(company.name, company.legal_name)
        batch.append(company)
        if len(batch) >= 2000:
            Company.objects.bulk_update(batch, ["search_text"])
            batch = []
    if batch:
        Company.objects.bulk_update(batch, ["search_text"])


company_tsv = tokens_index_sql("customers_company")
contact_tsv = tokens_index_sql("customers_contact")


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_customer_centre")]

    operations = [
        RunSQLOnPostgres("CREATE EXTENSION IF NOT EXISTS pg_trgm", migrations.RunSQL.noop),
        RunSQLOnPostgres(*company_tsv),
        RunSQLOnPostgres(*contact_tsv),
        # Trigram indexes: Latin substrings and likely-duplicate candidates (similarity()).
        RunSQLOnPostgres(
            "CREATE INDEX IF NOT EXISTS customers_company_name_trgm ON customers_company "
            "USING gin (upper(name) gin_trgm_ops)",
            "DROP INDEX IF EXISTS customers_company_name_trgm",
        ),
        RunSQLOnPostgres(
            "CREATE INDEX IF NOT EXISTS customers_contact_name_trgm ON customers_contact "
            "USING gin (upper(display_name) gin_trgm_ops)",
            "DROP INDEX IF EXISTS customers_contact_name_trgm",
        ),
        migrations.RunPython(seed_grades, migrations.RunPython.noop),
        migrations.RunPython(backfill_tokens, migrations.RunPython.noop),
    ]
