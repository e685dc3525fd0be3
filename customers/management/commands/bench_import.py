"""`make bench` (imports): time and peak memory of the worker reading and importing large files.

Each step runs in a fresh process against a database of its own (`<database>_bench_import`),
as the worker would run it, and reports the process's peak resident memory: the reading of a
20 MB CSV, of the same rows as XLSX, of a workbook past the row limit (refused at the first row
beyond it) and of a 5 KB workbook claiming a cell at XFD1048576; then the import of the CSV's
first rows through the services. Writes its section of docs/benchmarks.md.
"""

import csv
import io
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from crm import benchmark
from crm.management.commands.bench import DOC, DOC_HEADER
from crm.management.commands.bench import Command as PageBench

TARGET_BYTES = 20 * 1024 * 1024
HEADERS = ["公司名称", "城市", "电话", "邮箱", "网址", "行业", "备注"]
CITIES = ["上海", "北京", "深圳", "广州", "杭州", "成都", "Berlin", "London"]
INDUSTRIES = ["制造", "零售", "金融", "教育"]


def _row(number: int, rng: random.Random) -> list[str]:
    return [
        f"星河科技有限公司{number:06d}",
        rng.choice(CITIES),
        f"0755-{number:08d}",
        f"info{number}@example{number % 97}.cn",
        f"https://www.example{number}.cn",
        rng.choice(INDUSTRIES),
        "客户关系良好，定期回访。" * rng.randint(2, 6) + f"第{number}号",
    ]


def write_files(folder: Path) -> dict[str, Path]:
    """The benchmark's files: a 20 MB CSV (under the row limit), its rows as XLSX, a workbook of
    250,000 rows (past the limit) and a 5 KB workbook claiming a cell at XFD1048576."""
    import xlsxwriter

    rng = random.Random(20)  # noqa: S311 - made-up data
    rows, buffer = [], io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    size = len(buffer.getvalue().encode())
    while True:  # rows up to just under the upload limit
        row = _row(len(rows) + 1, rng)
        line = io.StringIO()
        csv.writer(line).writerow(row)
        size += len(line.getvalue().encode())
        if size > TARGET_BYTES:
            break
        rows.append(row)
        writer.writerow(row)
    files = {"csv": folder / "companies-20mb.csv"}
    files["csv"].write_bytes(buffer.getvalue().encode())

    def workbook(path: Path, count: int) -> None:
        book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_urls": False})
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, HEADERS)
        for number in range(1, count + 1):
            sheet.write_row(number, 0, rows[(number - 1) % len(rows)])
        book.close()

    files["xlsx"] = folder / "companies.xlsx"
    workbook(files["xlsx"], len(rows))
    files["xlsx_over"] = folder / "companies-250k.xlsx"
    workbook(files["xlsx_over"], 250_000)
    files["crafted"] = folder / "crafted.xlsx"
    book = xlsxwriter.Workbook(str(files["crafted"]))
    sheet = book.add_worksheet()
    sheet.write(0, 0, "公司名称")
    sheet.write(1, 0, "远山贸易")
    sheet.write(1_048_575, 16_383, "far away")
    book.close()
    return files


