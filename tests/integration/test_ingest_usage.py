"""Usage ingestion against real databases: lookback, idempotence, reconciliation, quarantine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select

from agent.clock import FakeClock
from agent.domain.model import BadRow, Setting, UsageRow
from agent.jobs.ingest_items import department_names, ingest_departments, ingest_items
from agent.jobs.ingest_usage import ingest_window, poll_usage
from agent.jobs.reconcile import reconcile_usage
from agent.store import open_store
from agent.store.quarantine import listing
from agent.store.schema.ingest import local_departments, local_items, usage_daily, usage_days
from tests.ingest_support import HIS_PRESETS, START, SourceDb, make_source_db

MSSQL = HIS_PRESETS["mssql_his"]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def his(request: pytest.FixtureRequest) -> SourceDb:
    return make_source_db(request, request.param)


@pytest.fixture
def store(store_url: str):
    s = open_store(store_url, "H1")
    yield s
    s.close()


def stored(store, day_from, day_to) -> dict:
    with store.read() as conn:
        rows = conn.execute(select(usage_daily).where(usage_daily.c.day.between(day_from, day_to))).all()
    return {(r.day, r.item_code, r.dept_code, r.setting): (Decimal(r.quantity), r.lines) for r in rows}


def clock_at(day) -> FakeClock:
    return FakeClock(datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=15), UTC)


def test_a_poll_stores_the_open_day_and_the_lookback_as_the_source_has_them(his: SourceDb, store) -> None:
    hospital = his.load_his(MSSQL, days=10)
    clock = clock_at(START + timedelta(days=9))
    stats = poll_usage(store, his.source(MSSQL), clock, lookback_days=7)
    assert stats.days == 8 and stats.bad == 0
    day_from = START + timedelta(days=2)
    assert stored(store, day_from, clock.today()) == hospital.expected_usage(day_from, clock.today())
    assert stored(store, START, START + timedelta(days=1)) == {}


def test_late_commit_inside_lookback_is_counted_once(his: SourceDb, store) -> None:
    hospital = his.load_his(MSSQL, days=10)
    clock = clock_at(START + timedelta(days=9))
    source = his.source(MSSQL)
    poll_usage(store, source, clock)
    late_day = START + timedelta(days=5)
    his.run("INSERT INTO op_dispense (disp_id, disp_date, disp_time, drug_code, dept_code, visit_type, qty, unit, amount)"
            " VALUES (999999, ?, ?, 'Y00002', '0101', 'O', 4, '盒', 190.4)",
            (late_day, datetime.combine(late_day, datetime.min.time()) + timedelta(hours=23)))
    for _ in range(3):  # re-reading is idempotent: the late line counts once however often we poll
        poll_usage(store, source, clock)
    expected = hospital.expected_usage(late_day, late_day)
    key = (late_day, "Y00002", "0101", "outpatient")
    q, n = expected.get(key, (Decimal(0), 0))
    expected[key] = (q + 4, n + 1)
    assert stored(store, late_day, late_day) == expected


def test_a_poll_rereads_the_open_day_and_only_the_lookback_days_whose_totals_moved_and_the_sweep_all(
        his: SourceDb, store) -> None:
    his.load_his(MSSQL, days=10)
    clock = clock_at(START + timedelta(days=9))
    source = his.source(MSSQL)
    assert poll_usage(store, source, clock).days == 8  # never read: every lookback day
    assert poll_usage(store, source, clock).days == 1  # nothing moved: the open day alone
    day = START + timedelta(days=5)

    def amount() -> Decimal:
        with store.read() as conn:
            return Decimal(conn.execute(select(func.sum(usage_daily.c.amount)).where(usage_daily.c.day == day)).scalar())

    before = amount()
    his.run("UPDATE op_dispense SET amount = amount + 100 WHERE disp_id = (SELECT MIN(disp_id) FROM op_dispense "
            "WHERE disp_date = ?)", (day,))  # a correction that moves neither the rows nor the quantity
    assert poll_usage(store, source, clock).days == 1 and amount() == before
    assert poll_usage(store, source, clock, sweep=True).days == 8 and amount() == before + 100
    his.run("UPDATE op_dispense SET qty = qty + 1 WHERE disp_id = (SELECT MIN(disp_id) FROM op_dispense "
            "WHERE disp_date = ?)", (day,))
    assert poll_usage(store, source, clock).days == 2  # the day whose quantity moved, and the open day


@pytest.mark.postgres
def test_the_packed_read_gives_the_plain_reads_rows_and_reads_plain_a_window_that_does_not_unpack(request) -> None:
    db = make_source_db(request, "postgresql")
    db.load_his(MSSQL, days=3)
    packed, plain = db.source(MSSQL), db.source(MSSQL, packed=False)

    def rows(src) -> list[str]:
        return sorted(map(repr, src.read_usage(START, START + timedelta(days=2))))

    assert rows(packed) == rows(plain) and len(rows(plain)) > 10
    assert packed.packed and not plain.packed
    day = START + timedelta(days=1)
    for disp_id, code, dept in ((999990, "Y\x1f0001", "0102"), (999991, None, "0102"), (999992, "Y00002", " 0102")):
        db.run("INSERT INTO op_dispense (disp_id, disp_date, disp_time, drug_code, dept_code, visit_type, qty, unit, amount)"
               " VALUES (?, ?, ?, ?, ?, 'O', 2, '盒', 6.1)", (disp_id, day, datetime.combine(day, datetime.min.time()),
                                                             code, dept))
        assert rows(packed) == rows(plain)  # a separator in a code, no code, a padded code: judged alike


def test_reconciliation_rereads_only_the_days_that_differ(his: SourceDb, store) -> None:
    hospital = his.load_his(MSSQL, days=10)
    clock = clock_at(START + timedelta(days=9))
    source = his.source(MSSQL)
    from agent.jobs.ingest_usage import ingest_window

    ingest_window(store, source, START, clock.today(), clock.now())
    old_day = START + timedelta(days=1)  # outside the 7-day lookback
    his.run("UPDATE op_dispense SET qty = qty + 10 WHERE disp_id = (SELECT MIN(disp_id) FROM op_dispense WHERE disp_date = ?)",
            (old_day,))
    assert reconcile_usage(store, source, clock, days=9) == [old_day]
    assert reconcile_usage(store, source, clock, days=9) == []
    total = sum(q for (d, *_), (q, _n) in stored(store, old_day, old_day).items())
    assert total == sum(q for q, _ in hospital.expected_usage(old_day, old_day).values()) + 10


def test_rows_without_an_item_code_are_quarantined_and_the_rest_stored(his: SourceDb, store) -> None:
    hospital = his.load_his(MSSQL, days=3)
    day = START + timedelta(days=1)
    his.run("INSERT INTO op_dispense (disp_id, disp_date, disp_time, drug_code, dept_code, visit_type, qty, unit, amount)"
            " VALUES (999998, ?, ?, NULL, '0102', 'O', 2, '盒', 6.1)", (day, datetime.combine(day, datetime.min.time())))
    stats = poll_usage(store, his.source(MSSQL), clock_at(START + timedelta(days=2)), lookback_days=2)
    assert stats.bad == 1
    assert stored(store, START, day + timedelta(days=1)) == hospital.expected_usage(START, day + timedelta(days=1))
    with store.read() as conn:
        bad = listing(conn, "H1")
    assert [(b.kind, b.reason, b.raw["dept_code"]) for b in bad] == [("usage", "no item code", "0102")]


def test_the_item_dictionary_lands_in_local_items(his: SourceDb, store) -> None:
    hospital = his.load_his(MSSQL, days=1)
    assert ingest_items(store, his.source(MSSQL), clock_at(START)) == (len(hospital.items), 0)
    with store.read() as conn:
        n = conn.execute(select(func.count()).select_from(local_items)).scalar()
        row = conn.execute(select(local_items).where(local_items.c.code == "Y00002")).one()
    assert n == len(hospital.items)
    assert (row.name, row.national_code, Decimal(row.pack_factor)) == ("阿托伐他汀钙片(立普妥) 20mg*7片", "XC10AAA052A001010100002", 7)



def test_the_department_dictionary_replaces_the_sources_departments_and_quarantines_rows_without_a_code(
        his: SourceDb, store) -> None:
    hospital = his.load_his(MSSQL, days=1)
    assert ingest_departments(store, his.source(MSSQL), clock_at(START)) == (len(hospital.depts), 0)
    his.run("UPDATE dept_dict SET dept_name = '心内科' WHERE dept_code = '0101'")
    his.run("DELETE FROM dept_dict WHERE dept_code = '0601'")
    his.run("INSERT INTO dept_dict (dept_code, dept_name) VALUES ('', '无编码科室')")
    assert ingest_departments(store, his.source(MSSQL), clock_at(START + timedelta(days=1))) == (len(hospital.depts) - 1, 1)
    names = department_names(store)
    assert names["0101"] == "心内科" and names["0301"] == "急诊科" and "0601" not in names
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(local_departments)).scalar() == len(hospital.depts) - 1
        bad = listing(conn, "H1")
    assert [(b.kind, b.reason, b.raw["name"]) for b in bad] == [("department", "no department code", "无编码科室")]

class RowsSource:
    """A UsageSource with only the port's ``read_usage`` (no tuple fast path)."""

    name = "rows"

    def __init__(self, rows: list[UsageRow | BadRow]) -> None:
        self.rows = rows

    def read_usage(self, day_from: date, day_to: date) -> Iterator[UsageRow | BadRow]:
        return iter(self.rows)


