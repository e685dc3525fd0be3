"""The Locust users `make bench` runs, against a stand-in server (a few seconds)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crm import benchmark


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, str]] = []

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("Cookie", ""), self.headers.get("Accept-Language", "")))
        status = {"/ok": 200, "/moved": 302}.get(self.path, 500)
        body = b"fine"
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/ok")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_locust_users_count_requests_and_errors_per_page_and_group(server, tmp_path):
    pages = [
        benchmark.Page("good", role="rep", url="/ok", kind="list", weight=3),
        benchmark.Page("moved", role="rep", url="/moved", kind="detail"),
        benchmark.Page("broken", role="manager", url="/fail", kind="board"),
    ]
    cookies = {role: {"sessionid": f"s-{role}"} for role in benchmark.ROLES}
    plan = benchmark.locust_plan([(p, p.url) for p in pages], cookies, host=f"http://127.0.0.1:{server}")

    # 9 users in the 7:2 mix of the two roles with pages: 7 reps, 2 managers.
    level = benchmark.run_locust(plan, users=9, seconds=2, think=0, workdir=tmp_path, label="9 users")

    stats = {p.name: p for p in level.pages}
    assert [p.name for p in level.pages] == ["good", "moved", "broken"]
    assert stats["good"].requests > 0 and stats["good"].failures == 0
    # A redirect is not followed: the page sent the user elsewhere, which counts as an error.
    assert stats["moved"].failures == stats["moved"].requests > 0
    assert stats["broken"].failures == stats["broken"].requests > 0
    assert level.total.requests == sum(p.requests for p in level.pages)
    assert set(level.groups) == {"list", "detail", "board"}
    assert level.groups["list"].requests == stats["good"].requests
    assert ("/ok", "sessionid=s-rep", benchmark.LANGUAGE) in _Handler.seen
    assert ("/fail", "sessionid=s-manager", benchmark.LANGUAGE) in _Handler.seen
