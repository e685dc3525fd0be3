"""Backup and restore of the whole CRM: the PostgreSQL database and the uploaded media files.

An archive is one `.tar.gz` holding `manifest.json` (when, which version, which database, and
the row count of every table), `database.dump` (pg_dump's custom format) and `media/`. The row
counts are taken in the same snapshot pg_dump reads, so after a restore they must match exactly.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections, transaction
from django.utils.translation import gettext as _

FORMAT = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
MEDIA = "media"


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message says why, for the operator."""


@dataclass(frozen=True)
class TableCheck:
    table: str
    expected: int | None  # None: the table is not in the backup
    actual: int | None  # None: the table no longer exists

    @property
    def ok(self) -> bool:
        return self.expected == self.actual


def backup_create(*, output_dir: Path) -> Path:
    """Write a timestamped archive of the database and media into `output_dir`; return its path."""
    database = _postgres()
    output_dir.mkdir(parents=True, exist_ok=True)
    created = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="crm-backup-") as work:
        dump = Path(work) / DUMP
        counts = _dump_with_counts(database, dump)
        manifest = {
            "format": FORMAT,
            "created": created.isoformat(),
            "app_version": app_version(),
            "database": database.name,
            "row_counts": counts,
        }
        target = output_dir / f"crm-backup-{created:%Y%m%d-%H%M%S}.tar.gz"
        partial = target.with_name(target.name + ".partial")
        # Customer data: readable by the owner only, from the first byte.
        file = os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
        try:
            with file, tarfile.open(fileobj=file, mode="w:gz") as archive:
                _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode())
                archive.add(dump, arcname=DUMP)
                media_root = Path(settings.MEDIA_ROOT)
                if media_root.is_dir():
                    archive.add(media_root, arcname=MEDIA)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, target)
    return target


def backup_restore(*, archive: Path) -> list[TableCheck]:
    """Replace the database and media with the archive's; return each table's row count check."""
    database = _postgres()
    with tempfile.TemporaryDirectory(prefix="crm-restore-") as work:
        work_dir = Path(work)
        try:
            with tarfile.open(archive, "r:gz") as tar:
                tar.extractall(work_dir, filter="data")
            manifest = json.loads((work_dir / MANIFEST).read_text())
        except (OSError, tarfile.TarError, ValueError) as error:
            raise BackupError(
                _("%(archive)s is not a readable CRM backup: %(error)s") % {"archive": archive, "error": error}
            ) from error
        if manifest.get("format") != FORMAT or not (work_dir / DUMP).is_file():
            raise BackupError(_("%(archive)s is not a CRM backup this version can restore.") % {"archive": archive})
        # Our own idle connections would hold no locks, but a restore should start from none.
        connections.close_all()
        _pg_restore(database, work_dir / DUMP, work_dir)
        _replace_media(work_dir / MEDIA, Path(settings.MEDIA_ROOT))
    return compare_row_counts(manifest["row_counts"], table_row_counts())


def compare_row_counts(expected: dict[str, int], actual: dict[str, int]) -> list[TableCheck]:
    tables = sorted(set(expected) | set(actual))
    return [TableCheck(table, expected.get(table), actual.get(table)) for table in tables]


def table_row_counts() -> dict[str, int]:
    """Exact row count of every table of the database, in the current transaction's view."""
    connection = connections["default"]
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from the catalogue
            counts[table] = cursor.fetchone()[0]
    return counts


def app_version() -> str:
    try:
        with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as file:
            return tomllib.load(file)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


@dataclass(frozen=True)
class _Database:
    name: str
    arguments: list[str]  # connection options common to pg_dump and pg_restore
    environment: dict[str, str]  # the password travels here, never on the command line


def _postgres() -> _Database:
    config = connections["default"].settings_dict
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise BackupError(
            _(
                "Backup and restore need PostgreSQL. With the embedded SQLite database, stop the "
                "server and copy %(file)s and the media directory instead."
            )
            % {"file": config["NAME"]}
        )
    arguments = ["--no-password"]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if config.get(key):
            arguments += [option, str(config[key])]
    environment = {**os.environ}
    if config.get("PASSWORD"):
        environment["PGPASSWORD"] = config["PASSWORD"]
    options = config.get("OPTIONS", {})
    for option, variable in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ):
        if options.get(option):
            environment[variable] = str(options[option])
    return _Database(name=config["NAME"], arguments=arguments, environment=environment)


def _dump_with_counts(database: _Database, dump: Path) -> dict[str, int]:
    connection = connections["default"]
    # Count rows and dump in one snapshot, so that the manifest describes exactly the dump
    # even while people keep working.
    with transaction.atomic(using="default"):
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
        counts = table_row_counts()
        _run(
            [
                _tool("pg_dump"),
                *database.arguments,
                "--format=custom",
                f"--snapshot={snapshot}",
                f"--file={dump}",
                f"--dbname={database.name}",
            ],
            database,
        )
    return counts


def _pg_restore(database: _Database, dump: Path, work_dir: Path) -> None:
    # Extensions the database already has stay as they are: dropping one (pg_trgm) needs its
    # owner, often a superuser, and would take every index built on it along.
    existing = _installed_extensions()
    listing = _run([_tool("pg_restore"), "--list", str(dump)], database)
    kept = [line for line in listing.splitlines() if not _is_extension_entry(line, existing)]
    contents = work_dir / "restore.list"
    contents.write_text("\n".join(kept) + "\n")
    _run(
        [
            _tool("pg_restore"),
            *database.arguments,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--use-list={contents}",
            f"--dbname={database.name}",
            str(dump),
        ],
        database,
    )


def _installed_extensions() -> set[str]:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension")
        return {row[0] for row in cursor.fetchall()}


def _is_extension_entry(line: str, names: set[str]) -> bool:
    match = re.search(r"\b(?:EXTENSION - |COMMENT - EXTENSION )(\S+)", line)
    return bool(match) and match.group(1) in names


def _replace_media(source: Path, target: Path) -> None:
    staging = target.with_name(target.name + ".restoring")
    previous = target.with_name(target.name + ".before-restore")
    shutil.rmtree(staging, ignore_errors=True)
    if source.is_dir():
        shutil.copytree(source, staging)
    else:
        staging.mkdir(parents=True)
    shutil.rmtree(previous, ignore_errors=True)
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    shutil.rmtree(previous, ignore_errors=True)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            _("%(tool)s was not found: install the PostgreSQL client (postgresql-client).") % {"tool": name}
        )
    return path


def _run(command: list[str], database: _Database) -> str:
    result = subprocess.run(command, env=database.environment, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        tool = Path(command[0]).name
        raise BackupError(_("%(tool)s failed: %(error)s") % {"tool": tool, "error": result.stderr.strip()})
    return result.stdout


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o600
    archive.addfile(info, io.BytesIO(data))
