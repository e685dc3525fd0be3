"""`make bench`: load a bench database, serve it with gunicorn, measure the main pages."""

import base64
import os
import platform
import secrets
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _
from psycopg import sql

from crm import benchmark, roles
from crm.datagen import generate
from crm.models import TeamMembership, User

DOC = Path(settings.BASE_DIR) / "docs" / "benchmarks.md"
LOAD_NOTES = Path(settings.BASE_DIR) / "var" / "bench"
DOC_HEADER = """# Benchmarks

Measured with `make bench` (`manage.py bench --companies N`): generated data (`generate_data`,
no audit entries) in a database of its own, gunicorn with production settings (DEBUG off) on
127.0.0.1, and threads with keep-alive connections cycling through the pages at 1, 10 and 50
concurrent users. A rep owns about 1/50 of the companies; a manager sees their team's tenth;
the admin sees everything. The load generator runs on the same machine and takes CPU too.
Each section below is rewritten by the next run at that size.
"""
BENCH_USERS = {"rep": roles.SALES_REP, "manager": roles.SALES_MANAGER, "admin": roles.ADMINISTRATOR}


class Command(BaseCommand):
    help = _(
        "Measure the main pages under load against a bench database of generated data "
        "(created and filled as needed) and write docs/benchmarks.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--companies", type=int, default=10_000)
        parser.add_argument("--users", type=int, nargs="+", default=[1, 10, 50], help=_("Concurrency levels."))
        parser.add_argument("--seconds", type=float, default=20, help=_("Duration of each level."))
        parser.add_argument("--workers", type=int, default=4, help=_("gunicorn workers."))
        parser.add_argument(
            "--database-url",
            help=_("Bench database (created if missing); default: <database>_bench_<companies> on the same server."),
        )
        parser.add_argument("--no-doc", action="store_true", help=_("Print the results only."))
        parser.add_argument("--inside", action="store_true", help="(internal) run against the bench database")

    def handle(self, *args, **options):
        if options["inside"]:
            return self.run_inside(**options)
        if connection.vendor != "postgresql":
            raise CommandError(_("The benchmark needs PostgreSQL: set DATABASE_URL."))
        url = options["database_url"] or self.default_url(options["companies"])
        self.create_database(url)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_COOKIE_SECURE": "false",
            # No Celery worker runs during the benchmark; /healthz checks the database and Redis.
            "HEALTHZ_CHECK_CELERY": "false",
            "LOG_LEVEL": "WARNING",
            **self.field_keys(),
        }
        argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "bench", "--inside"]
        argv += ["--companies", str(options["companies"]), "--seconds", str(options["seconds"])]
        argv += ["--workers", str(options["workers"]), "--users", *map(str, options["users"])]
        if options["no_doc"]:
            argv.append("--no-doc")
        completed = subprocess.run(argv, env=env, cwd=settings.BASE_DIR, check=False)  # noqa: S603
        if completed.returncode:
            raise CommandError(_("The benchmark failed."))

    def field_keys(self) -> dict[str, str]:
        """Encryption keys of the bench databases, kept in var/bench.env apart from the real ones.

        A bench database outlives a run and any change to `.env`, so its keys must too; they
        protect made-up data only.
        """
        path = Path(settings.BASE_DIR) / "var" / "bench.env"
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            path.write_text(
                f"FIELD_ENCRYPTION_KEYS={base64.b64encode(secrets.token_bytes(32)).decode()}\n"
                f"FIELD_BLIND_INDEX_KEY={base64.b64encode(secrets.token_bytes(32)).decode()}\n"
            )
            path.chmod(0o600)
        return dict(line.split("=", 1) for line in path.read_text().split())

    def default_url(self, companies: int) -> str:
        db = connection.settings_dict
        user = db.get("USER") or "postgres"
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}_bench_{companies}"

    def create_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1].split("?")[0]
        server = url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(server, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                self.stdout.write(f"created database {name}")

    # --- inside the bench database -----------------------------------------------------------

    def run_inside(self, *, companies, users, seconds, workers, no_doc, **options):
        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        present = benchmark.loaded_size()
        load_note = ""
        if present < companies:
            self.stdout.write(f"generating {companies - present} companies (no audit entries)...")
            started = time.monotonic()
            generate(companies=companies - present, seed=present + 1, log=lambda m: self.stdout.write(f"  {m}"))
            took = time.monotonic() - started
            load_note = (
                f"`generate_data --companies {companies - present}` took {took:.0f} s on this machine "
                f"(load average {os.getloadavg()[0]:.1f} at the end)."
            )
            self.stdout.write(load_note)
            # Kept beside the database, so a later run that fails to serve can still report it.
            LOAD_NOTES.mkdir(parents=True, exist_ok=True)
            (LOAD_NOTES / f"{connection.settings_dict['NAME']}.txt").write_text(load_note)
        elif (LOAD_NOTES / f"{connection.settings_dict['NAME']}.txt").exists():
            load_note = (LOAD_NOTES / f"{connection.settings_dict['NAME']}.txt").read_text()
        people = self.bench_people()
        explains = self.explain(people)

        port = free_port()
        server = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "crm.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=settings.BASE_DIR,
            env=os.environ.copy(),
        )
        try:
            wait_until_up(port, server)
            sessions = {
                role: benchmark.log_in(port, user.username, password) for role, (user, password) in people.items()
            }
            targets = []
            for page in benchmark.pages():
                client = sessions[page.role] if page.role else benchmark.Client(port)
                path = page.url(client) if callable(page.url) else page.url
                cookies = dict(client.cookies) if page.role else {}
                targets.append(benchmark.Target(name=page.name, path=path, cookies=cookies))
            levels = []
            for level in users:
                self.stdout.write(f"{level} concurrent users for {seconds:.0f} s...")
                load_before = os.getloadavg()[0]
                results, elapsed = benchmark.run_load(port, targets, users=level, seconds=seconds)
                table = benchmark.results_table(results, elapsed)
                table.append("")
                table.append(f"Load average before this level: {load_before:.1f} (other work on the machine counts).")
                self.stdout.write("\n".join(table))
                levels.append((level, table))
        finally:
            server.terminate()
            server.wait(timeout=30)

        section = self.section(companies, workers, seconds, levels, explains, load_note)
        if no_doc:
            return
        document = DOC.read_text() if DOC.exists() else DOC_HEADER
        if not load_note:
            previous = benchmark.section_text(document, str(companies))
            earlier = [line for line in previous.splitlines() if line.startswith("`generate_data")]
            section = section.replace(
                "<!-- load -->", earlier[0] if earlier else "The data was loaded by an earlier run, not timed here."
            )
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(benchmark.replace_section(document, str(companies), section))
        self.stdout.write(self.style.SUCCESS(f"wrote {DOC}"))

    def bench_people(self) -> dict[str, tuple[User, str]]:
        """One rep, one team manager and one administrator, with a fresh password each."""
        managers = TeamMembership.objects.filter(role=TeamMembership.Role.MANAGER).values("user_id")
        candidates = {
            "rep": User.objects.filter(groups__name=roles.SALES_REP, memberships__isnull=False),
            "manager": User.objects.filter(groups__name=roles.SALES_MANAGER, pk__in=managers),
            "admin": User.objects.filter(groups__name=roles.ADMINISTRATOR),
        }
        people = {}
        for role, queryset in candidates.items():
            user = queryset.filter(is_active=True).order_by("id").first()
            if user is None:
                raise CommandError(f"no {BENCH_USERS[role]} to sign in as")
            password = secrets.token_urlsafe(16)
            user.set_password(password)
            user.save(update_fields=["password"])
            people[role] = (user, password)
        return people

    def explain(self, people) -> list[str]:
        lines = []
        for query in benchmark.queries():
            user = people[query.role][0]
            queryset = query.queryset(user)
            statement, params = queryset.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            lines.append(f"**{query.name}, as a {query.role}** (`{user.username}`):\n\n```\n{plan}\n```\n")
        return lines

    def section(self, companies, workers, seconds, levels, explains, load_note) -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
        parts = [
            f"## {companies:,} companies",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, PostgreSQL {pg_version}, "
            f"Python {platform.python_version()}; gunicorn {workers} sync workers; {seconds:.0f} s per level.",
            "",
            load_note or "<!-- load -->",
            "",
        ]
        for level, table in levels:
            parts += [f"### {level} concurrent user{'s' if level > 1 else ''}", "", *table, ""]
        parts += ["### Query plans", "", "<details><summary>EXPLAIN ANALYZE</summary>", "", *explains, "</details>"]
        return "\n".join(parts)


def machine() -> str:
    cpus = os.cpu_count()
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.0f} GB RAM"
    except OSError:
        pass
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = f" ({line.split(':', 1)[1].strip()})"
                break
    except OSError:
        pass
    return f"{cpus} CPUs{model}{memory}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CommandError(
                _("gunicorn exited (status %(code)s); see its errors above.") % {"code": server.returncode}
            )
        try:
            status, _body = benchmark.Client(port, timeout=5).get("/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise CommandError(_("gunicorn did not answer /healthz within %(s)d s") % {"s": timeout})
