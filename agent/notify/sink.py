"""A WeCom-like sink (模拟企业微信群机器人) for the demo and tests: a real local HTTP server that
accepts ``POST /cgi-bin/webhook/send?key=KEY`` like the WeCom group robot, answers
``{"errcode": 0}``, keeps every message and prints it as a pharmacist would read it.

Run it on its own:  ``python -m agent.notify.sink --port 8999 [--key demo-key]``
and point a receiver at it with ``api_base = "http://127.0.0.1:8999"``.
``GET /messages`` returns what it received as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class WeComSink:
    """Start with ``start()``; ``messages`` holds ``{"key", "body", "content"}`` dicts."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, key: str | None = None, echo: Any = None) -> None:
        self.key = key
        self.echo = echo
        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        """What the robot answers; subclasses imitate errors."""
        if self.key is not None and key != self.key:
            return {"errcode": 93000, "errmsg": "invalid webhook url"}
        if body.get("msgtype") not in ("text", "markdown"):
            return {"errcode": 40008, "errmsg": "invalid message type"}
        return {"errcode": 0, "errmsg": "ok"}

    def record(self, key: str, body: dict[str, Any]) -> None:
        content = (body.get(body.get("msgtype", ""), {}) or {}).get("content", "")
        with self._lock:
            self.messages.append({"key": key, "body": body, "content": content})
        if self.echo is not None:
            print(f"--- 群消息 #{len(self.messages)} ---\n{content}\n", file=self.echo, flush=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:  # quiet: URLs carry keys
                return

            def _reply(self, status: int, data: Any) -> None:
                raw = json.dumps(data, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                if urlparse(self.path).path == "/messages":
                    with sink._lock:
                        self._reply(200, list(sink.messages))
                else:
                    self._reply(404, {"errcode": 404, "errmsg": "not found"})

            def do_POST(self) -> None:
                url = urlparse(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError):
                    self._reply(200, {"errcode": 40058, "errmsg": "invalid json"})
                    return
                key = parse_qs(url.query).get("key", [""])[0]
                if url.path != "/cgi-bin/webhook/send":
                    self._reply(404, {"errcode": 404, "errmsg": "not found"})
                    return
                answer = sink.answer(key, body)
                if answer.get("errcode") == 0:
                    sink.record(key, body)
                self._reply(200, answer)

        return Handler

    def start(self) -> WeComSink:
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="wecom-sink", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WeComSink:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A WeCom-like group robot that prints what it receives.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8999)
    parser.add_argument("--key", default=None, help="accept only this key (default: any)")
    args = parser.parse_args(argv)
    sink = WeComSink(args.host, args.port, key=args.key, echo=sys.stdout)
    print(f"WeCom-like sink on {sink.url}/cgi-bin/webhook/send?key=...", flush=True)
    try:
        sink.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sink.server.server_close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
