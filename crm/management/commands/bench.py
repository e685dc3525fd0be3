"""`make bench`: load a bench database, serve it with gunicorn, measure the main pages.

Server time per page in-process first, then Locust's simulated users against gunicorn (see
`crm.benchmark`), then the workers' memory; the results go to docs/benchmarks.md with a chart."""

import base64
import os
import platform
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.urls import reverse
from django.utils.translation import gettext as _
from psycopg import sql

from crm import bench_chart, benchmark, roles
from crm.datagen import generate
from crm.models import TeamMembership, User

DOC = Path(settings.BASE_DIR) / "docs" / "benchmarks.md"
LOAD_NOTES = Path(settings.BASE_DIR) / "var" / "bench"
DOC_HEADER = """# Benchmarks

Measured with `make bench` (`manage.py bench --companies N`): generated data (`generate_data`, no
audit entries) in a database of its own, gunicorn with production settings (DEBUG off, Redis as
cache and session store) on 127.0.0.1. Each page's server time is first measured in-process and
set against a bare page of the same size, and background jobs (the SLA recomputation) are timed in
a transaction rolled back. Then Locust, headless in a process of its own, plays sales reps, sales
managers, support agents and administrators (7:2:3:1), each opening a page, waiting a constant 1
s, and opening the next as the page weights in the apps' `bench_pages.py` say: at 1, 10 and 50
concurrent users, then with a few users and no think time to saturate the workers, topped up by a
burst without think time until the workers have served 10,000 requests (`--requests`) or the burst
reaches its longest (`--burst-seconds`); the workers' memory is read before and after. A rep owns
about 1/50 of the companies; a manager sees their team's tenth; an agent works the tickets of one
of four support teams; the admin sees everything. Locust runs on the same cores and takes CPU too.
Each section below is rewritten by the next run at that size; a section without a server-time
table was measured by the earlier load generator (threads cycling through every page without think
time).
"""
BENCH_USERS = {
    "rep": roles.SALES_REP,
    "manager": roles.SALES_MANAGER,
    "agent": roles.SUPPORT_AGENT,
    "admin": roles.ADMINISTRATOR,
}
# Runs of each page in-process, after 3 untimed ones.
SERVER_RUNS = 15


