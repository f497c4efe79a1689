"""PostgreSQL restarted in the middle of a receipt poll: nothing lost, nothing counted twice.

The warehouse database is a cluster of the test's own (``pg_cluster``), so the restart disturbs no
other test and no other work on the machine, whatever order the suite runs in.
"""

from __future__ import annotations

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
from tests.conftest import PgCluster
from tests.ingest_support import HIS_PRESETS, START, SourceDb

pytestmark = pytest.mark.clock_free  # processes killed, servers restarted: no date decides anything


def _wait_up(cluster: PgCluster, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            psycopg.connect(host=cluster.host, port=cluster.port, user=cluster.user, dbname="postgres",
                            connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            time.sleep(0.2)
    raise AssertionError("PostgreSQL did not come back")


class RestartsAfterFirstPage:
    """The real warehouse source; its server is restarted once, right after the first page."""

    def __init__(self, inner, cluster: PgCluster) -> None:
        self.inner, self.name, self.cluster, self.pages = inner, inner.name, cluster, 0

    def source_now(self) -> datetime:
        return self.inner.source_now()

    def read_receipts(self, cursor: ReceiptCursor, until: datetime, limit: int):
        page = list(self.inner.read_receipts(cursor, until, limit))
        self.pages += 1
        if self.pages == 1:
            self.cluster.ctl("restart", "-m", "fast")
        return page


@pytest.mark.pg_cluster
def test_postgresql_restarted_mid_poll_loses_nothing_and_counts_nothing_twice(pg_cluster: PgCluster,
                                                                            tmp_path: Path) -> None:
    db = SourceDb("postgresql", pg_cluster.odbc() + "UseDeclareFetch=1;Fetch=10000;")
    hospital = db.load_his(HIS_PRESETS["mssql_his"], days=4, rows_per_day=5)
    db.load_warehouse(hospital)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    clock = FakeClock(datetime.combine(START, datetime.min.time(), UTC) + timedelta(days=10), UTC)
    delivered: Counter[str] = Counter()
    source = RestartsAfterFirstPage(db.source(std.PRESET, name="wh", retries=1), pg_cluster)
    try:
        with pytest.raises(SourceError) as err:
            ingest_receipts(store, source, clock, settle_lag=timedelta(0), page_size=3,
                            on_stored=lambda conn, rs: delivered.update(r.line_id for r in rs))
        assert err.value.transient
    finally:
        _wait_up(pg_cluster)
    stats = ingest_receipts(store, source, clock, settle_lag=timedelta(0), page_size=3,
                            on_stored=lambda conn, rs: delivered.update(r.line_id for r in rs))
    store.close()
    assert stats.pages > 1
    assert sorted(delivered) == sorted(str(r[0]) for r in hospital.receipts)
    assert set(delivered.values()) == {1}
