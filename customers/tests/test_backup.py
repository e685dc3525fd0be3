"""`manage.py backup` and `manage.py restore` bring back the customers and files as they were."""

import json
import stat
import tarfile

import pytest
from django.core.management import CommandError, call_command

from crm.backup import table_row_counts
from crm.models import User
from crm.testing import build_cast
from customers.models import Company
from customers.tests.factories import CompanyFactory

# pg_dump and pg_restore work outside the test's transaction; the tables are flushed and the
# initial rows (roles, permissions) reloaded afterwards.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    (settings.MEDIA_ROOT / "attachments").mkdir(parents=True)
    (settings.MEDIA_ROOT / "attachments" / "合同.pdf").write_bytes(b"%PDF-1.4 contract")
    return settings.MEDIA_ROOT


def _backup(tmp_path, capsys) -> tuple:
    call_command("backup", "--output", str(tmp_path / "backups"))
    [archive] = (tmp_path / "backups").glob("crm-backup-*.tar.gz")
    return archive, capsys.readouterr().out


def test_restore_brings_back_deleted_rows_and_files(tmp_path, media, capsys):
    cast = build_cast()
    CompanyFactory.create_batch(3, owner=cast.owner, team=cast.team)
    before = table_row_counts()
    archive, output = _backup(tmp_path, capsys)
    assert str(archive) in output

    Company.objects.all().delete()
    User.objects.filter(pk=cast.outsider.pk).delete()
    (media / "attachments" / "合同.pdf").unlink()
    (media / "stray.txt").write_text("written after the backup")

    call_command("restore", str(archive), "--yes")

    output = capsys.readouterr().out
    assert "all" in output and "match the backup" in output
    assert Company.objects.count() == 3
    assert User.objects.filter(username=cast.outsider.username).exists()
    assert table_row_counts() == before
    assert (media / "attachments" / "合同.pdf").read_bytes() == b"%PDF-1.4 contract"
    assert not (media / "stray.txt").exists()


def test_the_archive_has_a_manifest_with_row_counts_and_is_private(tmp_path, media, capsys):
    cast = build_cast()
    CompanyFactory.create_batch(2, owner=cast.owner, team=cast.team)

    archive, _ = _backup(tmp_path, capsys)

    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))
    assert {"manifest.json", "database.dump", "media/attachments/合同.pdf"} <= set(names)
    assert manifest["database"].startswith("test_")
    assert manifest["app_version"] != "unknown"
    assert manifest["row_counts"]["customers_company"] == 2
    assert manifest["row_counts"]["crm_user"] == User.objects.count()


def test_restore_refuses_without_yes_and_changes_nothing(tmp_path, media, capsys):
    cast = build_cast()
    CompanyFactory(owner=cast.owner, team=cast.team)
    archive, _ = _backup(tmp_path, capsys)
    Company.objects.all().delete()

    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", str(archive))

    assert Company.objects.count() == 0