class Command(BaseCommand):
    help = _(
        "Measure the main pages under load against a bench database of generated data "
        "(created and filled as needed) and write docs/benchmarks.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--companies", type=int, default=10_000)
        parser.add_argument(
            "--users", type=int, nargs="+", default=[1, 10, 50], help=_("Concurrent users, one level each.")
        )
        # 4 levels of 45 s, a burst of at most 240 s and the in-process measures: about 10 minutes.
        parser.add_argument("--seconds", type=float, default=45, help=_("Duration of each level."))
        parser.add_argument("--think", type=float, default=1.0, help=_("Seconds each user waits between two pages."))
        parser.add_argument(
            "--requests",
            type=int,
            default=10_000,
            help=_("Requests the workers serve in all; a burst without think time tops the levels up."),
        )
        parser.add_argument("--burst-seconds", type=float, default=240, help=_("Longest duration of that burst."))
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
        if not os.environ.get("REDIS_URL"):
            # Without it sessions, cached roles and choices fall back to the database and to each
            # worker's memory: not what a deployment runs.
            raise CommandError(_("The benchmark needs Redis, as a deployment has: set REDIS_URL."))
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
            # Cached answers of one bench database never meet another's.
            "CACHE_KEY_PREFIX": f"bench:{url.rsplit('/', 1)[1].split('?')[0]}",
            **self.field_keys(),
        }
        argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "bench", "--inside"]
        for option in ("companies", "seconds", "think", "requests", "burst_seconds", "workers"):
            argv += [f"--{option.replace('_', '-')}", str(options[option])]
        argv += ["--users", *map(str, options["users"])]
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

    def run_inside(self, *, companies, users, seconds, think, requests, burst_seconds, workers, no_doc, **options):
        began = time.monotonic()
        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        load_note = self.load(companies)
        people = self.bench_people()
        explains = self.explain(people)
        browsers = self.sign_in(people)
        targets, skipped = [], []
        for page in benchmark.pages():
            if page.role and page.role not in browsers:
                skipped.append(f"{page.name} (no {BENCH_USERS[page.role]} in the data)")
                continue
            browser = browsers[page.role] if page.role else benchmark.InProcessBrowser()
            try:
                targets.append((page, page.url(browser) if callable(page.url) else page.url))
            except benchmark.NoData as reason:
                skipped.append(f"{page.name} ({reason})")
                self.stdout.write(f"not measured: {skipped[-1]}")

        self.stdout.write(f"server time of {len(targets)} pages, in-process ({time.monotonic() - began:.0f} s in)...")
        sign_in_ms, times = self.server_times(targets, browsers)
        self.stdout.write("\n".join(benchmark.server_time_table(times)))
        job_times = [benchmark.time_job(job) for job in benchmark.jobs()]
        self.stdout.write("\n".join(benchmark.job_table(job_times)))

        levels, burst, memory = self.serve_and_load(
            targets,
            browsers,
            users=users,
            seconds=seconds,
            think=think,
            requests=requests,
            burst_seconds=burst_seconds,
            workers=workers,
            began=began,
        )
        took = time.monotonic() - began
        section = self.section(
            companies=companies,
            workers=workers,
            seconds=seconds,
            think=think,
            times=times,
            job_times=job_times,
            sign_in_ms=sign_in_ms,
            levels=levels,
            burst=burst,
            memory=memory,
            explains=explains,
            load_note=load_note,
            skipped=skipped,
            took=took,
        )
        self.stdout.write(f"the run took {took / 60:.1f} min")
        if no_doc:
            return
        self.write_doc(companies, section, load_note=load_note, levels=levels)

    def serve_and_load(
        self, targets, browsers, *, users, seconds, think, requests, burst_seconds, workers, began
    ) -> tuple[list[benchmark.Level], benchmark.Level | None, dict]:
        """Serve the bench database with gunicorn and run Locust's levels against it, then a burst
        until `requests` have been served (at most `burst_seconds`); the workers' memory before
        and after."""
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
        workdir = LOAD_NOTES / "locust" / connection.settings_dict["NAME"]
        cookies = {role: browser.cookies() for role, browser in browsers.items()}
        plan = benchmark.locust_plan(targets, cookies, host=f"http://127.0.0.1:{port}")
        saturate = 2 * workers

        def run(label: str, *, level_users: int, level_seconds: float, level_think: float) -> benchmark.Level:
            self.stdout.write(f"{label} for {level_seconds:.0f} s ({time.monotonic() - began:.0f} s in)...")
            level = benchmark.run_locust(
                plan, users=level_users, seconds=level_seconds, think=level_think, workdir=workdir, label=label
            )
            self.stdout.write("\n".join(benchmark.results_table(level.pages, level.total)))
            return level

        try:
            wait_until_up(port, server)
            warm_up = run("warm-up", level_users=saturate, level_seconds=min(10, seconds), level_think=0)
            rss_before = benchmark.workers_rss(server.pid)
            levels = [
                run(users_label(n, think), level_users=n, level_seconds=seconds, level_think=think) for n in users
            ]
            levels.append(run(users_label(saturate, 0), level_users=saturate, level_seconds=seconds, level_think=0))
            served = sum(level.total.requests for level in levels)
            burst = None
            rate = levels[-1].total.rps
            if served < requests and rate > 0:
                burst_time = min(burst_seconds, (requests - served) / rate * 1.05 + 1)
                burst = run("burst", level_users=saturate, level_seconds=burst_time, level_think=0)
            rss_after = benchmark.workers_rss(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)

        memory = {
            "before": rss_before,
            "after": rss_after,
            "warm_up": warm_up.total.requests,
            "served": served + (burst.total.requests if burst else 0),
        }
        self.stdout.write("\n".join(benchmark.memory_table(rss_before, rss_after)))
        return levels, burst, memory

    def load(self, companies: int) -> str:
        """Generate the companies the database lacks; returns a sentence on how long that took (or
        the one kept from the run that loaded them)."""
        present = benchmark.loaded_size()
        note_file = LOAD_NOTES / f"{connection.settings_dict['NAME']}.txt"
        if present >= companies:
            return note_file.read_text() if note_file.exists() else ""
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
        note_file.write_text(load_note)
        return load_note

    def bench_people(self) -> dict[str, tuple[User, str]]:
        """One sales rep, one sales team manager, one support agent and one administrator, with a
        fresh password each; a role the data has nobody for is left out."""
        managers = TeamMembership.objects.filter(role=TeamMembership.Role.MANAGER).values("user_id")
        candidates = {
            "rep": User.objects.filter(groups__name=roles.SALES_REP, memberships__isnull=False),
            "manager": User.objects.filter(groups__name=roles.SALES_MANAGER, pk__in=managers),
            "agent": User.objects.filter(groups__name=roles.SUPPORT_AGENT, memberships__isnull=False),
            "admin": User.objects.filter(groups__name=roles.ADMINISTRATOR),
        }
        people = {}
        for role, queryset in candidates.items():
            user = queryset.filter(is_active=True).order_by("id").first()
            if user is None:
                # The generated tables make the people: without tickets there is no support desk.
                if role in ("rep", "admin"):
                    raise CommandError(f"no {BENCH_USERS[role]} to sign in as")
                self.stdout.write(f"no {BENCH_USERS[role]} to sign in as: that role's pages are left out")
                continue
            password = secrets.token_urlsafe(16)
            user.set_password(password)
            user.save(update_fields=["password"])
            people[role] = (user, password)
        return people

    def explain(self, people) -> list[str]:
        lines = []
        for query in benchmark.queries():
            if query.role not in people:
                continue
            user = people[query.role][0]
            queryset = query.queryset(user)
            statement, params = queryset.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
            lines.append(f"**{query.name}, as a {query.role}** (`{user.username}`):\n\n```\n{plan}\n```\n")
        return lines

    def sign_in(self, people) -> dict[str, benchmark.InProcessBrowser]:
        """A browser per role, signed in through the sign-in page; Locust's users share its session."""
        browsers = {}
        for role, (user, password) in people.items():
            browsers[role] = benchmark.InProcessBrowser()
            browsers[role].sign_in(reverse("login"), user.username, password)
        return browsers

    def server_times(self, targets, browsers) -> tuple[float, list[benchmark.ServerTime]]:
        signed_out = benchmark.InProcessBrowser()
        login = reverse("login")
        sign_in_ms = benchmark.median_ms(lambda: signed_out.get(login), runs=SERVER_RUNS)
        times = []
        for page, path in targets:
            browser = browsers[page.role] if page.role else signed_out
            times.append(benchmark.measure_page(browser, page, path, sign_in_ms=sign_in_ms, runs=SERVER_RUNS))
        return sign_in_ms, times

    def section(
        self,
        *,
        companies,
        workers,
        seconds,
        think,
        times,
        job_times,
        sign_in_ms,
        levels,
        burst,
        memory,
        explains,
        load_note,
        took,
        skipped=(),
    ):
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            pg_version = cursor.fetchone()[0]
        chart = f"bench-latency-{companies}.svg"
        parts = [
            f"## {companies:,} companies",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, PostgreSQL {pg_version}, "
            f"Python {platform.python_version()}; gunicorn {workers} sync workers; Locust {version('locust')}; "
            f"{seconds:.0f} s per level; the whole run took {took / 60:.1f} min.",
            "",
            load_note or "<!-- load -->",
            "",
            *([f"Not measured, for want of data at this size: {'; '.join(skipped)}.", ""] if skipped else []),
            f"![p95 latency against concurrent users, per page group]({chart})",
            "",
            "### Server time per page",
            "",
            f"In-process (Django's test client signed in as the page's role), median of {SERVER_RUNS} runs "
            "after 3 untimed ones, before any load; queries counted on one more run. *Lean* is what a bare "
            f"page of the same size costs: the sign-in page ({sign_in_ms:.1f} ms) plus a bare Django "
            "template rendering the page's rows × cells (its main table body, or its "
            "list items) as a `<table>` of short strings. Budget: ratio ≤ "
            f"{benchmark.RATIO_BUDGET} for every signed-in page; at most "
            f"{benchmark.BUDGET_MS['list']} ms for lists, searches and detail pages, "
            f"{benchmark.BUDGET_MS['board']} ms for the board and the forecast. Values over budget are bold.",
            "",
            *benchmark.server_time_table(times),
            "",
        ]
        if job_times:
            parts += [
                "### Background jobs",
                "",
                "In-process, once, in a transaction rolled back afterwards (its writes included).",
                "",
                *benchmark.job_table(job_times),
                "",
            ]
        mix = ":".join(str(benchmark.ROLE_MIX[r]) for r in benchmark.ROLES)
        parts += [
            f"Under load: sales reps, sales managers, support agents and administrators {mix}; pages of "
            "weight 0 in `bench_pages.py` "
            "are measured above only.",
            "",
        ]
        for level in levels:
            parts += [f"### {level.label}", "", *benchmark.results_table(level.pages, level.total), ""]
            if not level.think:
                parts += [f"Saturated: **{level.total.rps:.1f} req/s** over all pages.", ""]
            parts += [
                f"Load average before this level: {level.load_before:.1f} (other work on the machine counts).",
                "",
            ]
        if burst:
            parts += [
                f"A burst of {burst.seconds:.0f} s with {burst.users} users and no think time served "
                f"{burst.total.requests} more requests ({burst.total.rps:.1f} req/s, p95 {burst.total.p95:.0f} ms, "
                f"{burst.total.failures} errors).",
                "",
            ]
        parts += [
            "### Worker memory",
            "",
            f"Resident memory (VmRSS) of each gunicorn worker after a warm-up of {memory['warm_up']} requests "
            f"and after the load ({memory['served']} requests).",
            "",
            *benchmark.memory_table(memory["before"], memory["after"]),
            "",
        ]
        parts += ["### Query plans", "", "<details><summary>EXPLAIN ANALYZE</summary>", "", *explains, "</details>"]
        data = {
            "companies": companies,
            "server_ms": benchmark.group_server_ms(times),
            "p95": {level.label: {g: v.p95 for g, v in level.groups.items()} for level in levels},
            "saturated_rps": round(levels[-1].total.rps, 1),
        }
        parts += ["", benchmark.data_comment(data)]
        return "\n".join(parts)

    def write_doc(self, companies: int, section: str, *, load_note: str, levels: list[benchmark.Level]) -> None:
        document = benchmark.replace_header(DOC.read_text() if DOC.exists() else "", DOC_HEADER)
        if not load_note:
            previous = benchmark.section_text(document, str(companies))
            earlier = [line for line in previous.splitlines() if line.startswith("`generate_data")]
            section = section.replace(
                "<!-- load -->", earlier[0] if earlier else "The data was loaded by an earlier run, not timed here."
            )
        before = benchmark.size_section_after(document, companies)
        document = benchmark.replace_section(document, str(companies), section, before=before)
        DOC.parent.mkdir(exist_ok=True)
        (DOC.parent / f"bench-latency-{companies}.svg").write_text(latency_chart(companies, levels))
        sizes = sorted(benchmark.data_comments(document), key=lambda d: d["companies"])
        if len(sizes) > 1:
            (DOC.parent / "bench-size.svg").write_text(size_chart(sizes))
            document = benchmark.replace_section(
                document,
                "sizes",
                "## Server time against the data's size\n\n"
                "![server time per page group against the number of companies](bench-size.svg)",
                before=next(iter(benchmark.section_keys(document)), None),
            )
        DOC.write_text(document)
        self.stdout.write(self.style.SUCCESS(f"wrote {DOC}"))


