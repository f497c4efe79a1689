"""Faults on demand and the platform's rate limit.

``POST /admin/faults {"mode": M, "count": N, "delay_s": S, "retry_after_s": R}`` arms the next N
signed requests with fault M:
- ``5xx``: HTTP 500 with a JSON-less body;
- ``timeout``: the request is processed, the answer comes ``delay_s`` later (past the client's timeout);
- ``truncated``: the request is processed, half the answer is sent, the connection closed;
- ``html``: HTTP 200 with an HTML maintenance page;
- ``slow``: the answer comes ``delay_s`` late but whole;
- ``expired_token``: every token issued so far expires now;
- ``rate_limit``: HTTP 429 with ``Retry-After``;
- ``outage``: HTTP 503 for every request until ``{"mode": "outage", "on": false}`` (a long outage).
``{"mode": "clear"}`` disarms everything.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from dataclasses import dataclass

MODES = ("5xx", "timeout", "truncated", "html", "slow", "expired_token", "rate_limit", "outage")


@dataclass(frozen=True)
class Fault:
    mode: str
    delay_s: float = 0.0
    retry_after_s: float | None = None


class FaultPlan:
    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self.outage: Fault | None = None
        self.fired: dict[str, int] = {}
        self._lock = threading.Lock()

    def arm(self, mode: str, count: int = 1, delay_s: float = 0.0, retry_after_s: float | None = None,
            on: bool = True) -> None:
        if mode == "clear":
            with self._lock:
                self._queue.clear()
                self.outage = None
            return
        if mode not in MODES:
            raise ValueError(f"unknown fault mode {mode!r}: one of {', '.join(MODES)}")
        with self._lock:
            if mode == "outage":
                self.outage = Fault(mode, delay_s, retry_after_s) if on else None
            else:
                self._queue.extend(Fault(mode, delay_s, retry_after_s) for _ in range(max(1, count)))

    def take(self) -> Fault | None:
        with self._lock:
            fault = self.outage or (self._queue.popleft() if self._queue else None)
            if fault is not None:
                self.fired[fault.mode] = self.fired.get(fault.mode, 0) + 1
            return fault


class RateLimit:
    """A token bucket: ``rate_per_s`` sustained, ``burst`` at once; ``take`` says how long to wait."""

    def __init__(self, rate_per_s: float | None, burst: int = 5) -> None:
        self.rate = rate_per_s
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._at = time.monotonic()
        self.refused = 0
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 when the request may pass; else the seconds until it could (the request is refused)."""
        if not self.rate:
            return 0.0
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            self.refused += 1
            return (1.0 - self._tokens) / self.rate


def retry_after_header(seconds: float) -> str:
    """Retry-After in whole seconds, as HTTP has it; at least 1."""
    return str(max(1, math.ceil(seconds)))
