"""Serving the console with uvicorn: in the foreground (``vbp-agent console``) or on a thread (the
demo and the browser tests), on a socket bound here so a port of 0 gives a free one."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from agent.console.app import create_app
from agent.console.views import Console
from agent.errors import ConfigError


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: without it a kept-alive response's second write waits ~40 ms for
    # the browser's delayed ACK (Nagle), on every page after the first
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"console.port: cannot listen on {host}:{port} ({exc.strerror}); "
                          "choose another [console] port, or stop what holds it") from None
    sock.listen(128)
    return sock


@dataclass
class Served:
    """A console serving on a thread: its URL, and ``stop()``."""

    url: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _server(console: Console, host: str | None, port: int | None) -> tuple[uvicorn.Server, socket.socket, str]:
    cfg = console.runtime.config.console
    sock = _bind(cfg.host if host is None else host, cfg.port if port is None else port)
    host, port = sock.getsockname()[:2]
    tls = cfg.tls_cert_file is not None
    config = uvicorn.Config(create_app(console), log_level="warning", access_log=False, proxy_headers=True,
                            ssl_certfile=str(cfg.tls_cert_file) if tls else None,
                            ssl_keyfile=str(cfg.tls_key_file) if tls else None)
    shown = f"[{host}]" if ":" in host else host
    return uvicorn.Server(config), sock, f"{'https' if tls else 'http'}://{shown}:{port}"


def serve_forever(console: Console, on_ready: Any = None, host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGINT/SIGTERM; ``on_ready(url)`` once listening. ``host`` and ``port`` override
    the config's."""
    server, sock, url = _server(console, host, port)
    if on_ready is not None:
        on_ready(url)
    server.run(sockets=[sock])


def serve_in_thread(console: Console, port: int | None = None) -> Served:
    """Serve on a daemon thread (the demo, the browser tests); port 0 takes a free one."""
    server, sock, url = _server(console, None, port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="console", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return Served(url, server, thread)
