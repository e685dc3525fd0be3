"""Load testing the main pages: which pages, how to drive them, and how to report the numbers.

Each app lists its pages in `bench_pages.py`:

    register_page("company list", role="rep", url="/customers/companies/")
    register_page("company detail", role="rep", url=first_company_link)  # url(client) -> path
    register_query("company list", role="manager", queryset=lambda user: ...)  # EXPLAIN ANALYZE
    register_size(lambda: Company.objects.count())  # the app whose rows `--companies` counts

A page's url may be a callable that browses the running server first (to follow a cursor or
open the first row), called once per run. The load generator is plain threads with one
keep-alive connection each, against 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import math
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from django.utils.module_loading import autodiscover_modules

ROLES = ("rep", "manager", "admin")


@dataclass
class Page:
    name: str
    role: str | None  # who browses it: "rep", "manager", "admin", or None when signed out
    url: str | Callable[[Client], str]


@dataclass
class Query:
    name: str
    role: str
    queryset: Callable  # (user) -> QuerySet, evaluated as the page would


_pages: list[Page] = []
_queries: list[Query] = []
_size: list[Callable[[], int]] = []


def register_page(name: str, *, role: str | None, url: str | Callable[[Client], str]) -> None:
    _pages[:] = [p for p in _pages if p.name != name]
    _pages.append(Page(name=name, role=role, url=url))


def register_query(name: str, *, role: str, queryset: Callable) -> None:
    _queries[:] = [q for q in _queries if (q.name, q.role) != (name, role)]
    _queries.append(Query(name=name, role=role, queryset=queryset))


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


class Client:
    """A minimal HTTP/1.1 client for one server on 127.0.0.1, carrying one session's cookies."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None, timeout: float = 60):
        self.port = port
        self.cookies = dict(cookies or {})
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, str, dict]:
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept-Language": "zh-hans"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=headers)
                response = self._conn.getresponse()
                data = response.read()
            except (http.client.HTTPException, ConnectionError):
                # The server closed a kept-alive connection; one fresh try.
                self.close()
                if attempt:
                    raise
                continue
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            if response.headers.get("Connection", "").lower() == "close":
                self.close()
            return response.status, data.decode("utf-8", "replace"), dict(response.headers)
        raise AssertionError("unreachable")

    def get(self, path: str) -> tuple[int, str]:
        status, body, _headers = self.request("GET", path)
        return status, body

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def log_in(port: int, username: str, password: str) -> Client:
    client = Client(port)
    status, body = client.get("/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if status != 200 or not token:
        raise RuntimeError(f"login page answered {status}")
    form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)})
    status, _body, headers = client.request("POST", "/accounts/login/", body=form)
    if status != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"signing in as {username} failed ({status})")
    return client


def first_link(pattern: str) -> Callable[[str], str | None]:
    """A finder for the first href in a page matching `pattern` (a regular expression)."""
    regex = re.compile(r'href="(' + pattern + r')"')

    def find(body: str) -> str | None:
        match = regex.search(body)
        return unescape(match.group(1)) if match else None

    return find


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        index = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
        return ordered[index]


@dataclass
class Target:
    name: str
    path: str
    cookies: dict[str, str]


def run_load(port: int, targets: list[Target], *, users: int, seconds: float) -> tuple[dict[str, Stats], float]:
    """`users` threads cycle through the targets for `seconds`; returns stats per target and elapsed time."""
    results = {t.name: Stats() for t in targets}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    start = threading.Barrier(users + 1)

    def user(number: int) -> None:
        clients = {}
        order = list(targets)
        random.Random(number).shuffle(order)
        local: list[tuple[str, float, bool]] = []
        start.wait()
        i = 0
        while time.monotonic() < deadline:
            target = order[i % len(order)]
            i += 1
            client = clients.get(target.name)
            if client is None:
                client = clients[target.name] = Client(port, target.cookies)
            began = time.perf_counter()
            try:
                status, _body = client.get(target.path)
                ok = status == 200
            except Exception:  # any failure counts as an error; the run goes on
                ok = False
                client.close()
            local.append((target.name, time.perf_counter() - began, ok))
        for client in clients.values():
            client.close()
        with lock:
            for name, elapsed, ok in local:
                if ok:
                    results[name].latencies.append(elapsed)
                else:
                    results[name].errors += 1

    threads = [threading.Thread(target=user, args=(n,), daemon=True) for n in range(users)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    return results, time.monotonic() - began


def results_table(results: dict[str, Stats], elapsed: float) -> list[str]:
    lines = [
        "| page | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    everything = Stats()
    for name, stats in results.items():
        everything.latencies += stats.latencies
        everything.errors += stats.errors
        lines.append(_row(name, stats, elapsed))
    lines.append(_row("**all pages**", everything, elapsed))
    return lines


def _row(name: str, stats: Stats, elapsed: float) -> str:
    count = len(stats.latencies)
    return (
        f"| {name} | {count} | {count / elapsed:.1f} | {stats.percentile(50) * 1000:.0f} | "
        f"{stats.percentile(95) * 1000:.0f} | {stats.percentile(99) * 1000:.0f} | {stats.errors} |"
    )


def replace_section(document: str, key: str, section: str) -> str:
    """Put `section` between this key's markers in `document`, keeping every other section."""
    begin, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    block = f"{begin}\n{section.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(document):
        return pattern.sub(lambda _m: block, document)
    return document.rstrip() + "\n\n" + block + "\n"


def section_text(document: str, key: str) -> str:
    begin, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    match = re.search(re.escape(begin) + r"(.*?)" + re.escape(end), document, re.S)
    return match.group(1) if match else ""
