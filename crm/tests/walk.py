"""The "no 500 on any input" walk: every URL pattern of the project, as every person of the cast
and anonymously, GET and POST, with malformed path arguments and parameters.

    cast = build_cast()
    CompanyFactory(owner=cast.owner, team=cast.team)   # real records for the <int:pk> arguments
    check_no_server_errors(cast, namespaces={"customers"}, path_values={"what": ["companies"]})

It knows no app. A survey visits each route once as the administrator, with real ids, and notes
which parameters the view reads (its lookups in request.GET / request.POST), the fields of the
forms that point at it (a valid POST body to spoil one field of) and which methods it accepts.
Then each route gets a sweep (every parameter it reads set at once to each known bad value of its
kind, as the administrator, then once as each other person and anonymously) and a number of
hypothesis examples (any person or anonymous, malformed path arguments, one to three or all
parameters malformed among valid ones, files of random bytes, with or without htmx headers).
Hypothesis is derandomized and keeps no database, so a run tests the same requests everywhere.
Each request runs in a savepoint that is rolled back, so what one request deletes is there for
the next.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import quote, urljoin, urlsplit

from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import QueryDict
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from django.utils.datastructures import MultiValueDict
from django.utils.regex_helper import normalize
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.testing import Cast

# Parameters tried on every route besides the ones the survey saw it read.
COMMON_PARAMS = (
    "q", "page", "after", "before", "cursor", "sort", "order", "owner", "team", "company", "contact",
    "lead", "opportunity", "stage", "pipeline", "status", "month", "year", "quarter", "period", "date",
    "from", "to", "created_from", "created_to", "close", "amount", "id", "min", "max", "kind", "type",
    "size", "per_page", "next", "field", "bucket", "action", "ids", "format", "version", "other",
)  # fmt: skip
TEXT_PARAMS = {"q", "next", "query", "name", "title", "search", "sort", "order", "field", "kind", "type", "status"}


def cursor_text(value) -> str:
    """A keyset cursor holding `value`, as crm.params encodes real ones."""
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Values that broke, or could break, a parser, by the kind of parameter they are aimed at: dates
# at the ends of the calendar, months and quarters of year 0 or 9999, numbers beyond every integer
# type, NaN and infinities, Unicode digits, tampered keyset cursors, NUL and control characters.
MALFORMED = {
    "date": (
        "0001-01-01", "9999-12-31", "0001-01-01T00:00", "9999-12-31T23:59", "0001-01-01 00:00:00",
        "10000-01-01", "0000-00-00", "2024-02-30", "1899-12-31", "3000-01-01",
    ),
    "month": ("9999-12", "0001-01", "0000-01", "0-1", "2024-13", "-2024-01", "9999-1", "10000-01"),
    "period": ("0000-Q1", "9999-Q4", "0000-01", "9999-12", "2024-Q0", "2024-Q9", "99999-Q1"),
    "number": (
        "0", "-1", "1" * 40, str(2**63), str(2**63 - 1), str(-(2**63) - 1), "1e999999", "-1e-999999", "NaN",
        "-nan", "sNaN", "Infinity", "-Infinity", "99999999999999.99", "1,5", "0x1F", "１２", "²", "٣", "1_000",
    ),
    "cursor": (
        cursor_text([None, 1]), cursor_text([None, None]), cursor_text([{"t": None}, 1]),
        cursor_text([{"d": "NaN"}, 1]), cursor_text([{"d": "Infinity"}, 1]),
        cursor_text([{"t": "0001-01-01T00:00"}, 1]), cursor_text([{"t": "9999-12-31T23:59:59+00:00"}, 1]),
        cursor_text([{"d": "1e999999"}, 1]), cursor_text([[], {}]), cursor_text({"a": 1}),
        cursor_text(["a\x00b", 1]), cursor_text([1e308, 10**40]), cursor_text([True, False]),
        cursor_text([-5, "x"]), cursor_text("x"), "====", "e30", "W10",
    ),
    "text": (
        "", " ", "a\x00b", "\x00", "\r\n", "\u2028", "%", "%zz", "<script>alert(1)</script>", "' OR '1'='1",
        "x" * 5000, "中文", "😀", "/", "//evil.example", "http://evil.example/", "-name", "--name", "-",
        "__class__", "pk", "owner__password",
    ),
}  # fmt: skip
ANY_MALFORMED = [value for values in MALFORMED.values() for value in values]
MALFORMED_PATH_VALUES = {
    "int": ("0", str(2**63), "9" * 40, "0001"),
    "str": ("x", "%", "…", "a" * 300, "..", "<b>", "a\x00b"),
    "slug": ("x", "-", "a" * 300),
    "path": ("x", "a/b", "..%2F", "9" * 40),
    "uuid": ("00000000-0000-0000-0000-000000000000",),
    "regex": ("x", "", "auth"),
}
UPLOADS = [("upload.csv", b"\xff\xfe\x41"), ("upload.xlsx", b"PK\x03\x04garbage"), ("upload.vcf", b"\x00" * 9)]


def kind_of(name: str) -> str:
    """Which malformed values suit a parameter, judged by its name."""
    if name in ("after", "before", "cursor"):
        return "cursor"
    if "month" in name:
        return "month"
    if "period" in name or "quarter" in name:
        return "period"
    if "date" in name or name in ("from", "to", "birthday") or name.endswith(("_from", "_to", "_at")):
        return "date"
    if name in TEXT_PARAMS or name.startswith("column_"):
        return "text"
    return "number"


def malformed_values(name: str = ""):
    """A strategy of one raw value for the parameter `name`: mostly the known bad values of its
    kind, else any known bad value, random text or a random keyset cursor."""
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=2),
        max_leaves=6,
    )
    aimed = st.sampled_from(MALFORMED[kind_of(name)])
    return st.one_of(aimed, aimed, st.sampled_from(ANY_MALFORMED), st.text(max_size=20), json_values.map(cursor_text))


# --- Routes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern: its name (or its pattern when unnamed), the path with a `%(argument)s`
    placeholder per argument, and each argument's converter kind."""

    name: str
    template: str
    arguments: dict[str, str]  # argument -> "int", "str", "slug", "path", "uuid" or "regex"
    namespace: str | None = None

    def url(self, values: dict[str, str]) -> str:
        return self.template % {name: quote(value, safe="") for name, value in values.items()}


