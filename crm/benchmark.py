"""Load testing the main pages: which pages, how to drive them, and how to report the numbers.

Each app lists its pages in `bench_pages.py`:

    register_page("company list (rep)", role="rep", url="/customers/companies/", kind="list", weight=4)
    register_page("company detail (rep)", role="rep", url=first_company_link, kind="detail")
    register_query("company list", role="manager", queryset=lambda user: ...)  # EXPLAIN ANALYZE
    register_size(lambda: Company.objects.count())  # the app whose rows `--companies` counts
    register_job("SLA recomputation", run=lambda: recompute_open(limit=10_000))  # background work, timed

A page's url may be a callable that browses first (to follow a cursor or open the first row),
called once per run with a `Browser` signed in as the page's role. `kind` groups pages in the
charts and sets their time budget; `weight` is how often the role's simulated user opens the page
(0: measured on its own, left out of the load). The load itself comes from Locust
(`crm/bench_locust.py`), run headless in a process of its own: one user class per role, mixed as
`ROLE_MIX` says, each user waiting a constant think time between two pages.

A job is background work a worker does (a beat task, a recomputation): run once in-process
inside a transaction that is rolled back, so the bench database stays as it was; it returns how
many items it handled, and the report gives its time and rate.
"""

from __future__ import annotations

import gc
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Protocol

from django.db import connection
from django.template import Context, Engine
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.module_loading import autodiscover_modules

ROLES = ("rep", "manager", "agent", "admin")
# How many simulated users of each role in a crowd: 13 users are 7 sales reps, 2 sales managers,
# 3 support agents and 1 administrator.
ROLE_MIX = {"rep": 7, "manager": 2, "agent": 3, "admin": 1}
KINDS = {
    "list": "lists",
    "search": "searches",
    "detail": "detail pages",
    "board": "board and forecast",
    "other": "other pages",
}
# Server time a page may take, in-process at one user, and its ratio to a bare page of its size.
BUDGET_MS = {"list": 30, "search": 30, "detail": 30, "board": 50}
RATIO_BUDGET = 1.5
LANGUAGE = "zh-hans"
LOCUSTFILE = Path(__file__).with_name("bench_locust.py")


class NoData(RuntimeError):
    """Raised by a page's url callable when the bench database holds nothing for the page to show
    (a size generated with only some tables): the page is left out and the report says so."""


class Browser(Protocol):
    def get(self, path: str) -> tuple[int, str]: ...


@dataclass
class Page:
    name: str
    role: str | None  # who browses it: a key of ROLE_MIX, or None when signed out
    url: str | Callable[[Browser], str]
    kind: str = "other"
    weight: int = 1


@dataclass
class Query:
    name: str
    role: str
    queryset: Callable  # (user) -> QuerySet, evaluated as the page would


@dataclass
class Job:
    name: str
    run: Callable[[], int]  # does the work; returns how many items it handled


@dataclass
class JobTime:
    name: str
    items: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


_pages: list[Page] = []
_queries: list[Query] = []
_jobs: list[Job] = []
_size: list[Callable[[], int]] = []


def register_page(
    name: str,
    *,
    role: str | None,
    url: str | Callable[[Browser], str],
    kind: str = "other",
    weight: int = 1,
) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown page kind {kind!r}")
    _pages[:] = [p for p in _pages if p.name != name]
    _pages.append(Page(name=name, role=role, url=url, kind=kind, weight=weight))


def register_query(name: str, *, role: str, queryset: Callable) -> None:
    _queries[:] = [q for q in _queries if (q.name, q.role) != (name, role)]
    _queries.append(Query(name=name, role=role, queryset=queryset))


def register_job(name: str, *, run: Callable[[], int]) -> None:
    _jobs[:] = [j for j in _jobs if j.name != name]
    _jobs.append(Job(name=name, run=run))


def jobs() -> list[Job]:
    autodiscover_modules("bench_pages")
    return list(_jobs)


class _RolledBack(Exception):
    pass


def time_job(job: Job) -> JobTime:
    """Run `job` once in a transaction rolled back afterwards; its items and wall time."""
    from django.db import transaction

    items = 0
    started = time.perf_counter()
    try:
        with transaction.atomic():
            items = job.run()
            seconds = time.perf_counter() - started
            raise _RolledBack
    except _RolledBack:
        pass
    return JobTime(name=job.name, items=items, seconds=seconds)


def job_table(times: list[JobTime]) -> list[str]:
    lines = ["| job | items | seconds | items/s |", "|---|---:|---:|---:|"]
    for t in times:
        lines.append(f"| {t.name} | {t.items:,} | {t.seconds:.2f} | {t.rate:,.0f} |")
    return lines


