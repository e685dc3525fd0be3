"""Fill `Interaction.subject` from `source_ref` ("app_label.model:pk") on entries written before it.

Batched over the primary key, each batch committed on its own (the migration is not atomic), so
millions of entries hold no long transaction and an interrupted run resumes: filled rows are
skipped. Plain ORM updates, so it runs on PostgreSQL and SQLite alike. A reference to no known
model ("customers.import:3") leaves the entry without a subject; `source_ref` is kept as it was.
Pipeline's own migration then narrows task and lead references to the deal they served.
"""

import re
from collections import defaultdict

from django.db import migrations, models, transaction
from django.db.models.functions import Cast, Substr

BATCH_SIZE = 5000
REFERENCE = re.compile(r"^([a-z_][a-z0-9_]*\.[a-z0-9_]+):([0-9]{1,18})$")


def fill_subjects(apps, schema_editor):
    Interaction = apps.get_model("customers", "Interaction")
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    type_ids = {
        f"{app_label}.{model}": pk
        for pk, app_label, model in ContentType.objects.using(db).values_list("pk", "app_label", "model")
    }
    pending = Interaction.objects.using(db).filter(subject_type__isnull=True).exclude(source_ref="")
    last_pk = 0
    while batch := list(pending.filter(pk__gt=last_pk).order_by("pk").values_list("pk", "source_ref")[:BATCH_SIZE]):
        last_pk = batch[-1][0]
        by_label = defaultdict(list)
        for pk, source_ref in batch:
            match = REFERENCE.match(source_ref)
            if match and match[1] in type_ids:
                by_label[match[1]].append(pk)
        with transaction.atomic(using=db):
            for label, pks in by_label.items():
                Interaction.objects.using(db).filter(pk__in=pks).update(
                    subject_type_id=type_ids[label],
                    # Every reference in `pks` matched REFERENCE: the rest after "label:" is digits.
                    subject_id=Cast(Substr("source_ref", len(label) + 2), models.BigIntegerField()),
                )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0007_interaction_subject"),
    ]

    operations = [
        migrations.RunPython(fill_subjects, migrations.RunPython.noop, elidable=True),
    ]
