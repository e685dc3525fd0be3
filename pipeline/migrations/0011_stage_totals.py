"""The cells the board's totals and the forecast add up (`pipeline.stage_totals`), counted from
the deals already stored, and their nightly recount (03:45, local time; editable in the admin
site)."""

import datetime
from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models

from crm.migration_ops import SchedulePeriodicTask


def count_cells(apps, schema_editor):
    from pipeline.stage_totals import cells_of

    Opportunity = apps.get_model("pipeline", "Opportunity")
    StageTotal = apps.get_model("pipeline", "StageTotal")
    cells = cells_of(Opportunity._base_manager.using(schema_editor.connection.alias).all())
    StageTotal.objects.using(schema_editor.connection.alias).bulk_create(
        [
            StageTotal(
                stage_id=stage_id,
                team_key=team_key,
                owner_key=owner_key,
                close_month=close_month,
                probability_key=probability_key,
                won_month=won_month,
                deals=sums.deals,
                amount=sums.amount,
            )
            for (stage_id, team_key, owner_key, close_month, probability_key, won_month), sums in cells.items()
        ],
        batch_size=5000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0010_lead_name_trgm"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="StageTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("team_key", models.IntegerField(default=0)),
                ("owner_key", models.IntegerField(default=0)),
                ("close_month", models.DateField(default=datetime.date(1, 1, 1))),
                ("probability_key", models.SmallIntegerField(default=-1)),
                ("won_month", models.DateField(default=datetime.date(1, 1, 1))),
                ("deals", models.BigIntegerField(default=0)),
                ("amount", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=20)),
                (
                    "stage",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="pipeline.stage"
                    ),
                ),
            ],
            options={
                "verbose_name": "stage total",
                "verbose_name_plural": "stage totals",
                "indexes": [
                    models.Index(fields=["owner_key"], name="stage_total_owner"),
                    models.Index(fields=["team_key"], name="stage_total_team"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("stage", "team_key", "owner_key", "close_month", "probability_key", "won_month"),
                        name="stage_total_cell",
                    )
                ],
            },
        ),
        migrations.RunPython(count_cells, migrations.RunPython.noop),
        SchedulePeriodicTask(
            "Recount the board's deal totals",
            "pipeline.tasks.reconcile_stage_totals",
            description="Recounts the per-stage totals of the board and the forecast from the deals "
            "and corrects any that differ.",
            minute="45",
            hour="3",
        ),
    ]