def register_size(count: Callable[[], int]) -> None:
    """Declare how the bench database's size is counted: the companies already loaded, in the
    unit of `bench --companies` and `generate_data --companies`."""
    _size[:] = [count]


def loaded_size() -> int:
    """How many companies the database holds (0 when no app registered a count)."""
    autodiscover_modules("bench_pages")
    return _size[0]() if _size else 0


def pages() -> list[Page]:
    autodiscover_modules("bench_pages")
    return list(_pages)


def queries() -> list[Query]:
    autodiscover_modules("bench_pages")
    return list(_queries)


def first_link(pattern: str) -> Callable[[str], str | None]:
    """A finder for the first href in a page matching `pattern` (a regular expression)."""
    regex = re.compile(r'href="(' + pattern + r')"')

    def find(body: str) -> str | None:
        match = regex.search(body)
        return unescape(match.group(1)) if match else None

    return find


# --- server time, in-process ---------------------------------------------------------------------


class InProcessBrowser:
    """Django's test client on 127.0.0.1, with the language the load uses; `get` gives status and
    body as the url callables of `register_page` expect."""

    def __init__(self) -> None:
        # A page that fails answers 500 as it would to a person, and the run goes on.
        self.client = Client(raise_request_exception=False, HTTP_HOST="127.0.0.1", HTTP_ACCEPT_LANGUAGE=LANGUAGE)

    def get(self, path: str) -> tuple[int, str]:
        response = self.client.get(path)
        return response.status_code, response.content.decode("utf-8", "replace")

    def sign_in(self, login_path: str, username: str, password: str) -> None:
        response = self.client.post(login_path, {"username": username, "password": password})
        if response.status_code != 302 or "sessionid" not in self.client.cookies:
            raise RuntimeError(f"signing in as {username} failed ({response.status_code})")

    def cookies(self) -> dict[str, str]:
        return {name: morsel.value for name, morsel in self.client.cookies.items()}


def median_ms(call: Callable[[], object], *, runs: int = 15, warmups: int = 3) -> float:
    """The median wall time of `call` in milliseconds, after `warmups` untimed calls, with the
    garbage collector on as in a served request."""
    gc.enable()
    for _ in range(warmups):
        call()
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings) * 1000


