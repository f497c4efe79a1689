"""PostgreSQL restarted in the middle of a receipt poll: nothing lost, nothing counted twice.

Restarting the shared server disturbs other tests, so this module is named to run last in
tests/integration, keeps its data tiny, and makes sure the server is up again before it ends.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from adapters.warehouse import std
from agent.clock import FakeClock
from agent.errors import SourceError
from agent.jobs.ingest_receipts import ingest_receipts
from agent.ports import ReceiptCursor
from agent.store import open_store
from tests.conftest import PG_HOST, PG_USER
from tests.ingest_support import HIS_PRESETS, make_source_db


def _cluster() -> list[str]:
    line = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout.split()
    return line[:2]  # version, name


def _wait_up(seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            psycopg.connect(host=PG_HOST, user=PG_USER, dbname="test", connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            time.sleep(0.2)
    raise AssertionError("PostgreSQL did not come back")


class RestartsAfterFirstPage:
    """The real warehouse source; the server is restarted once, right after the first page."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.pages = inner, inner.name, 0

    def source_now(self) -> datetime:
        return self.inner.source_now()

    def read_receipts(self, cursor: ReceiptCursor, until: datetime, limit: int):
        page = list(self.inner.read_receipts(cursor, until, limit))
        self.pages += 1
        if self.pages == 1:
            version, name = _cluster()
            subprocess.run(["pg_ctlcluster", version, name, "restart", "-m", "fast"], check=True, timeout=60)
        return page


@pytest.mark.postgres
def test_postgresql_restarted_mid_poll_loses_nothing_and_counts_nothing_twice(request, tmp_path: Path) -> None:
    db = make_source_db(request, "postgresql")
    hospital = db.load_his(HIS_PRESETS["mssql_his"], days=4, rows_per_day=5)
    db.load_warehouse(hospital)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    clock = FakeClock(datetime.now(UTC), UTC)
    delivered: Counter[str] = Counter()
    source = RestartsAfterFirstPage(db.source(std.PRESET, name="wh", retries=1))
    try:
        with pytest.raises(SourceError) as err:
            ingest_receipts(store, source, clock, settle_lag=timedelta(0), page_size=3,
                            on_stored=lambda conn, rs: delivered.update(r.line_id for r in rs))
        assert err.value.transient
    finally:
        _wait_up()
    stats = ingest_receipts(store, source, clock, settle_lag=timedelta(0), page_size=3,
                            on_stored=lambda conn, rs: delivered.update(r.line_id for r in rs))
    store.close()
    assert stats.pages > 1
    assert sorted(delivered) == sorted(str(r[0]) for r in hospital.receipts)
    assert set(delivered.values()) == {1}
