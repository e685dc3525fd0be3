from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.translation import gettext as _

from crm.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup made by `manage.py backup`: replaces every table of the database and the "
        "media directory, then compares the row counts with the backup's manifest. Stop the web "
        "server and the Celery workers first."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="The .tar.gz archive written by `manage.py backup`.")
        parser.add_argument("--yes", action="store_true", help="Confirm that the current data may be replaced.")

    def handle(self, *args, archive, yes, **options):
        if not archive.is_file():
            raise CommandError(_("No such backup archive: %(archive)s") % {"archive": archive})
        if not yes:
            raise CommandError(
                _(
                    "Restoring replaces ALL data in database %(database)s and the media directory "
                    "with the contents of %(archive)s. Stop the web server and workers, then run "
                    "again with --yes to go ahead."
                )
                % {"database": connections["default"].settings_dict["NAME"], "archive": archive}
            )
        try:
            checks = backup_restore(archive=archive)
        except BackupError as error:
            raise CommandError(str(error)) from error

        width = max((len(check.table) for check in checks), default=10)
        self.stdout.write(f"{_('table'):<{width}}  {_('backup'):>10}  {_('restored'):>10}")
        for check in checks:
            line = f"{check.table:<{width}}  {_count(check.expected):>10}  {_count(check.actual):>10}"
            self.stdout.write(line if check.ok else self.style.ERROR(f"{line}  {_('MISMATCH')}"))
        mismatches = [check.table for check in checks if not check.ok]
        if mismatches:
            raise CommandError(
                _("Restored, but the row counts of %(count)d tables differ from the backup: %(tables)s")
                % {"count": len(mismatches), "tables": ", ".join(mismatches)}
            )
        self.stdout.write(
            self.style.SUCCESS(
                _("Restored %(archive)s: all %(count)d tables match the backup.")
                % {"archive": archive, "count": len(checks)}
            )
        )


def _count(value):
    return "-" if value is None else value