_CONVERTERS = {"IntConverter": "int", "StringConverter": "str", "SlugConverter": "slug", "PathConverter": "path"}


def project_routes(*, namespaces: set[str | None] | None = None) -> list[Route]:
    """Every URL pattern of the project's URLconf, named or not, optionally only those of
    `namespaces` (None stands for the root's own patterns)."""
    routes = []

    def template_of(pattern) -> str:
        if isinstance(pattern, RoutePattern):
            return re.sub(r"<(?:\w+:)?(\w+)>", r"%(\1)s", str(pattern).replace("%", "%%"))
        return normalize(pattern.regex.pattern)[0][0]

    def walk(patterns, namespace, template, arguments):
        for entry in patterns:
            found = dict(arguments)
            converters = getattr(entry.pattern, "converters", {})
            for name in entry.pattern.regex.groupindex:
                found[name] = _CONVERTERS.get(type(converters.get(name)).__name__, "regex")
            inner_template = template + template_of(entry.pattern)
            if isinstance(entry, URLResolver):
                inner = ":".join(filter(None, [namespace, entry.namespace])) or None
                walk(entry.url_patterns, inner, inner_template, found)
            elif namespaces is None or namespace in namespaces:
                name = entry.name or str(entry.pattern)
                full_name = f"{namespace}:{name}" if namespace else name
                routes.append(Route(full_name, inner_template, found, namespace))

    walk(get_resolver().url_patterns, None, "/", {})
    return routes


def record_ids(route: Route, limit: int = 3) -> list[str]:
    """Ids of stored records of the model a route's name starts with ("company_detail" in the
    customers namespace -> customers.Company), so detail and action pages get real records."""
    namespace = route.namespace
    words = route.name.removeprefix(f"{namespace}:").split("_")
    labels = {namespace.split(":")[-1], "crm"} if namespace else None
    for end in range(len(words), 0, -1):
        for app_config in apps.get_app_configs():
            if labels is not None and app_config.label not in labels:
                continue
            try:
                model = app_config.get_model("".join(words[:end]))
            except LookupError:
                continue
            return [str(pk) for pk in model._default_manager.order_by("-pk").values_list("pk", flat=True)[:limit]]
    return []


# --- The survey ---------------------------------------------------------------------------------


