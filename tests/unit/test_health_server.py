"""/healthz and /metrics under an idle-connection flood: threads stay bounded, scrapes are answered."""

from __future__ import annotations

import os
import socket
import urllib.request
from pathlib import Path

from agent.service import health
from agent.service.health import HealthServer


def _threads() -> int:
    return len(os.listdir(f"/proc/{os.getpid()}/task")) if Path("/proc/self/task").is_dir() else 0


def _server() -> HealthServer:
    return HealthServer("127.0.0.1", 0, lambda: (True, {"jobs": {}}), lambda: "vbp_up 1.0\n").start()


def test_three_hundred_idle_connections_cost_no_thread_and_a_scrape_is_still_answered() -> None:
    server = _server()
    before = _threads()
    idle = []
    try:
        for _ in range(300):
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5) as r:
            assert r.status == 200 and r.read() == b"vbp_up 1.0\n"
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as r:
            assert r.status == 200 and b'"status": "ok"' in r.read()
        assert _threads() - before <= health.WORKERS
    finally:
        for s in idle:
            s.close()
        server.stop()


def test_a_request_trickling_in_is_dropped_after_the_read_timeout(monkeypatch) -> None:
    monkeypatch.setattr(health._Handler, "timeout", 0.3)
    server = _server()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as slow:
            slow.sendall(b"GET /metr")  # and never the rest
            slow.settimeout(3)
            assert slow.recv(100) == b""  # closed by the server, not held forever
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as r:
            assert r.status == 200
    finally:
        server.stop()


def test_idle_connections_are_closed_after_the_idle_timeout(monkeypatch) -> None:
    monkeypatch.setattr(health, "IDLE_TIMEOUT_S", 0.3)
    server = _server()
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as quiet:
            quiet.settimeout(3)
            assert quiet.recv(100) == b""
    finally:
        server.stop()
