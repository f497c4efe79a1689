"""``/healthz`` and ``/metrics`` on a localhost port, with bounded threads and timeouts.

One thread watches the listening socket and every open connection (a selector); a connection
costs a thread only once its request has arrived, and then one of ``WORKERS`` pooled threads
answers it. Idle connections are closed after ``IDLE_TIMEOUT_S``, the oldest first beyond
``MAX_IDLE``; a request that trickles in slower than ``READ_TIMEOUT_S`` is dropped; beyond
``MAX_QUEUED`` answers waiting, a new connection is closed at once. So 300 idle connections cost
300 file descriptors and no thread, far below the unit's ``TasksMax=64``.
"""

from __future__ import annotations

import json
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from typing import Any

from agent.errors import ConfigError

WORKERS = 2
MAX_IDLE = 128
MAX_QUEUED = 16
IDLE_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 5.0


class HealthServer:
    def __init__(self, host: str, port: int, health: Callable[[], tuple[bool, dict[str, Any]]], metrics: Callable[[], str]) -> None:
        self._health = health
        self._metrics = metrics
        try:
            self._listener = socket.create_server((host, port), backlog=128)
        except OSError as exc:  # one line naming the key, not a traceback
            raise ConfigError(f"http.port: cannot listen on {host}:{port} ({exc.strerror}): another program (or a "
                              "second vbp-agent) holds it; set a free port under [http] in the config") from None
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._idle: dict[socket.socket, float] = {}  # connection -> accepted at (monotonic)
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="health-answer")
        self._queued = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="health", daemon=True)
        self.dropped = 0  # connections closed unanswered (idle, over the limits)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in list(self._idle):
            self._close(conn)
        self._selector.close()
        self._listener.close()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- the watching thread ---------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.25):
                sock = key.fileobj
                if sock is self._listener:
                    self._accept()
                else:
                    assert isinstance(sock, socket.socket)
                    self._dispatch(sock)
            self._expire()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of descriptors: what is idle longest makes room
                self._close_oldest()
                return
            if len(self._idle) >= MAX_IDLE:
                self._close_oldest()
            self._idle[conn] = time.monotonic()
            self._selector.register(conn, selectors.EVENT_READ)

    def _dispatch(self, conn: socket.socket) -> None:
        self._selector.unregister(conn)
        del self._idle[conn]
        with self._lock:
            if self._queued >= MAX_QUEUED:
                busy = True
            else:
                busy = False
                self._queued += 1
        if busy:
            self.dropped += 1
            conn.close()
            return
        self._pool.submit(self._answer, conn)

    def _expire(self) -> None:
        limit = time.monotonic() - IDLE_TIMEOUT_S
        for conn, since in list(self._idle.items()):
            if since < limit:
                self._close(conn)

    def _close_oldest(self) -> None:
        if self._idle:
            self._close(min(self._idle, key=self._idle.__getitem__))

    def _close(self, conn: socket.socket) -> None:
        self._idle.pop(conn, None)
        try:
            self._selector.unregister(conn)
        except (KeyError, ValueError):
            pass
        conn.close()
        self.dropped += 1

    # -- a pooled thread answers one request -----------------------------------------------
    def _answer(self, conn: socket.socket) -> None:
        try:
            conn.setblocking(True)
            _Handler(conn, conn.getpeername() if conn.family != socket.AF_UNIX else "", self)
        except OSError:
            pass  # the client went away or was too slow
        finally:
            conn.close()
            with self._lock:
                self._queued -= 1


class _Handler(BaseHTTPRequestHandler):
    """One request per connection (HTTP/1.0), read within ``READ_TIMEOUT_S``."""

    timeout = READ_TIMEOUT_S
    server: Any

    def do_GET(self) -> None:
        owner: HealthServer = self.server
        path = self.path.split("?")[0]
        if path == "/healthz":
            ok, detail = owner._health()
            body = json.dumps({"status": "ok" if ok else "degraded", **detail}, ensure_ascii=False, default=str).encode()
            self._send(200 if ok else 503, "application/json; charset=utf-8", body)
        elif path == "/metrics":
            self._send(200, "text/plain; version=0.0.4; charset=utf-8", owner._metrics().encode())
        else:
            self._send(404, "text/plain", b"not found\n")

    def _send(self, code: int, ctype: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:  # scrapes are not news
        pass
