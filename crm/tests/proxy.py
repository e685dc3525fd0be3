"""A reverse proxy for tests, as nginx's `proxy_add_x_forwarded_for` behaves, and visitors that
reach it from distinct loopback addresses (127.0.0.2, 127.0.0.3, ...), each with its own cookies.

    with ForwardingProxy(live_server.url) as proxy:
        alice = Visitor(proxy.url, "127.0.0.2")
        alice.get("/accounts/login/")
        alice.post("/accounts/login/", {"username": "li", "password": "..."})
"""

from __future__ import annotations

import http.client
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class ForwardingProxy:
    """Forward every request to `upstream`, appending the peer's address to X-Forwarded-For."""

    def __init__(self, upstream: str):
        target = urlsplit(upstream)
        self.upstream = (target.hostname, target.port)

        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                forwarded = self.headers.get("X-Forwarded-For")
                peer = self.client_address[0]
                headers["X-Forwarded-For"] = f"{forwarded}, {peer}" if forwarded else peer
                connection = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                try:
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                    self.send_response(response.status)
                    for key, value in response.getheaders():
                        if key.lower() not in HOP_BY_HOP | {"content-length"}:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    connection.close()

            do_GET = do_POST = _forward  # noqa: N815 - http.server's hook names

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class Visitor:
    """A browser-like client at a loopback `address`: keeps cookies and sends the CSRF token."""

    def __init__(self, base_url: str, address: str):
        target = urlsplit(base_url)
        self.host, self.port, self.address = target.hostname, target.port, address
        self.cookies = SimpleCookie()

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in self.cookies.items())
        body = None
        if data is not None:
            token = self.cookies.get("csrftoken")
            body = urlencode({**data, **({"csrfmiddlewaretoken": token.value} if token else {})})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30, source_address=(self.address, 0))
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.text = response.read().decode("utf-8", "replace")
            for value in response.headers.get_all("Set-Cookie") or []:
                self.cookies.load(value)
            return response
        finally:
            connection.close()

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict, **kwargs):
        return self.request("POST", path, data=data, **kwargs)
