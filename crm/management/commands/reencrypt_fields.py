"""Re-encrypt every encrypted value under the current first key, and optionally rebuild blind indexes.

Rows are read in primary-key batches, each batch locked and rewritten in its own transaction,
so the command can be stopped and run again. It writes no audit entries: the plaintext does not
change, only the key that protects it. It prints how many values it rewrote per model and field.
"""

from __future__ import annotations

from collections import Counter

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import models, transaction
from django.db.models.functions import Cast
from django.utils.translation import gettext as _

from crm.crypto import get_keyring, is_ciphertext
from crm.fields import EncryptedTextField, encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt encrypted fields under the first key of FIELD_ENCRYPTION_KEYS; --reindex rebuilds blind indexes."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Rows per transaction (default 500).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would change; write nothing.")
        parser.add_argument(
            "--reindex",
            action="store_true",
            help="Also recompute every blind index (after FIELD_BLIND_INDEX_KEY or a normaliser changed).",
        )

    def handle(self, *args, batch_size: int, dry_run: bool, reindex: bool, **options):
        if batch_size < 1:
            batch_size = 500
        keyring = get_keyring()  # fails loudly here, before any row, if the keys are wrong
        total = 0
        for model in apps.get_models():
            fields = encrypted_fields(model)
            if not fields or model._meta.proxy or not model._meta.managed:
                continue
            counts = self._rotate_model(model, fields, keyring, batch_size=batch_size, dry_run=dry_run, reindex=reindex)
            for field in fields:
                rewritten, reindexed = counts[(field.name, "value")], counts[(field.name, "index")]
                total += rewritten + reindexed
                line = _("%(field)s: %(rewritten)d values re-encrypted, %(reindexed)d blind indexes rebuilt") % {
                    "field": f"{model._meta.label}.{field.name}",
                    "rewritten": rewritten,
                    "reindexed": reindexed,
                }
                self.stdout.write(line)
        if dry_run:
            self.stdout.write(_("Dry run: nothing was written (%(count)d changes pending).") % {"count": total})
        else:
            self.stdout.write(self.style.SUCCESS(_("Done: %(count)d changes written.") % {"count": total}))

    def _rotate_model(
        self,
        model: type[models.Model],
        fields: list[EncryptedTextField],
        keyring,
        *,
        batch_size: int,
        dry_run: bool,
        reindex: bool,
    ) -> Counter:
        counts: Counter = Counter()
        # Cast to text reads the stored ciphertext as it is, without the field decrypting it.
        raw = {f"_stored_{f.name}": Cast(f.name, output_field=models.TextField()) for f in fields}
        index_names = [f.blind_index for f in fields if f.blind_index] if reindex else []
        manager = model._base_manager
        last_pk = None
        while True:
            with transaction.atomic():
                queryset = manager.order_by("pk")
                if last_pk is not None:
                    queryset = queryset.filter(pk__gt=last_pk)
                if not dry_run:
                    queryset = queryset.select_for_update(of=("self",))
                rows = list(queryset.annotate(**raw).values("pk", *raw, *index_names)[:batch_size])
                if not rows:
                    break
                last_pk = rows[-1]["pk"]
                updates: dict[str, list[models.Model]] = {}
                for row in rows:
                    for field in fields:
                        stored = plaintext = row[f"_stored_{field.name}"]
                        if is_ciphertext(stored):
                            plaintext = keyring.decrypt(stored, context=field.encryption_context)
                        if stored and keyring.needs_rotation(stored):
                            counts[(field.name, "value")] += 1
                            updates.setdefault(field.name, []).append(model(pk=row["pk"], **{field.attname: plaintext}))
                        if reindex and field.blind_index:
                            index = field.blind_index_of(plaintext)
                            if index != row[field.blind_index]:
                                counts[(field.name, "index")] += 1
                                updates.setdefault(field.blind_index, []).append(
                                    model(pk=row["pk"], **{field.blind_index: index})
                                )
                if not dry_run:
                    for name, objects in updates.items():
                        manager.bulk_update(objects, [name])
        return counts