class _FormFields(HTMLParser):
    """The forms of an HTML page: {(method, action): {name: value}}, and the file inputs' names."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: dict[tuple[str, str], dict[str, Any]] = {}
        self.files: set[str] = set()
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name, form = attrs.get("name"), self._form
        if tag == "form":
            key = ((attrs.get("method") or "get").lower(), attrs.get("action") or "")
            self._form = self.forms.setdefault(key, {})
        elif form is None:
            return
        elif tag == "option" and self._select and ("selected" in attrs or not form.get(self._select)):
            form[self._select] = attrs.get("value") or ""
        elif name and tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind == "file":
                self.files.add(name)
            elif kind not in ("checkbox", "radio") or "checked" in attrs:
                form.setdefault(name, attrs.get("value") or "")
        elif name and tag in ("textarea", "select"):
            form.setdefault(name, "")
            self._select = name if tag == "select" else None

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


@contextmanager
def recording_reads(names: set[str]):
    """Note every key a view looks up in request.GET or request.POST."""

    def recording(method):
        def lookup(self, key, *args, **kwargs):
            # Only the request's own parameters (the URL resolver keeps a MultiValueDict too).
            if isinstance(self, QueryDict) and isinstance(key, str) and re.fullmatch(r"[\w.\-\[\]]{1,60}", key):
                names.add(key)
            return method(self, key, *args, **kwargs)

        return lookup

    attributes = ("__getitem__", "get", "getlist", "__contains__")
    patches = [mock.patch.object(MultiValueDict, a, recording(getattr(MultiValueDict, a))) for a in attributes]
    for patch in patches:
        patch.start()
    try:
        yield names
    finally:
        for patch in patches:
            patch.stop()


def send(client: Client, method: str, url: str, payload: dict, headers: dict | None = None):
    """One request in a savepoint rolled back afterwards, signed in again first if an earlier
    request signed the client out (the walk posts to the sign-out page too)."""
    person = getattr(client, "person", None)
    if person is not None and client.session.get("_auth_user_id") != str(person.pk):
        client.force_login(person)
    with transaction.atomic():
        response = getattr(client, method)(url, payload, **(headers or {}))
        transaction.set_rollback(True)
    return response


@dataclass
class Survey:
    """What a first visit as the administrator learnt about each URL."""

    reads: dict[str, set[str]] = field(default_factory=dict)  # parameters the view looked up
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)  # a POST body from the page forms
    files: dict[str, set[str]] = field(default_factory=dict)  # file inputs of those forms
    methods: dict[str, list[str]] = field(default_factory=dict)  # methods not answered with 405

    @classmethod
    def of(cls, client: Client, urls: list[str]) -> Survey:
        survey = cls()
        for url in urls:
            reads = survey.reads.setdefault(url, set())
            with recording_reads(reads):
                # A parameter makes `request.GET or None` true, so filter forms are bound and read.
                response = send(client, "get", url, {"_": "1"})
            survey.methods[url] = [] if response.status_code == 405 else ["get"]
            if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                page = _FormFields(response.content.decode("utf-8", "replace"))
                for (method, action), fields in page.forms.items():
                    target = urlsplit(urljoin(url, action)).path
                    if method == "get":
                        survey.reads.setdefault(target, set()).update(fields)
                    else:
                        survey.bodies.setdefault(target, {}).update(fields)
                        survey.files.setdefault(target, set()).update(page.files)
        for url in urls:
            with recording_reads(survey.reads[url]):
                response = send(client, "post", url, survey.bodies.get(url) or {"_": "1"})
            if response.status_code != 405:
                survey.methods[url].append("post")
            survey.reads[url] -= {"_", "csrfmiddlewaretoken"}
        return survey


def with_files(payload: dict, names, contents: list[tuple[str, bytes]]) -> dict:
    payload = dict(payload)
    for name, (filename, content) in zip(sorted(names), contents, strict=False):
        payload[name] = SimpleUploadedFile(filename, content)
    return payload


# --- Reporting ------------------------------------------------------------------------------------

_ROOT = str(Path(__file__).resolve().parent.parent.parent)


def server_error(response, method: str, url: str, role: str, changed) -> str | None:
    """None for a response below 500, else what was asked and where the project's code failed."""
    if response.status_code < 500:
        return None
    exc_info = getattr(response, "exc_info", None)
    where = "(no exception)"
    if exc_info:
        frames = [
            frame
            for frame in traceback.extract_tb(exc_info[2])
            if frame.filename.startswith(_ROOT) and "/.venv/" not in frame.filename
        ]
        at = f" at {frames[-1].filename[len(_ROOT) + 1 :]}:{frames[-1].lineno}" if frames else ""
        where = f"{exc_info[0].__name__}: {str(exc_info[1])[:200]}{at}"
    return f"{response.status_code} for {method.upper()} {url} as {role} with {changed!r}: {where}"


# --- The walk -------------------------------------------------------------------------------------