class _ShapeParser(HTMLParser):
    """Rows of the page's main content: each table body's rows with their cells, and the list
    items that are not inside another list item (board cards, task lists) with their texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.main_depth = 0  # >0 inside <main>
        self.bodies: list[list[int]] = []  # per <tbody>: cells of each row
        self.in_body = False
        self.items: list[int] = []  # per outermost <li> in <main>: its non-blank texts
        self.li_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.main_depth += 1
        if not self.main_depth:
            return
        if tag == "tbody":
            self.in_body = True
            self.bodies.append([])
        elif tag == "tr" and self.in_body:
            self.bodies[-1].append(0)
        elif tag in ("td", "th") and self.in_body and self.bodies[-1]:
            self.bodies[-1][-1] += 1
        elif tag == "li":
            if not self.li_depth:
                self.items.append(0)
            self.li_depth += 1

    def handle_endtag(self, tag):
        if tag == "main" and self.main_depth:
            self.main_depth -= 1
        elif tag == "tbody":
            self.in_body = False
        elif tag == "li" and self.li_depth:
            self.li_depth -= 1

    def handle_data(self, data):
        if self.main_depth and self.li_depth and data.strip():
            self.items[-1] += 1


def table_shape(html: str) -> tuple[int, int]:
    """Rows and cells per row the page shows: its largest table body inside <main> (cells are
    `<td>`/`<th>`), or else its outermost list items (cells are their texts); (0, 0) if neither."""
    parser = _ShapeParser()
    parser.feed(html)
    parser.close()
    body = max(parser.bodies, key=len, default=[])
    rows = body or parser.items
    if not rows:
        return 0, 0
    return len(rows), round(sum(rows) / len(rows))


LEAN_TEMPLATE = (
    "<table><tbody>{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>"
    "{% endfor %}</tbody></table>"
)


def lean_render_ms(rows: int, cells: int, *, runs: int = 15, warmups: int = 3) -> float:
    """Rendering `rows` × `cells` short strings through a bare Django template (autoescape on)."""
    template = Engine().from_string(LEAN_TEMPLATE)
    data = [[f"value {r}.{c}" for c in range(cells)] for r in range(rows)]
    return median_ms(lambda: template.render(Context({"rows": data})), runs=runs, warmups=warmups)


@dataclass
class ServerTime:
    page: Page
    path: str
    ms: float
    queries: int
    rows: int
    cells: int
    lean_ms: float
    status: int = 200

    @property
    def ratio(self) -> float:
        return self.ms / self.lean_ms if self.lean_ms else 0.0

    @property
    def budget_ms(self) -> int | None:
        return BUDGET_MS.get(self.page.kind)

    def over_ratio(self) -> bool:
        return self.page.role is not None and self.ratio > RATIO_BUDGET

    def over_time(self) -> bool:
        return self.budget_ms is not None and self.ms > self.budget_ms


def measure_page(browser: InProcessBrowser, page: Page, path: str, *, sign_in_ms: float, runs: int = 15) -> ServerTime:
    status, body = browser.get(path)
    if status != 200:
        return ServerTime(page=page, path=path, ms=0, queries=0, rows=0, cells=0, lean_ms=0, status=status)
    ms = median_ms(lambda: browser.get(path), runs=runs)
    with CaptureQueriesContext(connection) as captured:
        browser.get(path)
    rows, cells = table_shape(body)
    lean = sign_in_ms + lean_render_ms(rows, cells, runs=runs)
    return ServerTime(page=page, path=path, ms=ms, queries=len(captured), rows=rows, cells=cells, lean_ms=lean)


def server_time_table(times: list[ServerTime]) -> list[str]:
    lines = [
        "| page | kind | rows × cells | queries | server p50 ms | lean ms | ratio | budget |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for t in times:
        if t.status != 200:
            lines.append(f"| {t.page.name} | {t.page.kind} | – | – | – | – | – | **status {t.status}** |")
            continue
        ms = _bold(f"{t.ms:.1f}", t.over_time())
        ratio = _bold(f"{t.ratio:.1f}", t.over_ratio())
        if t.page.role is None:
            verdict = "baseline"
        elif t.over_time() or t.over_ratio():
            verdict = "**over**"
        else:
            verdict = "ok"
        lines.append(
            f"| {t.page.name} | {t.page.kind} | {t.rows} × {t.cells} | {t.queries} | {ms} | "
            f"{t.lean_ms:.1f} | {ratio} | {verdict} |"
        )
    return lines


def _bold(text: str, condition: bool) -> str:
    return f"**{text}**" if condition else text


# --- load, through Locust -------------------------------------------------------------------------


@dataclass
class PageStats:
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float


@dataclass
class Level:
    label: str
    users: int
    think: float
    seconds: float
    pages: list[PageStats]
    total: PageStats
    groups: dict[str, PageStats] = field(default_factory=dict)
    load_before: float = 0.0


def locust_plan(targets: list[tuple[Page, str]], cookies: dict[str, dict[str, str]], *, host: str) -> dict:
    """What the Locust users do: per role, its weight in the crowd, its session and its pages."""
    roles = {}
    for role in ROLES:
        weighted = [(page, path) for page, path in targets if page.role == role and page.weight > 0]
        if weighted and ROLE_MIX.get(role):
            roles[role] = {
                "weight": ROLE_MIX[role],
                "cookies": cookies[role],
                "pages": [
                    {"name": page.name, "path": path, "weight": page.weight, "group": page.kind}
                    for page, path in weighted
                ],
            }
    order = [page.name for page, _path in targets]
    return {"host": host, "language": LANGUAGE, "roles": roles, "order": order}


def run_locust(
    plan: dict, *, users: int, seconds: float, think: float, workdir: Path, label: str, spawn_seconds: float = 2
) -> Level:
    """Run Locust headless for `seconds` with `users` users and read its statistics back; its
    console summary is kept beside them in `<label>.log`."""
    workdir.mkdir(parents=True, exist_ok=True)
    prefix = workdir / re.sub(r"\W+", "-", label).strip("-")
    plan_path = Path(f"{prefix}-plan.json")
    stats_path = Path(f"{prefix}-stats.json")
    stats_path.unlink(missing_ok=True)
    plan_path.write_text(json.dumps({**plan, "think": think, "stats_out": str(stats_path)}))
    plan_path.chmod(0o600)  # it holds session cookies
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(max(1.0, users / spawn_seconds)),
        "--run-time",
        f"{max(1, round(seconds))}s",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--exit-code-on-error",
        "0",
    ]
    load_before = os.getloadavg()[0]
    with open(f"{prefix}.log", "w") as log:
        completed = subprocess.run(  # noqa: S603
            argv,
            env={**os.environ, "BENCH_PLAN": str(plan_path)},
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=seconds + 120,
            check=False,
        )
    if completed.returncode or not stats_path.exists():
        raise RuntimeError(f"Locust exited with status {completed.returncode}; see {prefix}.log")
    pages, total, groups = parse_stats(json.loads(stats_path.read_text()))
    order = {name: i for i, name in enumerate(plan.get("order", []))}
    pages.sort(key=lambda page: order.get(page.name, len(order)))
    return Level(
        label=label,
        users=users,
        think=think,
        seconds=seconds,
        pages=pages,
        total=total,
        groups=groups,
        load_before=load_before,
    )


def parse_stats(data: dict) -> tuple[list[PageStats], PageStats, dict[str, PageStats]]:
    """What `bench_locust.py` wrote: each page's numbers, the total's and each page group's."""
    pages = [PageStats(**entry) for entry in data["pages"]]
    groups = {group: PageStats(**entry) for group, entry in data["groups"].items()}
    return pages, PageStats(**data["total"]), groups


