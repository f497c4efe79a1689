"""kill -9 at random points while receipts are stored and confirmations drained: each line confirmed once.

The reference platform runs as its own process (``python -m refplatform``); a forked worker stores
receipts (queueing their confirmations in the same transaction) and drains the outbox in tiny
batches, and is killed with SIGKILL at a random moment, again and again, then a last worker
finishes the work. The platform must hold every delivery line confirmed exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from platform_support import APP_KEY, HOSPITAL, SECRET, START, make_client, receipt
from sqlalchemy import select

from agent.clock import FakeClock
from agent.domain.model import Receipt
from agent.store import open_store
from agent.store.schema.platform import platform_receipts
from agent.upstream.confirm import enqueue_confirmations
from agent.upstream.deliveries import sync_deliveries
from agent.upstream.drain import Drainer
from agent.upstream.profiles import PROFILES

pytestmark = pytest.mark.clock_free  # processes killed, servers restarted: no date decides anything

ROOT = Path(__file__).resolve().parents[2]


class RemoteRef:
    """Just enough of ReferencePlatform for make_client, over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.Client()  # one client: each new one loads the CA bundle (a fifth of this test's time)

    def url_for(self, profile: str) -> str:
        return self.url

    def admin(self, path: str, body: dict | None = None) -> dict:
        resp = self._http.post(self.url + path, json=body) if body is not None else self._http.get(self.url + path)
        return resp.json()

    def close(self) -> None:
        self._http.close()


@pytest.fixture
def remote_ref() -> Iterator[RemoteRef]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "REFPLATFORM_SECRET": SECRET, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "refplatform", "--port", str(port), "--app-key", APP_KEY],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ref = RemoteRef(f"http://127.0.0.1:{port}")
    try:
        for _ in range(100):
            try:
                ref.admin("/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield ref
    finally:
        ref.close()
        proc.terminate()
        proc.wait(timeout=10)


def _work(url: str, ref: RemoteRef, receipts: list[Receipt], clock: FakeClock, rate: float | None = None,
          chunk: int = 2, profile: str = "zj_infno") -> bool:
    """One worker's life: store the next few receipts, drain a tiny batch, repeat. True when all done.

    Killed workers are paced (``rate``) and take small bites so the work outlasts the kills; the
    last one is not paced and takes bigger bites.
    """
    store = open_store(url, HOSPITAL)
    client = make_client(ref, profile, rate=rate)  # type: ignore[arg-type]
    drainer = Drainer(store, client, clock)  # the default batch: a crash mid-batch must still repeat at most one
    try:
        while True:
            with store.read() as conn:
                stored = set(conn.execute(select(platform_receipts.c.receipt_line_id)).scalars())
            batch = [r for r in receipts if r.line_id not in stored][: chunk + 1]
            if batch:
                with store.begin() as conn:  # the ingestion's transaction: receipts + outbox rows together
                    queued = enqueue_confirmations(conn, HOSPITAL, batch, clock.now())
                assert queued == len(batch), f"{len(batch) - queued} receipts not queued at {clock.now():%Y-%m-%d}"
            sent = drainer.drain(max_items=chunk * 10).sent
            if not batch and sent == 0:
                return True
    finally:
        client.close()
        store.close()


def _kill_run(tmp_path: Path, ref: RemoteRef, kills: int, n: int, seed: int, profile: str = "zj_infno") -> int:
    rng = random.Random(seed)
    receipts = [receipt(i, delivery_id=f"SHP{i:05d}") for i in range(1, n + 1)]
    lines = [{"shpId": r.delivery_id, "prodCode": r.item_code, "shpCnt": str(r.quantity), "manuLotnum": r.lot,
              "shppTime": START.isoformat()} for r in receipts]
    assert ref.admin("/admin/deliveries", {"medinsCode": HOSPITAL, "lines": lines})["seeded"] == n
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = open_store(url, HOSPITAL)
    client = make_client(ref, profile)  # type: ignore[arg-type]
    clock = FakeClock(START + timedelta(hours=1), tick=True)  # one clock for every worker: forks share its start
    sync_deliveries(store, client, clock.now())
    client.close()
    store.close()  # no connection crosses the fork
    killed_mid_work = crashes = 0
    while killed_mid_work < kills:
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                _work(url, ref, receipts, clock, rate=50.0, profile=profile)
            finally:
                os._exit(0)
        time.sleep(rng.uniform(0.01, 0.1))
        done = len(ref.admin("/admin/state")["confirmations"])
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        crashes += 1
        if done < n:
            killed_mid_work += 1
        else:
            break
    assert _work(url, ref, receipts, clock, chunk=50, profile=profile)
    state = ref.admin("/admin/state")
    assert killed_mid_work >= min(kills, 1)
    assert sorted(c["shpId"] for c in state["confirmations"]) == [r.delivery_id for r in receipts]
    repeats = state["idempotent_replays"] + state["double_confirm_refused"]
    assert repeats <= crashes, f"{repeats} messages sent again across {crashes} crashes (at most one each)"
    if PROFILES[profile].idempotency_header:  # without one (zj_infno, sh_soap, as the real platforms), a re-send
        assert state["double_confirm_refused"] == 0  # is answered "already confirmed" and counts as done
    store = open_store(url, HOSPITAL)
    with store.read() as conn:
        from agent.store.schema.core import outbox

        rows = conn.execute(select(outbox.c.idem_key, outbox.c.status)).all()
    store.close()
    assert sorted(k for k, _ in rows) == sorted(f"confirm:{r.delivery_id}" for r in receipts)
    assert {s for _, s in rows} == {"sent"}
    return killed_mid_work


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_receipt_is_confirmed_exactly_once_across_fifty_kill_minus_nine(tmp_path, remote_ref, profile) -> None:
    assert _kill_run(tmp_path, remote_ref, kills=50, n=260, seed=8, profile=profile) == 50


@pytest.mark.soak
def test_every_receipt_is_confirmed_exactly_once_across_five_hundred_kill_minus_nine(tmp_path, remote_ref) -> None:
    assert _kill_run(tmp_path, remote_ref, kills=500, n=3000, seed=88) == 500