def check_no_server_errors(
    cast: Cast,
    *,
    namespaces: set[str | None] | None = None,
    path_values: dict[str, list[str]] | None = None,
    examples: int = 8,
    exclude: tuple[str, ...] = (),
    roles: tuple[str, ...] | None = None,
) -> int:
    """Request every route of `namespaces` (the whole project by default) with malformed input
    and fail, listing every failing route at once, where one answered 5xx. `path_values` adds
    real values per path argument (ids of records the route's name does not lead to, slugs,
    tokens); routes named in `exclude` are left out; `roles` narrows the people (cast names and
    "anonymous"; the administrator always walks). Returns the number of requests made."""
    extra_paths = path_values or {}
    routes = [route for route in project_routes(namespaces=namespaces) if route.name not in exclude]
    people = {
        role: person
        for role, person in {**cast.everyone(), "anonymous": None}.items()
        if roles is None or role in roles or role == "admin"
    }
    clients = {}
    for role, person in people.items():
        clients[role] = Client(raise_request_exception=False)
        clients[role].person = person
    admin = clients["admin"]

    def real_values(route: Route, argument: str) -> list[str]:
        ids = record_ids(route) if argument == "pk" and route.arguments[argument] == "int" else []
        return ids + list(extra_paths.get(argument, []))

    first_urls = {
        route.name: route.url(
            {arg: (real_values(route, arg) or MALFORMED_PATH_VALUES[kind])[0] for arg, kind in route.arguments.items()}
        )
        for route in routes
    }
    failures: list[str] = []
    requests = 0

    others = [role for role in people if role != "admin"]

    def sweep(route: Route, survey: Survey) -> bool:
        """Every bad value of each parameter's kind as the administrator (who reaches deepest),
        then one request as each other person, so that every route is asked by everyone."""
        nonlocal requests
        url = first_urls[route.name]
        names = sorted(survey.reads.get(url, ()))
        plan = [("admin", index) for index in range(max(map(len, MALFORMED.values())) if names else 0)]
        plan += [(role, index) for index, role in enumerate(others)]
        for role, index in plan:
            changed = {name: MALFORMED[kind_of(name)][index % len(MALFORMED[kind_of(name)])] for name in names}
            for method in survey.methods.get(url, ()) or ("get",):
                payload = changed
                if method == "post":
                    payload = with_files({**survey.bodies.get(url, {}), **changed}, survey.files.get(url, ()), UPLOADS)
                requests += 1
                if problem := server_error(send(clients[role], method, url, payload), method, url, role, changed):
                    failures.append(problem)
                    return False
        return True

    def explore(route: Route, survey: Survey) -> None:
        path_strategies = {
            arg: st.sampled_from([*real_values(route, arg), *MALFORMED_PATH_VALUES[kind]])
            for arg, kind in route.arguments.items()
        }
        known = sorted(survey.reads.get(first_urls[route.name], ()))
        common = sorted(set(COMMON_PARAMS) - set(known))

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            role=st.sampled_from(sorted(people)),
            method=st.sampled_from(["get", "post"]),
            values=st.fixed_dictionaries(path_strategies),
            data=st.data(),
            htmx=st.sampled_from([None, None, "list-rows", "timeline", "body"]),
        )
        def walk(role, method, values, data, htmx):
            nonlocal requests
            url = route.url(values)
            # Mostly one to three bad values among otherwise valid ones (to reach past form
            # validation), sometimes every parameter the view reads, or common ones it does not.
            chosen = data.draw(
                st.lists(st.sampled_from(known or common), min_size=1, max_size=3, unique=True)
                | st.just(known or common)
                | st.lists(st.sampled_from(common), min_size=1, max_size=2, unique=True),
                label="names",
            )
            changed = {
                name: data.draw(malformed_values(name) | st.lists(malformed_values(name), min_size=2, max_size=3))
                for name in chosen
            }
            payload = changed
            if method == "post":
                files = survey.files.get(url, ())
                names = st.sampled_from(["upload.csv", "upload.xlsx", "upload.vcf", "upload"])
                contents = [(data.draw(names), data.draw(st.binary(max_size=300))) for _name in files]
                payload = with_files({**survey.bodies.get(url, {}), **changed}, files, contents)
            headers = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": htmx} if htmx else {}
            requests += 1
            problem = server_error(send(clients[role], method, url, payload, headers), method, url, role, changed)
            assert problem is None, problem

        try:
            walk()
        except AssertionError as error:
            failures.append(str(error).splitlines()[0])

    logging.disable(logging.WARNING)  # thousands of expected 4xx lines would drown a real failure
    try:
        survey = Survey.of(admin, list(first_urls.values()))
        for route in routes:
            if sweep(route, survey):
                explore(route, survey)
    finally:
        logging.disable(logging.NOTSET)
    assert not failures, f"{len(failures)} routes answered 5xx:\n" + "\n".join(failures)
    return requests


# What a page says when it ignored a malformed parameter (crm.params.QueryParams).
IGNORED = "Part of the address was ignored"


def shown_date(day) -> str:
    """A date as pages show it in the active language."""
    from django.utils.formats import date_format

    return date_format(day, "SHORT_DATE_FORMAT")
