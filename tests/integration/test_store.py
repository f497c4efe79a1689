"""The state store on SQLite and on the local PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from agent.errors import StoreError
from agent.store import migrate, open_store, outbox
from agent.store.schema.core import schema_version
from agent.store.types import metadata

NOW = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


def test_a_new_store_gets_every_component_at_its_latest_version(store_url: str) -> None:
    store = open_store(store_url, "H1")
    try:
        assert store.versions() == {c.name: c.version for c in migrate.components()}
        with store.read() as conn:
            tables = set(inspect(conn).get_table_names())
        assert set(metadata.tables) <= tables
    finally:
        store.close()


def test_reopening_is_a_no_op(store_url: str) -> None:
    open_store(store_url, "H1").close()
    store = open_store(store_url, "H1")
    with store.read() as conn:
        before = conn.execute(select(schema_version.c.updated_at)).all()
    store.close()
    store = open_store(store_url, "H1")
    with store.read() as conn:
        assert conn.execute(select(schema_version.c.updated_at)).all() == before
    store.close()


def _schema_of(url: str) -> dict[str, object]:
    """Every table's columns, keys, indexes and (SQLite) its CREATE statement, the schema name left out."""
    from sqlalchemy import create_engine

    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            ins = inspect(conn)
            schema = conn.dialect.default_schema_name or ""
            out: dict[str, object] = {}
            for t in sorted(ins.get_table_names()):
                cols = [{k: str(v).replace(f"{schema}.", "") for k, v in c.items()} for c in ins.get_columns(t)]
                out[t] = (cols, ins.get_pk_constraint(t), sorted(map(str, ins.get_indexes(t))),
                          sorted(map(str, ins.get_unique_constraints(t))), sorted(map(str, ins.get_foreign_keys(t))))
            if conn.dialect.name == "sqlite":
                out["sqlite_master"] = conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master ORDER BY name").all()
            return out
    finally:
        eng.dispose()