def test_a_plain_usage_source_is_validated_merged_and_stored_like_a_sql_source(store) -> None:
    day, q = START + timedelta(days=1), Decimal
    out = RowsSource([
        UsageRow(day, "Y1", "0101", Setting.OUTPATIENT, q("2.5"), q("10"), 2),
        UsageRow(day, "Y1", "0101", Setting.OUTPATIENT, q("1"), q("4"), 1),  # the same key twice: summed
        UsageRow(day, "Y\t2", "0101", Setting.INPATIENT, q("1"), q("1"), 1),  # a tab is odd but decodable: stored
        UsageRow(day, "  ", "0101", Setting.OUTPATIENT, q("7"), q("7"), 3),
        UsageRow(day, "Y3", "01\ufffd", Setting.OUTPATIENT, q("5"), q("5"), 4),
        UsageRow(day + timedelta(days=9), "Y4", "0101", Setting.OUTPATIENT, q("1"), q("1"), 1),
    ])
    stats = ingest_window(store, out, START, day, clock_at(day).now())
    assert (stats.rows, stats.lines, stats.bad) == (2, 4, 3)
    assert stored(store, START, day) == {(day, "Y1", "0101", "outpatient"): (q("3.5"), 3),
                                         (day, "Y\t2", "0101", "inpatient"): (q("1"), 1)}
    with store.read() as conn:
        reasons = sorted(b.reason for b in listing(conn, "H1"))
        totals = conn.execute(select(usage_days.c.lines, usage_days.c.groups).where(usage_days.c.day == day)).one()
    assert reasons == [f"impossible date {day + timedelta(days=9)} outside the window read", "no item code",
                       "undecodable text"]
    assert tuple(totals) == (11, 2)  # quarantined lines still count in the source's own totals


