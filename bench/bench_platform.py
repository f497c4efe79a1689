"""Drain a backlog of arrival confirmations (到货确认) against the reference platform on loopback.

The platform runs as its own process (``python -m refplatform``), as a real one would. A backlog
of BENCH_CONFIRMATIONS (default 50,000) accepted receipts is queued through the real path
(``enqueue_confirmations``, delivery-id matches, in chunks) into a SQLite store, then drained with
the agent paced at the platform's configured rate (BENCH_PLATFORM_RATE, default 400/s), which the
platform enforces with HTTP 429. The baseline is that configured rate: ``rate_ratio``
near 1 means the platform's limit, not the agent, set the pace. A second, short drain with no
limit on either side shows the agent's own ceiling (``agent_ceiling_per_s``).

Last line: {"confirmations", "drain_s", "per_s", "p99_latency_s", "duplicates", ...}.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import func, select

from agent.clock import SystemClock
from agent.domain.model import Receipt
from agent.store import open_store
from agent.store.schema.core import outbox
from agent.store.schema.platform import platform_delivery_lines
from agent.upstream.client import Pacer, PlatformClient
from agent.upstream.confirm import enqueue_confirmations
from agent.upstream.drain import Drainer
from agent.upstream.profiles import PROFILES

HOSPITAL, APP, SECRET = "H-BENCH", "bench-app", "bench-secret-value"
TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[1]


class Platform:
    """The reference platform in its own process, driven over its admin endpoints."""

    def __init__(self, rate: float | None) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "REFPLATFORM_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
        args = [sys.executable, "-m", "refplatform", "--port", str(port), "--app-key", APP, "--burst", "10"]
        self.proc = subprocess.Popen(args + (["--rate", str(rate)] if rate else []), env=env, stdout=subprocess.DEVNULL)
        self.admin = httpx.Client(base_url=self.url, timeout=60)
        for _ in range(200):
            try:
                self.admin.get("/healthz")
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise SystemExit("the reference platform did not start")

    def seed(self, lines: list[dict]) -> None:
        for i in range(0, len(lines), 5000):
            self.admin.post("/admin/deliveries", json={"medinsCode": HOSPITAL, "lines": lines[i:i + 5000]})

    def stats(self) -> dict:
        return self.admin.get("/admin/state").json()

    def stop(self) -> None:
        self.admin.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


def backlog(store, ref: Platform, n: int, prefix: str) -> float:  # type: ignore[no-untyped-def]
    """Seed n delivery lines on the platform and in the store, queue n confirmations; seconds taken to queue."""
    at = datetime.now(TZ) - timedelta(hours=2)
    receipts = [Receipt(f"{prefix}R{i:07d}", at, "Y0001", Decimal(5), None, f"L{i}", None, None, at,
                        delivery_id=f"{prefix}S{i:07d}") for i in range(n)]
    ref.seed([{"shpId": r.delivery_id, "prodCode": "Y0001", "shpCnt": "5", "updtTime": at.isoformat()} for r in receipts])
    with store.begin() as conn:
        conn.execute(platform_delivery_lines.insert(), [
            dict(hospital_code=HOSPITAL, delivery_id=r.delivery_id, product_code="Y0001", quantity="5", lot=r.lot,
                 shipped_at=at, synced_at=at) for r in receipts])
    started = time.perf_counter()
    for i in range(0, n, 1000):
        with store.begin() as conn:
            enqueue_confirmations(conn, HOSPITAL, receipts[i:i + 1000], datetime.now(TZ))
    return time.perf_counter() - started


def drain(store, ref: Platform, rate: float | None) -> tuple[float, list[float]]:  # type: ignore[no-untyped-def]
    client = PlatformClient(PROFILES["zj_infno"], ref.url, APP, SECRET, HOSPITAL,
                            timeout=httpx.Timeout(5.0), pacer=Pacer(rate) if rate else None)
    drainer = Drainer(store, client, SystemClock(TZ), batch=200)
    started = time.perf_counter()
    result = drainer.drain()
    elapsed = time.perf_counter() - started
    client.close()
    assert result.held_until is None, "the platform link failed during the benchmark"
    return elapsed, result.latencies_s


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def main() -> None:
    n = int(os.environ.get("BENCH_CONFIRMATIONS", "50000"))
    rate = float(os.environ.get("BENCH_PLATFORM_RATE", "400"))
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'state.db'}", HOSPITAL)
        ref = Platform(None)
        try:
            ceiling_n = min(2000, max(200, n // 10))
            backlog(store, ref, ceiling_n, "C")
            ceiling_s, _ = drain(store, ref, None)
            ceiling = ceiling_n / ceiling_s
            print(f"agent ceiling (no limit anywhere): {ceiling_n} in {ceiling_s:.2f}s = {ceiling:.0f}/s", flush=True)
        finally:
            ref.stop()
        ref = Platform(rate)
        try:
            before = ref.stats()
            enqueue_s = backlog(store, ref, n, "B")
            print(f"queued {n} confirmations in {enqueue_s:.2f}s ({n / enqueue_s:.0f}/s)", flush=True)
            drain_s, latencies = drain(store, ref, rate)
            stats = ref.stats()
        finally:
            ref.stop()
        with store.read() as conn:
            rows = conn.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all()
            per_line = conn.execute(select(func.count()).select_from(outbox).group_by(outbox.c.idem_key)
                                    .having(func.count() > 1)).all()
        store.close()
    confirmed = len(stats["confirmations"]) - len(before["confirmations"])
    duplicates = stats["double_confirm_refused"] + len(per_line)
    per_s = confirmed / drain_s
    print(f"outbox: {dict(rows)}; platform refused {stats['rate_refused']} requests over its rate; "
          f"idempotent replays {stats['idempotent_replays']}", flush=True)
    print(f"drained {confirmed} in {drain_s:.2f}s = {per_s:.0f}/s against a platform limit of {rate:.0f}/s "
          f"(ratio {per_s / rate:.2f}); agent ceiling {ceiling:.0f}/s (ratio {per_s / ceiling:.2f})", flush=True)
    print(json.dumps({
        "confirmations": confirmed, "drain_s": round(drain_s, 3), "per_s": round(per_s, 1),
        "p99_latency_s": round(p99(latencies), 4), "duplicates": duplicates,
        "platform_rate_per_s": rate, "rate_ratio": round(per_s / rate, 3),
        "agent_ceiling_per_s": round(ceiling, 1), "enqueue_s": round(enqueue_s, 3), "missing": n - confirmed,
        "rate_refused": stats["rate_refused"],
    }))


if __name__ == "__main__":
    main()
