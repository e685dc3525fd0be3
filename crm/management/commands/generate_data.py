import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from crm.datagen import generate, generators


class Command(BaseCommand):
    help = _(
        "Load made-up data fast for scale testing (PostgreSQL COPY): N companies and every other "
        "registered table in proportion, plus sales teams if fewer than 50 reps exist. "
        "Writes NO audit entries: never run it on a database with real records."
    )

    def add_arguments(self, parser):
        parser.add_argument("--companies", type=int, required=True, help=_("How many companies to add."))
        parser.add_argument("--seed", type=int, default=1, help=_("Random seed; the same seed gives the same rows."))
        parser.add_argument("--batch-size", type=int, default=50_000, help=_("Rows per COPY and commit."))
        parser.add_argument(
            "--no-encrypted",
            dest="encrypt",
            action="store_false",
            help=_("Leave encrypted fields (phone, tax ID) empty instead of encrypting made-up values: faster."),
        )
        parser.add_argument(
            "--only",
            action="append",
            metavar="APP.MODEL",
            help=_("Generate only this table (repeatable). Known: %(labels)s")
            % {"labels": ", ".join(g.label for g in generators())},
        )

    def handle(self, *args, companies, seed, batch_size, only, encrypt, **options):
        if connection.vendor != "postgresql":
            raise CommandError(_("generate_data needs PostgreSQL: it loads with COPY. Set DATABASE_URL."))
        if companies < 0 or batch_size < 1:
            raise CommandError(_("--companies must be 0 or more and --batch-size at least 1."))
        self.stdout.write(_("Generating data without audit entries (scale-test data only)."))
        started = time.monotonic()
        results = generate(
            companies=companies,
            seed=seed,
            batch_size=batch_size,
            only=only,
            encrypt=encrypt,
            log=self.log,
        )
        total = sum(r.rows for r in results)
        self.stdout.write(
            self.style.SUCCESS(
                _("Loaded %(rows)s rows in %(seconds).1f s; no audit entries were written.")
                % {"rows": total, "seconds": time.monotonic() - started}
            )
        )

    def log(self, message: str) -> None:
        self.stdout.write(f"  {message}")
