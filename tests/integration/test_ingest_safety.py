"""What must never happen: patient identifiers leaving the HIS, garbled Chinese text, a hung query,
an error that does not say whether retrying helps."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pyodbc
import pytest
import structlog
from sqlalchemy import MetaData, select

from adapters.odbc import OdbcSource
from adapters.preset import Preset
from adapters.source import SqlSource
from adapters.warehouse import std
from agent.clock import FakeClock
from agent.errors import SourceError
from agent.jobs.backfill import backfill_usage
from agent.jobs.ingest_items import department_names, ingest_departments, ingest_items
from agent.jobs.ingest_receipts import ingest_receipts
from agent.jobs.ingest_usage import poll_usage
from agent.jobs.reconcile import reconcile_usage
from agent.store import open_store
from agent.store.schema.ingest import local_items
from tests.conftest import PG_HOST, PG_USER
from tests.ingest_support import HIS_PRESETS, START, SourceDb, make_source_db


def dump(store) -> str:
    md = MetaData()
    md.reflect(store.engine)
    with store.read() as conn:
        return "\n".join(repr(row) for t in md.sorted_tables for row in conn.execute(select(t)).all())


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("preset_name", sorted(HIS_PRESETS))
def test_patient_canaries_appear_nowhere_in_the_store_or_the_logs(request, tmp_path: Path, engine: str,
                                                                   preset_name: str) -> None:
    db = make_source_db(request, engine)
    preset = HIS_PRESETS[preset_name]
    hospital = db.load_his(preset, days=9)
    db.load_warehouse(hospital)
    src = db.source(preset)
    assert "CANARY" in str(next(src.odbc.stream("SELECT * FROM " + preset.index_tables[0])))  # planted, so this can fail
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    clock = FakeClock(datetime.combine(START + timedelta(days=8), datetime.min.time(), UTC), UTC)
    with structlog.testing.capture_logs() as logs:
        backfill_usage(store, src, clock, START, START + timedelta(days=8), window_days=3)
        poll_usage(store, db.source(preset, by_prescriber=True), clock)
        reconcile_usage(store, src, clock, days=8)
        ingest_items(store, src, clock)
        ingest_receipts(store, db.source(std.PRESET, name="wh"), clock, settle_lag=timedelta(0))
    text = dump(store)
    store.close()
    assert "阿托伐他汀钙片" in text and "Y00001" in text
    assert "CANARY" not in text and "患者" not in text
    assert "CANARY" not in repr(logs)


@pytest.mark.mariadb
def test_gbk_text_round_trips_on_mariadb(request, tmp_path: Path) -> None:
    name = request.getfixturevalue("mariadb_db")
    admin = pyodbc.connect("Driver={MariaDB Unicode};Server=127.0.0.1;Port=3306;UID=root;PWD=;", autocommit=True)
    admin.execute(f"ALTER DATABASE `{name}` CHARACTER SET gbk")
    db = SourceDb("mariadb", request.getfixturevalue("mariadb_odbc"))
    preset = HIS_PRESETS["mssql_his"]
    hospital = db.load_his(preset, days=1)
    raw = admin.execute(f"SELECT HEX(drug_name), CHARSET(drug_name) FROM `{name}`.drug_dict WHERE drug_code = 'Y00001'").fetchone()
    admin.close()
    assert raw[1] == "gbk" and bytes.fromhex(raw[0]).decode("gbk") == "阿托伐他汀钙片 20mg*7片"
    for encoding in ("gbk", "gb18030"):
        store = open_store(f"sqlite:///{tmp_path / f'{encoding}.db'}", "H1")
        ingest_items(store, db.source(preset, encoding=encoding), FakeClock(datetime.now(UTC), UTC))
        ingest_departments(store, db.source(preset, encoding=encoding), FakeClock(datetime.now(UTC), UTC))
        with store.read() as conn:
            names = dict(conn.execute(select(local_items.c.code, local_items.c.name)).all())
        depts = department_names(store)
        store.close()
        assert names == {i.code: i.name for i in hospital.items}
        assert depts == dict(hospital.depts)


@pytest.mark.mariadb
def test_a_mariadb_name_with_a_character_taken_for_a_surrogate_keeps_the_next(request, tmp_path: Path) -> None:
    # Connector/ODBC 3.1 converting to UTF-16 lost the character after U+xxD8..U+xxDB (四, 痛 ...):
    # 扑热息痛片 read as 扑热息痛; the source now fetches text as bytes and decodes it itself
    db = SourceDb("mariadb", request.getfixturevalue("mariadb_odbc"))
    preset = HIS_PRESETS["mssql_his"]
    hospital = db.load_his(preset, days=1)
    assert {"扑热息痛片", "心痛定片"} <= {i.name for i in hospital.items}
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    ingest_items(store, db.source(preset), FakeClock(datetime.now(UTC), UTC))
    with store.read() as conn:
        names = dict(conn.execute(select(local_items.c.code, local_items.c.name)).all())
    store.close()
    assert names == {i.code: i.name for i in hospital.items}


def _locker(engine: str, db: SourceDb, release: threading.Event, locked: threading.Event) -> None:
    if engine == "postgresql":
        schema = db.odbc.split("search_path TO ")[1].rstrip(";")
        with psycopg.connect(host=PG_HOST, user=PG_USER, dbname="test") as conn:
            conn.execute(f'LOCK TABLE "{schema}".in_bill_detail IN ACCESS EXCLUSIVE MODE')
            locked.set()
            release.wait(30)
            conn.rollback()
    else:
        conn = pyodbc.connect(db.odbc, autocommit=True)
        conn.execute("LOCK TABLES in_bill_detail WRITE")
        locked.set()
        release.wait(30)
        conn.execute("UNLOCK TABLES")
        conn.close()


@pytest.mark.parametrize("engine", [pytest.param("postgresql", marks=pytest.mark.postgres),
                                    pytest.param("mariadb", marks=pytest.mark.mariadb)])
def test_a_query_blocked_by_a_lock_times_out_as_transient_and_the_next_poll_succeeds(request, tmp_path, engine) -> None:
    db = make_source_db(request, engine)
    hospital = db.load_his(HIS_PRESETS["mssql_his"], days=3, rows_per_day=5)
    db.load_warehouse(hospital)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    clock = FakeClock(datetime.now(UTC), UTC)
    release, locked = threading.Event(), threading.Event()
    holder = threading.Thread(target=_locker, args=(engine, db, release, locked))
    holder.start()
    try:
        assert locked.wait(10)
        source = db.source(std.PRESET, name="wh", query_timeout_s=1)
        with pytest.raises(SourceError) as err:
            ingest_receipts(store, source, clock, settle_lag=timedelta(0))
        assert err.value.transient
    finally:
        release.set()
        holder.join(30)
    stats = ingest_receipts(store, source, clock, settle_lag=timedelta(0))
    store.close()
    assert stats.stored == len(hospital.receipts)


@pytest.mark.parametrize("engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                                    pytest.param("mariadb", marks=pytest.mark.mariadb)])
def test_a_missing_table_is_a_permanent_error_that_names_it(request, engine) -> None:
    db = make_source_db(request, engine)
    preset = Preset("custom", "his", "tsql", {"usage": "SELECT a FROM his_old_dispense WHERE d >= :day_from"})
    source = SqlSource("his", preset, OdbcSource("his", db.odbc), UTC)
    with pytest.raises(SourceError) as err:
        list(source.read_usage(START, START))
    assert err.value.permanent and "his_old_dispense" in str(err.value)


@pytest.mark.postgres
def test_a_refused_login_is_permanent_and_an_unreachable_server_transient(services) -> None:
    with pytest.raises(SourceError) as err:
        OdbcSource("his", f"Driver={{PostgreSQL Unicode}};Server={PG_HOST};Database=test;UID=no_such_role;").connect()
    assert err.value.permanent and "login failed" in str(err.value)
    with pytest.raises(SourceError) as err:
        OdbcSource("his", f"Driver={{PostgreSQL Unicode}};Server={PG_HOST};Port=5999;Database=test;UID=x;",
                   login_timeout_s=2).connect()
    assert err.value.transient


@pytest.mark.postgres
def test_the_session_is_read_only_on_postgresql(request) -> None:
    db = make_source_db(request, "postgresql")
    db.load_his(HIS_PRESETS["mssql_his"], days=1, rows_per_day=2)
    odbc = OdbcSource("his", db.odbc)
    with pytest.raises(SourceError, match="read-only"):
        list(odbc.stream("DELETE FROM op_dispense"))
    assert odbc.can_write() is True  # the test login is a superuser: `check` warns about exactly this