def test_an_empty_store_given_the_noted_statements_is_the_store_its_migrations_make(
        store_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """An empty store is created from the statements the first one's migrations wrote in this process
    (migrate._create): the same tables, columns, keys and indexes as running the migrations."""
    if store_url.startswith("sqlite"):
        second = f"sqlite:///{tmp_path / 'second.db'}"
    else:
        from tests.conftest import new_pg_schema

        second = store_url.split("?")[0] + f"?options=-csearch_path%3D{new_pg_schema(request)}"
    migrate._CREATED.clear()  # the first store runs its migrations and notes what they write
    open_store(store_url, "H1").close()
    assert len(migrate._CREATED) == 1
    open_store(second, "H2").close()  # the second is given those statements
    made, given = _schema_of(store_url), _schema_of(second)
    assert set(made) >= set(metadata.tables)
    assert given == made
    store = open_store(second, "H2")
    assert store.versions() == {c.name: c.version for c in migrate.components()}
    store.close()


def _older_targets() -> list[dict[str, int]]:
    """Every earlier version of every component, the others at zero or latest."""
    targets = []
    for comp in migrate.components():
        for v in range(1 if comp.name == "core" else 0, comp.version):
            others = {c.name: c.version for c in migrate.components() if c.name != comp.name}
            targets.append({**others, comp.name: v})
    return targets


@pytest.mark.parametrize("target", _older_targets(), ids=lambda t: ",".join(f"{k}{v}" for k, v in sorted(t.items())))
def test_upgrade_runs_forward_from_every_earlier_version(store_url: str, target: dict[str, int]) -> None:
    old = open_store(store_url, "H1", target=target)
    assert {k: v for k, v in old.versions().items() if v} == {k: v for k, v in target.items() if v}
    with old.begin() as conn:
        outbox.enqueue(conn, "H1", "notify:test", "k1", {"text": "保留"}, NOW)
    old.close()
    store = open_store(store_url, "H1")
    assert store.versions() == {c.name: c.version for c in migrate.components()}
    with store.read() as conn:
        cols = {t: {c["name"] for c in inspect(conn).get_columns(t)} for t in metadata.tables}
        items = outbox.due(conn, "H1", "notify:test", NOW + timedelta(seconds=1))
    for name, table in metadata.tables.items():
        assert {c.name for c in table.columns} <= cols[name], name
    assert [i.payload for i in items] == [{"text": "保留"}]
    store.close()


def test_a_store_newer_than_the_code_is_refused_and_left_alone(store_url: str) -> None:
    store = open_store(store_url, "H1")
    with store.begin() as conn:
        conn.execute(schema_version.update().where(schema_version.c.component == "core").values(version=99))
    store.close()
    with pytest.raises(StoreError, match="version 99, newer than this vbp-agent"):
        open_store(store_url, "H1")
    store = open_store(store_url, "H1", upgrade=False) if False else None
    from sqlalchemy import create_engine

    eng = create_engine(store_url)
    with eng.connect() as conn:
        assert conn.execute(text("SELECT version FROM schema_version WHERE component='core'")).scalar() == 99
    eng.dispose()


def test_an_unknown_component_is_refused(store_url: str) -> None:
    store = open_store(store_url, "H1")
    with store.begin() as conn:
        conn.execute(schema_version.insert().values(component="from_the_future", version=1, updated_at=NOW))
    store.close()
    with pytest.raises(StoreError, match="from_the_future"):
        open_store(store_url, "H1")


def test_a_database_holding_foreign_tables_is_not_taken_over(store_url: str) -> None:
    from sqlalchemy import create_engine

    eng = create_engine(store_url)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE patients (id INTEGER PRIMARY KEY)"))
    eng.dispose()
    with pytest.raises(StoreError, match="not vbp-agent's"):
        open_store(store_url, "H1")


def test_a_file_that_is_not_a_database_is_refused_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    content = b"hospital notes, not a database\n" * 100
    path.write_bytes(content)
    with pytest.raises(StoreError, match="is not a SQLite database.*will not overwrite"):
        open_store(f"sqlite:///{path}", "H1")
    assert path.read_bytes() == content


def test_a_corrupt_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    open_store(f"sqlite:///{path}", "H1").close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # smash the first page after the header
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(StoreError):
        open_store(f"sqlite:///{path}", "H1")
    assert path.read_bytes() == before


def test_sqlite_runs_wal_with_full_sync(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()


def test_sqlite_write_transactions_take_the_write_lock_at_begin(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE: a second writer waits at BEGIN instead of failing later on upgrade."""
    path = tmp_path / "state.db"
    store = open_store(f"sqlite:///{path}", "H1")
    other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with store.begin():
            entered.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    entered.wait(5)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        other.execute("BEGIN IMMEDIATE")
    release.set()
    t.join()
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()
    store.close()


def test_outbox_enqueues_once_per_key_and_backs_off(store_url: str) -> None:
    store = open_store(store_url, "H1")
    with store.begin() as conn:
        assert outbox.enqueue(conn, "H1", "platform:confirm", "shp-1", {"n": 1}, NOW) is True
        assert outbox.enqueue(conn, "H1", "platform:confirm", "shp-1", {"n": 2}, NOW) is False
        assert outbox.enqueue(conn, "H2", "platform:confirm", "shp-1", {"n": 3}, NOW) is True
    with store.begin() as conn:
        [item] = outbox.due(conn, "H1", "platform:*", NOW)
        assert item.payload == {"n": 1}
        when = outbox.mark_retry(conn, item.id, NOW, "HTTP 503", item.attempts, retry_after_s=120)
        assert when == NOW + timedelta(seconds=120)
        assert outbox.due(conn, "H1", "platform:confirm", NOW + timedelta(seconds=119)) == []
        assert outbox.depth(conn, "H1") == {"platform:confirm": 1}
        outbox.mark_sent(conn, item.id, NOW, {"infcode": "0"})
        assert outbox.depth(conn, "H1") == {}
    store.close()


def test_backoff_grows_and_is_capped() -> None:
    import random

    rng = random.Random(1)
    delays = [outbox.backoff(a, rng=rng) for a in range(12)]
    assert delays[0] <= 30 and delays[3] > delays[0]
    assert max(delays) <= outbox.MAX_DELAY_S
    assert outbox.backoff(0, retry_after_s=10**9) == outbox.RETRY_AFTER_CAP_S


def test_stored_times_come_back_timezone_aware(store_url: str) -> None:
    store = open_store(store_url, "H1")
    local = NOW.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    with store.begin() as conn:
        outbox.enqueue(conn, "H1", "c", "k", {}, local)
    with store.read() as conn:
        [item] = outbox.due(conn, "H1", "c", NOW)
    assert item.created_at == NOW and item.created_at.tzinfo is not None
    store.close()
    time.sleep(0)


def test_usage_rows_survive_the_move_to_a_table_without_rowid(store_url: str) -> None:
    """ingest v6: on SQLite ``usage_daily`` is rebuilt WITHOUT ROWID, its rows kept; PostgreSQL is untouched."""
    from datetime import date
    from decimal import Decimal

    from agent.store import usage

    old = open_store(store_url, "H1", target={c.name: c.version for c in migrate.components()} | {"ingest": 5})
    merged = {(date(2026, 11, 2), "A1", "0101", "outpatient", ""): (Decimal("3"), Decimal("16.8"), 2),
              (date(2026, 11, 3), "A1", "0101", "inpatient", ""): (Decimal("1.5"), Decimal("8.4"), 1)}
    totals = [usage.DayTotal(date(2026, 11, 2), 2, Decimal(3), 1), usage.DayTotal(date(2026, 11, 3), 1, Decimal("1.5"), 1)]
    with old.begin() as conn:
        usage.replace_days(conn, "H1", "his", date(2026, 11, 2), date(2026, 11, 3), merged, totals, NOW)
    old.close()
    store = open_store(store_url, "H1")
    with store.read() as conn:
        rows = conn.execute(text("SELECT day, item_code, setting, quantity, amount, lines FROM usage_daily "
                                 "ORDER BY day")).all()
        ddl = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'usage_daily'")).scalar() if store.is_sqlite else ""
    store.close()
    assert [(str(r[0]), r[1], r[2], Decimal(str(r[3])), Decimal(str(r[4])), r[5]) for r in rows] == [
        ("2026-11-02", "A1", "outpatient", Decimal(3), Decimal("16.8"), 2),
        ("2026-11-03", "A1", "inpatient", Decimal("1.5"), Decimal("8.4"), 1)]
    assert ("WITHOUT ROWID" in ddl) == store.is_sqlite


@pytest.mark.parametrize("n", [1, 200, 451])
def test_a_window_of_usage_rows_is_stored_whole_and_exactly(store_url: str, n: int) -> None:
    """Every row of a window lands, with its values, whatever its size against the rows SQLite takes
    per statement, and a hospital or source written with a quote is stored as it is."""
    from datetime import date
    from decimal import Decimal

    from agent.store import usage

    store = open_store(store_url, "H'1")
    day = date(2026, 11, 2)
    merged = {(day, f"A{i:04d}", "0101", "outpatient", ""): (Decimal(i) / 4, Decimal("16.8") * i, i) for i in range(n)}
    with store.begin() as conn:
        usage.replace_days(conn, "H'1", "his'x", day, day, merged, [usage.DayTotal(day, n, Decimal(0), n)], NOW)
        usage.replace_days(conn, "H'1", "his'x", day, day, merged, [usage.DayTotal(day, n, Decimal(0), n)], NOW)
    with store.read() as conn:
        rows = conn.execute(text("SELECT hospital_code, source, day, item_code, quantity, amount, lines, read_at "
                                 "FROM usage_daily")).all()
    store.close()
    assert sorted((r[3], Decimal(str(r[4])), Decimal(str(r[5])), r[6]) for r in rows) == sorted(
        (k[1], q, a, n_) for k, (q, a, n_) in merged.items())
    assert {(r[0], r[1], str(r[2]), str(r[7])[:19]) for r in rows} == {("H'1", "his'x", "2026-11-02", "2026-11-25 08:30:00")}
