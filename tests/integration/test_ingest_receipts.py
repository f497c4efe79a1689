"""Receipt ingestion against real databases: keyset, settle lag, edits, deletes, one transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from adapters.warehouse import std
from agent.clock import FakeClock
from agent.jobs.ingest_receipts import ingest_receipts
from agent.store import open_store
from agent.store.quarantine import listing
from agent.store.receipts import load_cursor
from agent.store.schema.ingest import receipts
from tests.ingest_support import SourceDb, make_source_db

DETAIL = ("detail_id", "bill_id", "item_code", "qty", "unit", "lot_no", "expire_date", "unit_price", "amount",
          "plat_delivery_id", "plat_order_id", "del_flag", "modify_time")
BILL = ("bill_id", "bill_no", "supplier_name", "delivery_note_no", "invoice_no", "accept_time", "is_platform", "modify_time")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                        pytest.param("mariadb", marks=pytest.mark.mariadb)])
def wh(request: pytest.FixtureRequest) -> SourceDb:
    db = make_source_db(request, request.param)
    t = db.target()
    t.create(std.PRESET)
    t.close()
    return db


@pytest.fixture
def store(store_url: str):
    s = open_store(store_url, "H1")
    yield s
    s.close()


def source_now(db: SourceDb) -> datetime:
    return db.source(std.PRESET, name="wh").source_now().replace(tzinfo=None, microsecond=0)


def add_lines(db: SourceDb, ids: range, at: datetime, qty: int = 10, bill: int = 1, unit: str = "盒") -> None:
    t = db.target()
    t.insert("in_bill", BILL, [(bill, f"RK{bill:06d}", "国药控股股份有限公司", f"PSD{bill:06d}", f"FP{bill:06d}", at, "1", at)])
    t.insert("in_bill_detail", DETAIL, [(i, bill, "Y00001", Decimal(qty), unit, f"L{i}", at.date() + timedelta(days=700),
                                          Decimal("3.05"), Decimal("30.5"), f"PS{i:08d}", f"DD{bill:06d}", "0", at) for i in ids])
    t.close()


def poll(store, db: SourceDb, **kw):
    got: list = []
    kw.setdefault("settle_lag", timedelta(seconds=0))
    stats = ingest_receipts(store, db.source(std.PRESET, name="wh"), FakeClock(datetime.now(UTC), UTC),
                            on_stored=lambda conn, rs: got.extend(rs), **kw)
    return stats, got


def stored_lines(store) -> dict:
    with store.read() as conn:
        return {r.line_id: r for r in conn.execute(select(receipts)).all()}


def test_many_receipts_sharing_one_changed_at_across_a_page_boundary_are_all_read_once(wh: SourceDb, store) -> None:
    at = source_now(wh) - timedelta(hours=1)
    add_lines(wh, range(1, 26), at)
    stats, got = poll(store, wh, page_size=10)
    assert stats.stored == 25 and stats.pages == 3
    assert sorted(int(r.line_id) for r in got) == list(range(1, 26))
    stats, got = poll(store, wh, page_size=10)  # the lookback re-scan sees them again and changes nothing
    assert (stats.stored, stats.unchanged, got) == (0, 25, [])
    assert len(stored_lines(store)) == 25


def test_an_edited_and_a_deleted_line_are_reflected(wh: SourceDb, store) -> None:
    at = source_now(wh) - timedelta(hours=2)
    add_lines(wh, range(1, 11), at)
    poll(store, wh)
    later = at + timedelta(minutes=30)
    wh.run("UPDATE in_bill_detail SET qty = 12, modify_time = ? WHERE detail_id = 3", (later,))
    wh.run("UPDATE in_bill_detail SET del_flag = '1', modify_time = ? WHERE detail_id = 5", (later,))
    wh.run("DELETE FROM in_bill_detail WHERE detail_id = 7")
    stats, got = poll(store, wh)
    assert sorted((r.line_id, r.deleted) for r in got) == [("3", False), ("5", True), ("7", True)]
    lines = stored_lines(store)
    assert Decimal(lines["3"].quantity) == 12 and lines["5"].deleted and lines["7"].deleted
    assert len(lines) == 10 and sum(1 for r in lines.values() if not r.deleted) == 8
    assert stats.deleted == 2


def test_lines_inside_the_settle_lag_wait_for_a_later_poll(wh: SourceDb, store) -> None:
    now = source_now(wh)
    add_lines(wh, range(1, 4), now - timedelta(hours=1))
    add_lines(wh, range(4, 6), now - timedelta(seconds=30), bill=2)
    stats, _ = poll(store, wh, settle_lag=timedelta(minutes=5))
    assert sorted(stored_lines(store)) == ["1", "2", "3"]
    stats, got = poll(store, wh, settle_lag=timedelta(seconds=0))
    assert sorted(r.line_id for r in got) == ["4", "5"]


def test_a_failure_inside_the_transaction_stores_neither_rows_nor_cursor(wh: SourceDb, store) -> None:
    add_lines(wh, range(1, 6), source_now(wh) - timedelta(hours=1))

    def refuse(conn, rs):
        raise RuntimeError("platform enqueue failed")

    with pytest.raises(RuntimeError):
        ingest_receipts(store, wh.source(std.PRESET, name="wh"), FakeClock(datetime.now(UTC), UTC),
                        settle_lag=timedelta(0), on_stored=refuse)
    with store.read() as conn:
        assert load_cursor(conn, "H1", "wh").changed_at is None
    assert stored_lines(store) == {}
    stats, got = poll(store, wh)
    assert len(got) == 5


def test_bad_receipt_lines_are_quarantined_and_the_rest_stored(wh: SourceDb, store) -> None:
    at = source_now(wh) - timedelta(hours=1)
    add_lines(wh, range(1, 4), at)
    add_lines(wh, range(4, 5), at, qty=-5, bill=2)
    add_lines(wh, range(5, 6), at, unit="大箱", bill=3)
    wh.run("UPDATE in_bill_detail SET item_code = NULL WHERE detail_id = 2")
    stats, got = poll(store, wh)
    assert sorted(r.line_id for r in got) == ["1", "3"] and stats.bad == 3
    with store.read() as conn:
        reasons = {q.key: q.reason for q in listing(conn, "H1")}
    assert reasons == {"2": "no item code", "4": "negative receipt quantity", "5": "unknown unit '大箱'"}
    poll(store, wh)  # seen again: counted, not duplicated
    with store.read() as conn:
        assert sorted(q.seen for q in listing(conn, "H1")) == [2, 2, 2]
