"""What the platform tests share: a reference platform on loopback, a store, receipts, a fake ingest."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from agent.clock import FakeClock
from agent.domain.model import Receipt
from agent.store import Store, open_store
from agent.store.schema.core import outbox
from agent.upstream.client import Pacer, PlatformClient
from agent.upstream.confirm import enqueue_confirmations
from agent.upstream.drain import Drainer
from agent.upstream.profiles import PROFILES
from refplatform import ReferencePlatform

TZ = ZoneInfo("Asia/Shanghai")
HOSPITAL = "H33010000001"
APP_KEY = "app-test-1"
SECRET = "Sx-platform-secret-canary-7731"
START = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)


def receipt(n: int, *, item: str = "Y0001", qty: str = "10", lot: str | None = None, accepted_at: datetime | None = None,
            delivery_id: str | None = None, **kw: object) -> Receipt:
    at = accepted_at or START
    return Receipt(line_id=f"RK{n:06d}", changed_at=at, item_code=item, quantity=Decimal(qty), unit="盒",
                   lot=lot if lot is not None else f"LOT{n:04d}", expiry=None, distributor="DIST01", accepted_at=at,
                   delivery_id=delivery_id, **kw)  # type: ignore[arg-type]


def store_receipts(store: Store, receipts: Sequence[Receipt], now: datetime) -> int:
    """What the ingestion does: store receipts and call on_stored in one transaction (fake store step)."""
    with store.begin() as conn:
        return enqueue_confirmations(conn, store.hospital_code, receipts, now)


def make_client(ref: ReferencePlatform, profile: str = "zj_infno", *, secret: str = SECRET, read_timeout: float = 2.0,
                rate: float | None = None, verify: object = True, wall: object = None) -> PlatformClient:
    timeout = httpx.Timeout(connect=2.0, read=read_timeout, write=2.0, pool=2.0)
    kwargs = {"wall": wall} if wall is not None else {}
    return PlatformClient(PROFILES[profile], ref.url_for(profile), APP_KEY, secret, HOSPITAL, timeout=timeout, verify=verify,
                          pacer=Pacer(rate) if rate else None, **kwargs)  # type: ignore[arg-type]


def outbox_rows(store: Store) -> list[dict]:
    with store.read() as conn:
        return [dict(r) for r in conn.execute(select(outbox).order_by(outbox.c.id)).mappings().all()]


@pytest.fixture
def ref() -> Iterator[ReferencePlatform]:
    with ReferencePlatform(apps={APP_KEY: SECRET}, now=lambda: START) as server:  # lines stamped by the tests' clock
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'state.db'}", HOSPITAL)
    yield s
    s.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START + timedelta(hours=1), TZ)


def drainer(store: Store, client: PlatformClient, clock: FakeClock, **kw: object) -> Drainer:
    return Drainer(store, client, clock, **kw)  # type: ignore[arg-type]