def test_an_ingest_store_from_version_1_loses_the_item_major_usage_index(store_url: str) -> None:
    old = open_store(store_url, "H1", target={"ingest": 1})
    with old.begin() as conn:  # as version 1 created it
        conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_usage_daily_item_day ON usage_daily (hospital_code, item_code, day)")
    old.close()
    store = open_store(store_url, "H1")
    with store.read() as conn:
        indexes = {ix["name"] for ix in inspect(conn).get_indexes("usage_daily")}
    store.close()
    assert "ix_usage_daily_item_day" not in indexes


@pytest.mark.postgres
def test_a_backfill_reading_ahead_from_a_packed_source_stores_what_one_window_at_a_time_stores(request, tmp_path) -> None:
    """The reader thread only fetches the packed rows (``prefetch_usage``); the writer unpacks them,
    and a window that does not unpack is read plain there, its bad row quarantined."""
    from agent.jobs.backfill import backfill_usage

    db = make_source_db(request, "postgresql")
    db.load_his(MSSQL, days=6)
    day = START + timedelta(days=3)
    db.run("INSERT INTO op_dispense (disp_id, disp_date, disp_time, drug_code, dept_code, visit_type, qty, unit, amount)"
           " VALUES (999990, ?, ?, NULL, '0102', 'O', 2, '盒', 6.1)", (day, datetime.combine(day, datetime.min.time())))
    clock = clock_at(START + timedelta(days=7))
    results = []
    for name, pause in (("ahead", 0.0), ("one_by_one", 0.001)):
        st = open_store(f"sqlite:///{tmp_path / name}.db", "H1")
        stats = backfill_usage(st, db.source(MSSQL), clock, START, START + timedelta(days=5), window_days=2, pause_s=pause)
        with st.read() as conn:
            rows = sorted(map(tuple, conn.execute(select(usage_daily.c.day, usage_daily.c.item_code, usage_daily.c.dept_code,
                                                        usage_daily.c.setting, usage_daily.c.quantity, usage_daily.c.lines))))
            quarantined = len(listing(conn, "H1"))
        st.close()
        results.append((stats.rows, stats.bad, rows, quarantined))
    assert results[0] == results[1]
    assert results[0][1] == 1 and results[0][3] == 1 and len(results[0][2]) > 10
