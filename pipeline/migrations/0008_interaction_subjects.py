"""Point the sales module's existing timeline entries at the record that decides who reads them.

`record_interaction` now stores that record as the entry's subject: the deal for deal events
and lead conversions, the deal or lead a completed task served (else the task). Entries written
before carry only `source_ref`; customers' migration filled the subject with the record
`source_ref` names, and this one narrows it the same way the services now do.

Batched over the primary key with a commit per batch (not atomic), resumable, and plain ORM
updates, so it runs on PostgreSQL and SQLite alike. `source_ref` is kept as it was.
"""

from django.db import migrations, models, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Cast, Substr

BATCH_SIZE = 5000


def _batches(queryset):
    """(primary key, subject id) of `queryset`'s entries in ascending batches, one batch at a time."""
    last_pk = 0
    while rows := list(queryset.filter(pk__gt=last_pk).order_by("pk").values_list("pk", "subject_id")[:BATCH_SIZE]):
        last_pk = rows[-1][0]
        yield rows


def narrow_subjects(apps, schema_editor):
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    Interaction = apps.get_model("customers", "Interaction")
    Lead = apps.get_model("pipeline", "Lead")
    Task = apps.get_model("pipeline", "Task")
    entries = Interaction.objects.using(db)

    def type_id(model: str) -> int:
        return ContentType.objects.using(db).get_or_create(app_label="pipeline", model=model)[0].pk

    opportunity_type, lead_type, task_type = type_id("opportunity"), type_id("lead"), type_id("task")

    def repoint(pks: list[int], subject_type: int, source, column: str) -> None:
        """Point entries `pks` at `column` of the `source` record they are about now."""
        if pks:
            entries.filter(pk__in=pks).update(
                subject_type_id=subject_type,
                # An UPDATE reads the old row on its right-hand side: this is still the old subject.
                subject_id=Subquery(source.filter(pk=OuterRef("subject_id")).values(column)[:1]),
            )

    # References customers' migration could not resolve (content types not created yet).
    for model, subject_type in (("opportunity", opportunity_type), ("lead", lead_type), ("task", task_type)):
        prefix = f"pipeline.{model}:"
        unresolved = entries.filter(subject_type__isnull=True, source_ref__regex=rf"^pipeline\.{model}:[0-9]{{1,18}}$")
        for rows in _batches(unresolved):
            with transaction.atomic(using=db):
                entries.filter(pk__in=[pk for pk, _subject in rows]).update(
                    subject_type_id=subject_type,
                    subject_id=Cast(Substr("source_ref", len(prefix) + 1), models.BigIntegerField()),
                )

    # A completed task's entry is about its deal, else its lead. Each batch looks its tasks up by
    # primary key, so the plan does not hang on how many tasks have a deal.
    tasks = Task.objects.using(db)
    for rows in _batches(entries.filter(subject_type_id=task_type)):
        links = {
            pk: (opportunity_id, lead_id)
            for pk, opportunity_id, lead_id in tasks.filter(pk__in={s for _pk, s in rows}).values_list(
                "pk", "opportunity_id", "lead_id"
            )
        }
        on_deal, on_lead = [], []
        for pk, task_id in rows:
            opportunity_id, lead_id = links.get(task_id, (None, None))
            if opportunity_id:
                on_deal.append(pk)
            elif lead_id:
                on_lead.append(pk)
        with transaction.atomic(using=db):
            repoint(on_deal, opportunity_type, tasks, "opportunity_id")
            repoint(on_lead, lead_type, tasks, "lead_id")

    # A lead conversion's entry is about the deal the lead became.
    leads = Lead.objects.using(db)
    conversions = entries.filter(subject_type_id=lead_type, source_ref__startswith="pipeline.lead:")
    for rows in _batches(conversions):
        converted = set(
            leads.filter(pk__in={s for _pk, s in rows}, converted_opportunity__isnull=False).values_list(
                "pk", flat=True
            )
        )
        of_converted = [pk for pk, lead_id in rows if lead_id in converted]
        with transaction.atomic(using=db):
            repoint(of_converted, opportunity_type, leads, "converted_opportunity_id")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0008_interaction_subject_backfill"),
        ("pipeline", "0007_next_step_index"),
    ]

    operations = [
        migrations.RunPython(narrow_subjects, migrations.RunPython.noop, elidable=True),
    ]