def peak_memory_mb() -> int:
    """This process's peak resident memory since it started (VmHWM). Not getrusage's ru_maxrss:
    on Linux that carries over the peak of the process this one was forked from."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


class Command(BaseCommand):
    help = "Measure the worker's time and peak memory reading and importing large files; writes docs/benchmarks.md."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=20_000, help="Rows of the 20 MB CSV to import.")
        parser.add_argument("--no-doc", action="store_true", help="Print the results only.")
        parser.add_argument("--inside", nargs=2, metavar=("STEP", "FILE"), help="(internal) run one step")

    def handle(self, *args, **options):
        if options["inside"]:
            return self.run_step(*options["inside"], rows=options["rows"])
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL: set DATABASE_URL.")
        pages = PageBench()
        url = pages.default_url(0).replace("_bench_0", "_bench_import")
        pages.create_database(url)
        env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", **pages.field_keys()}
        env.pop("REDIS_URL", None)  # the steps run the task's function themselves
        self.step("migrate", "-", env)
        with tempfile.TemporaryDirectory(prefix="crm-bench-import-") as folder:
            started = time.monotonic()
            files = write_files(Path(folder))
            self.stdout.write(f"files written in {time.monotonic() - started:.0f} s")
            results = [self.step("baseline", "-", env)]
            for key in ("csv", "xlsx", "xlsx_over", "crafted"):
                results.append(self.step("read", str(files[key]), env))
            results.append(self.step("import", str(files["csv"]), env, rows=options["rows"]))
        section = self.section(results)
        self.stdout.write(section)
        if not options["no_doc"]:
            document = DOC.read_text() if DOC.exists() else DOC_HEADER
            DOC.write_text(benchmark.replace_section(document, "import", section))
            self.stdout.write(self.style.SUCCESS(f"wrote {DOC}"))

    def step(self, step: str, file: str, env: dict, rows: int = 0) -> dict:
        argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "bench_import", "--inside", step, file]
        argv += ["--rows", str(rows)]
        completed = subprocess.run(argv, env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, check=False)  # noqa: S603
        if completed.returncode:
            raise CommandError(f"step {step} {file} failed:\n{completed.stderr[-3000:]}")
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        self.stdout.write(json.dumps(result, ensure_ascii=False))
        return result

    # --- one step, in its own process ---------------------------------------------------------

    def run_step(self, step: str, file: str, *, rows: int) -> None:
        from django.contrib.auth.models import Group

        from crm import roles
        from crm.models import Team, TeamMembership, User
        from crm.services import team_create, team_set_member
        from customers.importing import running, service
        from customers.models import ImportBatch

        if step == "migrate":
            call_command("migrate", verbosity=0, interactive=False)
            # The results table quotes the worker's messages: in English, like the rest of the doc.
            User.objects.filter(username="bench-importer").update(language="en")
            if not User.objects.filter(username="bench-importer").exists():
                user = User.objects.create_user(username="bench-importer", password=None, language="en")
                user.groups.add(Group.objects.get(name=roles.SALES_REP))
                team = Team.objects.filter(name="导入基准").first() or team_create(name="导入基准")
                team_set_member(team=team, user=user, role=TeamMembership.Role.MEMBER)
            print(json.dumps({"step": step}))
            return
        user = User.objects.get(username="bench-importer")
        result = {"step": step, "file": Path(file).name if file != "-" else "", "size": 0}
        started = time.monotonic()
        if step in ("read", "import"):
            path = Path(file)
            result["size"] = path.stat().st_size
            with path.open("rb") as handle:
                from django.core.files import File

                batch = service.import_create(
                    actor=user, target="companies", filename=path.name, data=File(handle, name=path.name), queue=False
                )
            running.import_run(batch_id=batch.pk)
            batch.refresh_from_db()
            result.update(read_seconds=round(time.monotonic() - started, 2), rows=batch.total)
            result["outcome"] = batch.message if batch.status == "failed" else f"{batch.total} rows read"
            if step == "import":
                service.import_configure(
                    batch=batch,
                    actor=user,
                    mapping=batch.mapping,
                    duplicates=ImportBatch.Duplicates.CREATE,
                    company_policy=batch.company_policy,
                    team=None,
                )
                service.import_start(batch=batch, actor=user, dry_run=False, queue=False)
                importing = time.monotonic()
                running.import_run(batch_id=batch.pk, max_chunks=max(1, rows // running.CHUNK_SIZE))
                batch.refresh_from_db()
                seconds = time.monotonic() - importing
                result.update(
                    imported=batch.created_count,
                    errors=batch.error_count,
                    import_seconds=round(seconds, 1),
                    rows_per_second=round(batch.done / seconds) if seconds else 0,
                )
        result["peak_rss_mb"] = peak_memory_mb()
        print(json.dumps(result, ensure_ascii=False))

    def section(self, results: list[dict]) -> str:
        baseline = next(r for r in results if r["step"] == "baseline")["peak_rss_mb"]
        lines = [
            "## Imports: the worker's time and memory",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, with `manage.py bench_import` (part of `make bench`). "
            "Each step is a fresh process running what the worker runs (`running.import_run`); "
            f"peak memory is the process's maximum resident size, of which {baseline} MB is Django "
            "and the project loaded, before any file is opened.",
            "",
            "| step | file | size | rows | time | peak memory | above baseline | outcome |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for r in results:
            if r["step"] == "baseline":
                continue
            seconds = r.get("read_seconds", 0)
            outcome = r.get("outcome", "")
            if r["step"] == "import":
                seconds = r["import_seconds"]
                outcome = f"{r['imported']:,} companies imported, {r['errors']} rejected; {r['rows_per_second']} rows/s"
            lines.append(
                f"| {r['step']} | {r['file']} | {r['size'] / 1024 / 1024:.1f} MB | {r.get('rows', 0):,} "
                f"| {seconds:.1f} s | {r['peak_rss_mb']} MB | {r['peak_rss_mb'] - baseline} MB | {outcome} |"
            )
        return "\n".join(lines)
