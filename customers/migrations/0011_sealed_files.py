"""Uploaded import files are encrypted on disk (crm.storage.SealedFileStorage); files uploaded
before still open, until the retention task deletes them."""

from django.db import migrations, models

import crm.storage


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0010_contact_person_fields"),
    ]

    operations = [
        migrations.AlterField(
            model_name="importbatch",
            name="source",
            field=models.FileField(
                storage=crm.storage.SealedFileStorage(), upload_to="imports/%Y/%m/", verbose_name="file"
            ),
        ),
    ]
