"""``/healthz`` and ``/metrics`` on a localhost port."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HealthServer:
    def __init__(self, host: str, port: int, health: Callable[[], tuple[bool, dict[str, Any]]], metrics: Callable[[], str]) -> None:
        self._health = health
        self._metrics = metrics
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/healthz":
                    ok, detail = server._health()
                    body = json.dumps({"status": "ok" if ok else "degraded", **detail}, ensure_ascii=False, default=str).encode()
                    self._answer(200 if ok else 503, "application/json; charset=utf-8", body)
                elif self.path.split("?")[0] == "/metrics":
                    self._answer(200, "text/plain; version=0.0.4; charset=utf-8", server._metrics().encode())
                else:
                    self._answer(404, "text/plain", b"not found\n")

            def _answer(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # scrapes are not news
                pass

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="health", daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
