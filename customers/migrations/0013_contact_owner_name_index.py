"""A rep's contact list is sorted by name within what they own: (owner, display_name, id) gives
its first page from the index. It replaces (owner, id), whose uses (a rep's capped count, owner
lookups) the new index's prefix serves as well."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0012_import_reading_stage"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["owner", "display_name", "id"], name="contact_owner_name"),
        ),
        migrations.RemoveIndex(model_name="contact", name="contact_owner_id"),
    ]
