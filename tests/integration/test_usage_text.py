"""A window's usage rows as text (UsageText, from a packed PostgreSQL source) stored as they are:
what a reader of the store sees is what the same rows merged give, on SQLite (taken as text) and
on PostgreSQL (written merged), a key twice included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from agent.clock import FakeClock
from agent.domain.model import TEXT_FIELDS, UsageText
from agent.jobs.backfill import backfill_usage
from agent.jobs.ingest_usage import write_window
from agent.store import open_store
from agent.store.schema.ingest import usage_daily, usage_days
from tests.ingest_support import HIS_PRESETS, START, make_source_db

D1, D2 = date(2026, 3, 2), date(2026, 3, 3)
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def text(*rows: tuple[str, ...]) -> UsageText:
    """Rows as ``TEXT_FIELDS``, with the day totals a packed source sends beside them."""
    totals: dict[date, tuple[int, Decimal, int]] = {}
    for row in rows:
        day = date.fromisoformat(row[0])
        lines, quantity, n = totals.get(day, (0, Decimal(0), 0))
        totals[day] = (lines + int(row[6]), quantity + Decimal(row[4]), n + 1)
    return UsageText([v for row in rows for v in row], totals)


ROWS = (("2026-03-02", "Y00001", "0101", "outpatient", "3.0000", "12.50", "2"),
        ("2026-03-02", "Y00002", "0101", "inpatient", "-1", "-4.0000", "1"),
        ("2026-03-02", "Y00002", "0202", "emergency", "0.0001", "123456789.1234", "1"),
        ("2026-03-03", "Y00001", "0101", "outpatient", "1.5", "6", "3"))


def read(store, source: str) -> tuple[list, list]:
    with store.read() as conn:
        daily = conn.execute(select(usage_daily.c.day, usage_daily.c.item_code, usage_daily.c.dept_code, usage_daily.c.setting,
                                    usage_daily.c.prescriber_code, usage_daily.c.quantity, usage_daily.c.amount,
                                    usage_daily.c.lines, usage_daily.c.read_at)
                             .where(usage_daily.c.source == source).order_by(*usage_daily.primary_key.columns)).all()
        days = conn.execute(select(usage_days.c.day, usage_days.c.lines, usage_days.c.quantity, usage_days.c.groups,
                                   usage_days.c.read_at).where(usage_days.c.source == source).order_by(usage_days.c.day)).all()
    return [tuple(r) for r in daily], [tuple(r) for r in days]


@pytest.fixture
def store(store_url: str):
    s = open_store(store_url, "H1")
    yield s
    s.close()


def test_a_windows_text_stores_what_its_rows_merged_store(store) -> None:
    window = text(*ROWS)
    assert TEXT_FIELDS[:4] == ("day", "item_code", "dept_code", "setting") and window.rows == 4
    as_text = write_window(store, "his", D1, D2 + timedelta(days=1), (window, []), NOW)
    merged = write_window(store, "merged", D1, D2 + timedelta(days=1), (window.merged(), []), NOW)
    assert as_text == merged and as_text.rows == 4 and as_text.lines == 7 and as_text.days == 3
    assert read(store, "his") == read(store, "merged")
    daily, days = read(store, "his")
    assert daily[0][5:8] == (Decimal(3), Decimal("12.5"), 2) and daily[2][5:7] == (Decimal("0.0001"), Decimal("123456789.1234"))
    assert [(d, n, q, g) for d, n, q, g, _ in days] == [(D1, 4, Decimal("2.0001"), 3), (D2, 3, Decimal("1.5"), 1),
                                                          (D2 + timedelta(days=1), 0, Decimal(0), 0)]
    again = write_window(store, "his", D1, D1, (text(ROWS[0]), []), NOW)  # a day read again replaces the day only
    assert again.rows == 1 and [r[:2] for r in read(store, "his")[0]] == [(D1, "Y00001"), (D2, "Y00001")]


def test_a_key_twice_in_a_windows_text_is_stored_once_summed(store) -> None:
    twice = ("2026-03-02", "Y00001", "0101", "outpatient", "0.1", "0.2", "1")
    stats = write_window(store, "his", D1, D2, (text(ROWS[0], twice, ROWS[3]), []), NOW)
    assert stats.rows == 2 and stats.lines == 6  # the key once, as the rows merged count it
    daily, days = read(store, "his")
    assert [r[5:8] for r in daily] == [(Decimal("3.1"), Decimal("12.7"), 3), (Decimal("1.5"), Decimal(6), 3)]
    assert [(d, n, q, g) for d, n, q, g, _ in days] == [(D1, 3, Decimal("3.1"), 1), (D2, 3, Decimal("1.5"), 1)]


@pytest.mark.postgres
def test_a_backfill_from_a_packed_source_stores_what_the_plain_read_stores(request, tmp_path) -> None:
    """The packed read's text, taken as it is by SQLite, against the plain query's typed rows:
    the same values, the same types (SQLite's typeof), the same day totals."""
    db = make_source_db(request, "postgresql")
    db.load_his(HIS_PRESETS["mssql_his"], days=9)
    clock = FakeClock(datetime.combine(START + timedelta(days=10), datetime.min.time(), UTC), UTC)
    results = []
    for name, packed in (("packed", True), ("plain", False)):
        st = open_store(f"sqlite:///{tmp_path / name}.db", "H1")
        stats = backfill_usage(st, db.source(HIS_PRESETS["mssql_his"], packed=packed), clock, START, START + timedelta(days=8),
                               window_days=4)
        with st.read() as conn:
            types = conn.exec_driver_sql("SELECT typeof(day), typeof(quantity), typeof(amount), typeof(lines), COUNT(*) "
                                         "FROM usage_daily GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4").all()
        results.append((stats, read(st, "his"), [tuple(t) for t in types]))
        st.close()
    assert results[0] == results[1] and results[0][0].rows > 20
