import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crm import benchmark


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        status = 200 if self.path.startswith("/ok") else 500
        body = b"fine"
        self.send_response(status)
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


def test_load_counts_requests_and_errors_per_page(server):
    targets = [
        benchmark.Target(name="good", path="/ok", cookies={"sessionid": "x"}),
        benchmark.Target(name="broken", path="/fail", cookies={}),
    ]

    results, elapsed = benchmark.run_load(server, targets, users=3, seconds=0.5)

    assert elapsed >= 0.5
    assert len(results["good"].latencies) > 0 and results["good"].errors == 0
    assert results["broken"].errors > 0 and not results["broken"].latencies
    table = "\n".join(benchmark.results_table(results, elapsed))
    assert "| good |" in table and "**all pages**" in table


def test_percentiles_use_nearest_rank():
    stats = benchmark.Stats(latencies=[i / 1000 for i in range(1, 101)])

    assert stats.percentile(50) == 0.050
    assert stats.percentile(95) == 0.095
    assert stats.percentile(99) == 0.099


def test_a_rerun_replaces_only_its_own_section():
    document = "# Benchmarks\n"
    document = benchmark.replace_section(document, "10000", "small v1")
    document = benchmark.replace_section(document, "1000000", "large v1")

    document = benchmark.replace_section(document, "10000", "small v2")

    assert "small v2" in document and "small v1" not in document
    assert "large v1" in document
    assert benchmark.section_text(document, "1000000").strip() == "large v1"


def test_every_registered_page_names_a_role_the_benchmark_signs_in_as():
    pages = benchmark.pages()

    assert {"healthz", "login page", "dashboard", "company list (rep)", "company detail (rep)"} <= {
        p.name for p in pages
    }
    assert all(p.role in (*benchmark.ROLES, None) for p in pages)
