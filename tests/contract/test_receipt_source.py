"""ReceiptSource over the warehouse preset on every engine: keyset pages, the upper bound, the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.warehouse import std
from agent.domain.model import Receipt
from agent.ports import ReceiptCursor
from tests.conftest import machine_now
from tests.ingest_support import HIS_PRESETS, START, SourceDb

FAR = datetime(2100, 1, 1, tzinfo=UTC)


def _loaded(source_db: SourceDb):
    hospital = source_db.load_his(HIS_PRESETS["mssql_his"], days=6, rows_per_day=5)
    source_db.load_warehouse(hospital)
    return hospital, source_db.source(std.PRESET, name="wh")


def test_keyset_pages_read_every_line_once_in_cursor_order(source_db: SourceDb) -> None:
    hospital, source = _loaded(source_db)
    cursor, seen = ReceiptCursor(), []
    while page := list(source.read_receipts(cursor, FAR, 4)):
        assert len(page) <= 4
        seen += page
        cursor = ReceiptCursor(page[-1].changed_at, page[-1].line_id)
    assert sorted(int(r.line_id) for r in seen) == sorted(line[0] for line in hospital.receipts)
    positions = [(r.changed_at, int(r.line_id)) for r in seen]
    assert positions == sorted(positions)


def test_receipts_carry_acceptance_time_delivery_note_and_platform_ids(source_db: SourceDb) -> None:
    hospital, source = _loaded(source_db)
    first = next(iter(source.read_receipts(ReceiptCursor(), FAR, 1)))
    assert isinstance(first, Receipt)
    line = next(x for x in hospital.receipts if str(x[0]) == first.line_id)
    assert first.accepted_at == line[9].replace(tzinfo=UTC) and first.changed_at == line[10].replace(tzinfo=UTC)
    assert (first.item_code, first.lot, first.delivery_id, first.order_id) == (line[3], line[6], line[11], line[12])
    assert first.delivery_note_no and first.delivery_note_no.startswith("PSD") and first.receipt_no.startswith("RK")
    assert first.on_platform is True and first.deleted is False and first.expiry == line[7]


def test_lines_changed_after_the_upper_bound_are_not_read(source_db: SourceDb) -> None:
    hospital, source = _loaded(source_db)
    until = datetime.combine(START + timedelta(days=2), datetime.min.time(), UTC)
    got = list(source.read_receipts(ReceiptCursor(), until, 1000))
    assert got and all(r.changed_at <= until for r in got)
    assert len(got) == sum(1 for x in hospital.receipts if x[10].replace(tzinfo=UTC) <= until)


def test_source_clock_is_the_databases_own_and_timezone_aware(source_db: SourceDb) -> None:
    _hospital, source = _loaded(source_db)
    now = source.source_now()
    assert now.tzinfo is not None
    assert abs(now - machine_now()) < timedelta(minutes=5)  # the server's clock, not the agent's (which tests may move)
