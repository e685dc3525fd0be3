from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from crm.audit import AUDIT_RETENTION_FLOOR_DAYS, audit_purge


class Command(BaseCommand):
    help = "Delete audit entries older than the retention period (never less than 180 days)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-days",
            type=int,
            default=None,
            help=f"Age in days; defaults to AUDIT_RETENTION_DAYS, at least {AUDIT_RETENTION_FLOOR_DAYS}.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted, delete nothing.")

    def handle(self, *args, older_than_days=None, dry_run=False, **options):
        days = settings.AUDIT_RETENTION_DAYS if older_than_days is None else older_than_days
        if days < AUDIT_RETENTION_FLOOR_DAYS:
            raise CommandError(
                f"Refusing to purge entries younger than {AUDIT_RETENTION_FLOOR_DAYS} days "
                f"(asked for {days}): the audit trail must be kept at least that long."
            )
        try:
            count = audit_purge(older_than_days=days, dry_run=dry_run)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        if dry_run:
            self.stdout.write(f"{count} audit entries older than {days} days would be removed (dry run).")
        else:
            self.stdout.write(self.style.SUCCESS(f"Removed {count} audit entries older than {days} days."))
