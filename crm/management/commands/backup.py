from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from crm.backup import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database (pg_dump) and the media files into one timestamped .tar.gz archive."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", type=Path, default=None, help="Directory for the archive (default: settings.BACKUP_DIR)."
        )

    def handle(self, *args, output, **options):
        try:
            archive = backup_create(output_dir=output or Path(settings.BACKUP_DIR))
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(self.style.SUCCESS(_("Backup written to %(archive)s") % {"archive": archive}))
