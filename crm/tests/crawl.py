"""A page crawler for smoke tests: signed in as one user, follow every link and form on the pages
it reaches, and report each page that fails.

It knows no app: what a page links to is what gets visited, so records come from the data the
user really sees. Each URL pattern is visited once per user for each set of query parameters it
is linked with (a sort, a filter, a next page), a few times at most; the links of a page are
taken in an order shuffled per user, so different users try different sorts and records and the
tour of all of them covers far more than any one. Forms are visited with GET as well: a
POST-only action must answer 405, not fail.

    tour = Tour()
    visitor = Visitor(client, user="li.wei", tour=tour)
    visitor.crawl(["/"])
    visitor.post("/pipeline/calendar/feed/new/")  # and crawl what the answer links to
    visit_siblings({"li.wei": visitor}, tour)  # patterns no page linked, with ids from their neighbours
    assert not tour.failures
"""

from __future__ import annotations

import random
import re
import traceback
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import parse_qsl, urljoin, urlsplit

from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

# Where pages name URLs; a value (a field showing an address to copy) counts only when absolute.
LINK = re.compile(r"""(href|action|hx-get|hx-post|data-url|value)\s*=\s*["']([^"'#<>\s]+)["']""")
PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")
SKIPPED_PREFIXES = ("/static/", "/media/")


@dataclass
class Failure:
    user: str
    url: str
    status: int | str
    found_on: str
    detail: str = ""

    def __str__(self):
        detail = f"\n    {self.detail}" if self.detail else ""
        return f"{self.user}: GET {self.url} -> {self.status} (linked from {self.found_on}){detail}"


@dataclass
class Tour:
    """What the crawls saw: the routes visited, the pages that failed, and who saw what."""

    routes: set[str] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)
    visits: list[tuple[str, str]] = field(default_factory=list)  # (user, url)


def route_of(path: str) -> str | None:
    """The URL pattern a path resolves to ("customers/companies/<int:pk>/"), or None."""
    try:
        return resolve(path).route
    except Resolver404:
        return None


def all_routes() -> set[str]:
    """Every route of the project's URLconf, spelled as `ResolverMatch.route` spells it."""

    def join(prefix: str, pattern) -> str:
        route = str(pattern.pattern)
        return prefix + (route.removeprefix("^") if prefix else route)  # as URLResolver joins them

    def walk(patterns, prefix: str) -> Iterable[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, join(prefix, pattern))
            elif isinstance(pattern, URLPattern):
                yield join(prefix, pattern)

    return set(walk(get_resolver().url_patterns, ""))


def links(body: str, base: str) -> list[str]:
    """The site's own URLs a page links to, posts to or loads, in page order without repeats."""
    found = []
    for attribute, raw in LINK.findall(body):
        url = unescape(raw).strip()
        parts = urlsplit(url)
        if parts.scheme not in ("", "http", "https") or parts.netloc not in ("", "testserver"):
            continue
        if attribute == "value" and not url.startswith(("/", "http")):
            continue
        if not parts.path.startswith("/") and (parts.path or parts.query):
            parts = urlsplit(urljoin(base, url))  # "?sort=name", "../password/"
        if not parts.path.startswith("/") or parts.path.startswith(SKIPPED_PREFIXES):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return list(dict.fromkeys(found))


def _shape(url: str) -> tuple[str, ...]:
    return tuple(sorted({name for name, _value in parse_qsl(urlsplit(url).query, keep_blank_values=True)}))