def results_table(pages: list[PageStats], total: PageStats) -> list[str]:
    lines = [
        "| page | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for stats in [*pages, PageStats(**{**total.__dict__, "name": "**all pages**"})]:
        lines.append(
            f"| {stats.name} | {stats.requests} | {stats.rps:.1f} | {stats.p50:.0f} | "
            f"{stats.p95:.0f} | {stats.p99:.0f} | {stats.failures} |"
        )
    return lines


# --- worker memory --------------------------------------------------------------------------------


def children(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers, for its master)."""
    found = []
    for stat in proc.glob("[0-9]*/stat"):
        try:
            # The command name may hold spaces and parentheses: the fields start after the last ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def rss_kb(pid: int, proc: Path = Path("/proc")) -> int | None:
    try:
        status = (proc / str(pid) / "status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) if match else None


def workers_rss(master: int, proc: Path = Path("/proc")) -> dict[int, int]:
    rss = {pid: rss_kb(pid, proc) for pid in children(master, proc)}
    return {pid: kb for pid, kb in rss.items() if kb is not None}


def memory_table(before: dict[int, int], after: dict[int, int]) -> list[str]:
    lines = [
        "| worker | after warm-up MB | after the load MB | growth MB |",
        "|---|---:|---:|---:|",
    ]
    for pid in sorted(before.keys() | after.keys()):
        start, end = before.get(pid), after.get(pid)
        growth = f"{(end - start) / 1024:+.1f}" if start is not None and end is not None else "(restarted)"
        lines.append(f"| pid {pid} | {_mb(start)} | {_mb(end)} | {growth} |")
    return lines


def _mb(kb: int | None) -> str:
    return f"{kb / 1024:.1f}" if kb is not None else "–"


# --- the document ---------------------------------------------------------------------------------


def replace_section(document: str, key: str, section: str, *, before: str | None = None) -> str:
    """Put `section` between this key's markers in `document`, keeping every other section; a new
    section goes before the section keyed `before` when there is one, else at the end."""
    begin, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    block = f"{begin}\n{section.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(document):
        return pattern.sub(lambda _m: block, document)
    following = document.find(f"<!-- bench:{before} -->") if before is not None else -1
    if following >= 0:
        return document[:following] + block + "\n\n" + document[following:]
    return document.rstrip() + "\n\n" + block + "\n"


def section_keys(document: str) -> list[str]:
    """The keys of the document's sections, in their order."""
    return re.findall(r"<!-- bench:([^ ]+?) -->", document)


def size_section_after(document: str, companies: int) -> str | None:
    """The key of the first section for a larger data size, before which a new size goes."""
    larger = [key for key in section_keys(document) if key.isdigit() and int(key) > companies]
    return larger[0] if larger else None


def section_text(document: str, key: str) -> str:
    begin, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    match = re.search(re.escape(begin) + r"(.*?)" + re.escape(end), document, re.S)
    return match.group(1) if match else ""


def replace_header(document: str, header: str) -> str:
    """The document's introduction (everything before its first `## ` heading) set to `header`."""
    match = re.search(r"^## ", document, re.M)
    rest = document[match.start() :] if match else ""
    return header.rstrip() + "\n\n" + rest


def data_comment(data: dict) -> str:
    """A section's numbers in a form the next run can read back for the charts across sizes."""
    return f"<!-- bench-data {json.dumps(data, sort_keys=True)} -->"


def data_comments(document: str) -> list[dict]:
    return [json.loads(m) for m in re.findall(r"<!-- bench-data (\{.*?\}) -->", document)]


def group_server_ms(times: list[ServerTime]) -> dict[str, float]:
    """Mean in-process median per page kind, over the signed-in pages."""
    by_kind: dict[str, list[float]] = {}
    for t in times:
        if t.page.role is not None and t.status == 200:
            by_kind.setdefault(t.page.kind, []).append(t.ms)
    return {kind: round(statistics.fmean(values), 1) for kind, values in by_kind.items()}
