"""Search indexes (PostgreSQL only), search tokens for existing rows, and the default grades."""

from django.db import migrations

from crm.migration_ops import RunSQLOnPostgres
from crm.search import search_tokens, tokens_index_sql

DEFAULT_GRADES = [
    # code, label, tier, minimum RFM score (3-15)
    ("A", "重要客户 Important", "important", 12),
    ("B", "一般客户 General", "general", 8),
    ("C", "潜在客户 Potential", "potential", 5),
    ("D", "低价值 Low value", "potential", 0),
]


def seed_grades(apps, schema_editor):
    GradeLevel = apps.get_model("customers", "GradeLevel")
    GradingPolicy = apps.get_model("customers", "GradingPolicy")
    for code, label, tier, min_score in DEFAULT_GRADES:
        GradeLevel.objects.get_or_create(code=code, defaults={"label": label, "tier": tier, "min_score": min_score})
    if not GradingPolicy.objects.exists():
        GradingPolicy.objects.create(
            window_days=365,
            recency_days=[30, 90, 180, 365],
            frequency_counts=[2, 4, 8, 16],
            monetary_amounts=[10000, 50000, 200000, 1000000],
        )


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