class Visitor:
    """One user's crawl through one test client."""

    def __init__(self, client: Client, *, user: str, tour: Tour, per_route: int = 2, max_requests: int = 600):
        self.client = client
        self.user = user
        self.tour = tour
        self.per_route = per_route
        self.max_requests = max_requests
        self._shuffle = random.Random(user).shuffle
        self._seen_shapes: set[tuple] = set()
        self._per_route: dict[str, int] = {}
        self._requested: set[str] = set()

    def crawl(self, start: Iterable[str], *, found_on: str = "(start)") -> None:
        """Visit what the client can reach from `start`. A 5xx answer or an exception is a
        failure; so is a 404 on a link a page offered (a link to nothing)."""
        queue = deque((url, found_on) for url in start)
        while queue and len(self._requested) < self.max_requests:
            url, source = queue.popleft()
            route = route_of(urlsplit(url).path)
            if route is None or url in self._requested:
                continue
            shape = (route, _shape(url))
            if shape in self._seen_shapes or self._per_route.get(route, 0) >= self.per_route:
                continue
            found, redirected = self.get(url, route=route, found_on=source)
            # A redirect (the admin's "view on site") only leads on: it does not use up its pattern.
            if not redirected:
                self._seen_shapes.add(shape)
                self._per_route[route] = self._per_route.get(route, 0) + 1
            queue.extend(found)

    def get(self, url: str, *, route: str, found_on: str) -> tuple[list[tuple[str, str]], bool]:
        """Request one page; returns its links as (url, found on) pairs, and whether it redirected."""
        self._requested.add(url)
        self.tour.visits.append((self.user, url))
        self.tour.routes.add(route)
        response = self._answer(lambda: self.client.get(url), url, found_on)
        if response is None:
            return [], False
        if response.status_code == 404 and not found_on.startswith("("):
            self._fail(url, 404, found_on, "a page links to something that is not there")
            return [], False
        return [(link, url) for link in self._links_of(response, url)], response.status_code in (301, 302, 303)

    def post(self, url: str, data: dict | None = None):
        """Submit a form (to set something up) and crawl what the answer leads to; returns the
        answer, or None when it failed (a failure of the tour)."""
        response = self._answer(lambda: self.client.post(url, data or {}), url, "(set-up)", "POST")
        if response is not None:
            self.crawl(self._links_of(response, url), found_on=f"the answer to POST {url}")
        return response

    def _answer(self, request, url: str, found_on: str, method: str = "GET"):
        try:
            response = request()
        except Exception as error:  # noqa: BLE001 - every failure is reported, not just the first
            frames = traceback.extract_tb(error.__traceback__)
            where = next((f"{f.filename}:{f.lineno}" for f in reversed(frames) if "/.venv/" not in f.filename), "")
            self._fail(url, type(error).__name__, found_on, f"{method}: {error} at {where}"[:500])
            return None
        if response.status_code >= 500:
            self._fail(url, response.status_code, found_on, method if method != "GET" else "")
            return None
        return response

    def _links_of(self, response, url: str) -> list[str]:
        if response.status_code in (301, 302, 303):
            return links(f'<a href="{response.get("Location", "")}">', url)
        html = response.get("Content-Type", "").startswith("text/html")
        if response.status_code != 200 or not html or response.streaming:
            return []
        found = links(response.content.decode(response.charset or "utf-8", "replace"), url)
        self._shuffle(found)
        return found

    def _fail(self, url: str, status, found_on: str, detail: str = "") -> None:
        self.tour.failures.append(Failure(self.user, url, status, found_on, detail))


def visit_siblings(visitors: dict[str, Visitor], tour: Tour, routes: Iterable[str]) -> None:
    """Open patterns no page linked (a POST-only action, a stage an import is not in) with the
    values a visited neighbour used: `imports/<int:pk>/resume/` takes the pk of a visited
    `imports/<int:pk>/`, as the user who visited it. Patterns without values are opened by all."""
    seen = [(user, resolve(urlsplit(url).path)) for user, url in tour.visits]
    for route in sorted(routes):
        if route.startswith("^") or "(?P<" in route:
            continue
        names = PARAMETER.findall(route)
        if not names:
            for visitor in visitors.values():
                visitor.get(f"/{route}", route=route, found_on="(sibling)")
            continue
        stem = route[: route.rindex(">") + 1]
        for user, match in seen:
            if match.route.startswith(stem) and set(names) <= set(match.kwargs):
                url = "/" + PARAMETER.sub(lambda m, kwargs=match.kwargs: str(kwargs[m[1]]), route)
                visitors[user].get(url, route=route, found_on="(sibling)")
                break