def users_label(users: int, think: float) -> str:
    plural = "s" if users > 1 else ""
    if think:
        return f"{users} concurrent user{plural}, {think:g} s think time"
    return f"{users} concurrent user{plural}, no think time"


def latency_chart(companies: int, levels: list[benchmark.Level]) -> str:
    think = next((level.think for level in levels if level.think), 0)
    groups = [kind for kind in benchmark.KINDS if any(kind in level.groups for level in levels)]
    return bench_chart.line_chart(
        title=f"p95 latency under load, {companies:,} companies",
        x_label=f"concurrent users (think time {think:g} s; none where marked)",
        y_label="p95 latency (ms)",
        x_values=[f"{level.users}" if level.think else f"{level.users}, no think" for level in levels],
        series={
            benchmark.KINDS[kind]: [level.groups[kind].p95 if kind in level.groups else None for level in levels]
            for kind in groups
        },
    )


def size_chart(sizes: list[dict]) -> str:
    kinds = [kind for kind in benchmark.KINDS if any(kind in size["server_ms"] for size in sizes)]
    return bench_chart.line_chart(
        title="Server time per page (in-process median), by data size",
        x_label="companies",
        y_label="mean of the pages' p50 (ms)",
        x_values=[f"{size['companies']:,}" for size in sizes],
        series={benchmark.KINDS[kind]: [size["server_ms"].get(kind) for size in sizes] for kind in kinds},
    )


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
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise CommandError(_("gunicorn did not answer /healthz within %(s)d s") % {"s": timeout})
