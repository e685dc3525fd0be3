"""`manage.py restore` refuses what is not a backup (a full round trip: customers/tests/test_backup.py)."""

import pytest
from django.core.management import CommandError, call_command


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    bogus = tmp_path / "notes.tar.gz"
    bogus.write_bytes(b"not an archive")

    with pytest.raises(CommandError, match="not a readable CRM backup"):
        call_command("restore", str(bogus), "--yes")
