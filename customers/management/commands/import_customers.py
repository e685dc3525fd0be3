"""manage.py import_customers FILE --kind companies|contacts|leads [--mapping NAME] [--dry-run] [--user USERNAME]"""

from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from crm.models import Team, User
from customers.importing import running, service
from customers.importing.kinds import kind_names
from customers.importing.sealed import row_errors
from customers.models import ImportBatch, ImportTarget


class Command(BaseCommand):
    help = "Import companies or contacts from a CSV, XLSX or vCard file, through the same service as the import page."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--kind", choices=kind_names(), default=ImportTarget.COMPANIES)
        parser.add_argument("--user", required=True, help="Username the records are imported as (their owner).")
        parser.add_argument("--team", help="Team name; defaults to the user's first team.")
        parser.add_argument("--mapping", help="Name of a saved column mapping the user may use.")
        parser.add_argument("--duplicates", choices=ImportBatch.Duplicates.values, default=ImportBatch.Duplicates.SKIP)
        parser.add_argument("--encoding", default="", help="Override the detected encoding, e.g. gbk.")
        parser.add_argument("--dry-run", action="store_true", help="Check every row and write nothing.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        user = User.objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {options['user']!r}")
        kind = options["kind"]
        teams = service.teams_for(user)
        team = teams[0] if teams else None
        if options["team"]:
            team = Team.objects.filter(name=options["team"]).first()
            if team is None:
                raise CommandError(f"No team {options['team']!r}")
        saved = None
        if options["mapping"]:
            saved = service.visible_mappings(user, kind).filter(name=options["mapping"]).first()
            if saved is None:
                raise CommandError(f"No saved {kind} mapping {options['mapping']!r} for {user.username}")
        try:
            batch = service.import_create(
                actor=user,
                target=kind,
                filename=path.name,
                data=path.read_bytes(),
                team=team,
                saved_mapping=saved,
                encoding=options["encoding"],
                queue=False,
            )
            running.import_run(batch_id=batch.pk)  # reads the file: header, rows, guessed mapping
            batch.refresh_from_db()
            if batch.stage == ImportBatch.Stage.READING:
                raise CommandError(f"The file could not be read: {batch.message}")
            service.import_configure(
                batch=batch,
                actor=user,
                mapping=batch.mapping,
                duplicates=options["duplicates"],
                company_policy=batch.company_policy,
                team=team,
            )
            service.import_start(batch=batch, actor=user, dry_run=options["dry_run"], queue=False)
        except (ValidationError, PermissionDenied) as error:
            raise CommandError("; ".join(getattr(error, "messages", [str(error) or "permission denied"]))) from None
        running.import_run(batch_id=batch.pk)
        batch.refresh_from_db()
        verb = "would be " if options["dry_run"] else ""
        columns = ", ".join(f"{batch.headers[int(i)]}→{f}" for i, f in batch.mapping.items())
        self.stdout.write(
            f"Import #{batch.pk} ({columns}): "
            f"{batch.created_count} {verb}created, {batch.updated_count} {verb}updated, "
            f"{batch.skipped_count} skipped, {batch.error_count} with problems."
        )
        for error in row_errors(batch, limit=50):
            self.stdout.write(f"  row {error['row']}: {error['message']}")
