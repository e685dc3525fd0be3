"""The users `make bench` simulates, one Locust user class per role (`locust -f crm/bench_locust.py`).

Locust patches the standard library for gevent as it starts, so this file imports neither Django
nor the project: `manage.py bench` writes a JSON plan (pages, weights, cookies, think time) and
names it in BENCH_PLAN. At the end it writes the numbers of each page and each page group as JSON,
computed by Locust's own statistics.
"""

import json
import os
from pathlib import Path

from locust import FastHttpUser, constant, events
from locust.stats import StatsEntry

PLAN = json.loads(Path(os.environ["BENCH_PLAN"]).read_text())
GROUPS = {page["name"]: page["group"] for role in PLAN["roles"].values() for page in role["pages"]}


def _visit(name: str, path: str, headers: dict[str, str]):
    def visit(user: FastHttpUser) -> None:
        # Redirects are not followed: a page that sends the user elsewhere (to sign in again) failed.
        with user.client.get(path, name=name, headers=headers, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")

    return visit


def _user_class(role: str, spec: dict) -> type[FastHttpUser]:
    headers = {
        "Cookie": "; ".join(f"{key}={value}" for key, value in spec["cookies"].items()),
        "Accept-Language": PLAN["language"],
    }

    class RoleUser(FastHttpUser):
        host = PLAN["host"]
        weight = spec["weight"]
        wait_time = constant(PLAN["think"])
        tasks = {_visit(page["name"], page["path"], headers): page["weight"] for page in spec["pages"]}

    RoleUser.__name__ = RoleUser.__qualname__ = f"{role.title()}User"
    return RoleUser


for _role, _spec in PLAN["roles"].items():
    globals()[f"{_role.title()}User"] = _user_class(_role, _spec)


def _summary(entry: StatsEntry) -> dict:
    return {
        "name": entry.name,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": entry.total_rps,
        "p50": entry.get_response_time_percentile(0.5),
        "p95": entry.get_response_time_percentile(0.95),
        "p99": entry.get_response_time_percentile(0.99),
    }


@events.quitting.add_listener
def write_stats(environment, **_kwargs) -> None:
    """Every page's numbers, each group's and the total's, once the last request has ended (Locust's
    CSV files are rewritten once a second and may miss the last one)."""
    stats = environment.stats
    groups: dict[str, StatsEntry] = {}
    for (name, method), entry in stats.entries.items():
        group = GROUPS.get(name, "other")
        if group not in groups:
            # Its rate counts over the whole run, as a page's does.
            groups[group] = StatsEntry(stats, group, method)
        groups[group].extend(entry)
    result = {
        "pages": [_summary(entry) for entry in stats.entries.values()],
        "total": _summary(stats.total),
        "groups": {group: _summary(entry) for group, entry in groups.items()},
    }
    Path(PLAN["stats_out"]).write_text(json.dumps(result, indent=1))
