"""The attempts of the bypass table that could act on a real engine, run as the agent would run a
custom query (the guard, then the source connection), on PostgreSQL and MariaDB through their ODBC
drivers and on SQLite: afterwards no file exists, no setting changed, no sequence moved.

And the second wall, with the guard stepped around: every query runs inside a read-only
transaction, so a SELECT that turns the session's read-only default off cannot make a later
query write (the issue's ``set_config`` then ``nextval``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyodbc
import pytest

from adapters.odbc import OdbcSource
from adapters.registry import custom_preset
from agent.config import SourceConfig
from agent.errors import ConfigError, SourceError
from tests.conftest import MY_HOST, PG_HOST, PG_USER


def as_the_agent_would(connection: str, dialect: str, sql: str) -> str:
    """Run ``sql`` as the ``usage`` query of a custom source: 'refused' when the guard stops it."""
    cfg = SourceConfig(name="his", kind="his", preset="custom", connection=connection,
                       queries={"usage": sql, "day_totals": "SELECT 1", "items": "SELECT 1"}, options={"dialect": dialect})
    try:
        preset = custom_preset(cfg)
    except ConfigError:
        return "refused"
    odbc = OdbcSource("his", connection)
    try:
        text, _ = preset.sql_for("usage", odbc.engine)
        list(odbc.stream(text))
        return "ran"
    except SourceError as exc:
        return f"failed on the server: {exc}"
    finally:
        odbc.close()


@pytest.fixture
def outfile() -> Iterator[Path]:
    path = Path("/tmp") / f"vbp_guard_{uuid.uuid4().hex[:8]}"
    yield path
    if path.exists():
        path.unlink()


# -- PostgreSQL ----------------------------------------------------------------------------------

@pytest.fixture
def pg_his(pg_schema: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(host=PG_HOST, user=PG_USER, dbname="test", autocommit=True,
                         options=f"-csearch_path={pg_schema}") as conn:
        conn.execute("CREATE SEQUENCE rx_seq")
        conn.execute("CREATE TABLE op_dispense (id int, drug_code varchar(20))")
        conn.execute("INSERT INTO op_dispense VALUES (1, 'X01'), (2, 'X02')")
        yield conn


def _pg_state(conn: psycopg.Connection) -> tuple[object, ...]:
    row = conn.execute("SELECT last_value, is_called FROM rx_seq").fetchone()
    count = conn.execute("SELECT count(*) FROM op_dispense").fetchone()
    return (*(row or ()), *(count or ()))


PG_ATTEMPTS = [
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    "SELECT nextval('rx_seq')",
    "SELECT setval('rx_seq', 99)",
    "SELECT lo_export(lo_from_bytea(0, 'x'), '{file}')",
    "SELECT pg_read_file('/etc/hostname')",
    "SELECT 1; COPY (SELECT 1) TO '{file}'",
    "COPY op_dispense TO '{file}'",
    "WITH gone AS (DELETE FROM op_dispense RETURNING *) SELECT count(*) FROM gone",
    "SELECT * FROM op_dispense FOR UPDATE",
    "SELECT pg_sleep(30)",
    "SELECT 1 /*+ SeqScan(op_dispense) */",
]


@pytest.mark.parametrize("attempt", PG_ATTEMPTS)
def test_on_postgresql_each_attempt_is_refused_and_changes_nothing(pg_odbc: str, pg_his: psycopg.Connection,
                                                                  outfile: Path, attempt: str) -> None:
    before = _pg_state(pg_his)
    assert as_the_agent_would(pg_odbc, "postgres", attempt.format(file=outfile)) == "refused"
    assert _pg_state(pg_his) == before
    assert not outfile.exists()


def test_on_postgresql_a_select_turning_read_only_off_cannot_make_the_next_query_write(pg_odbc: str,
                                                                                      pg_his: psycopg.Connection) -> None:
    source = OdbcSource("his", pg_odbc)  # the guard stepped around: the read-only transaction alone
    try:
        assert source.scalar("SELECT set_config('default_transaction_read_only', 'off', false)") == "off"
        with pytest.raises(SourceError):
            source.scalar("SELECT nextval('rx_seq')")
        assert source.scalar("SHOW default_transaction_read_only") == "on"
        assert source.scalar("SELECT count(*) FROM op_dispense") == 2
    finally:
        source.close()
    assert _pg_state(pg_his) == (1, False, 2)


def test_on_postgresql_a_connection_string_turning_read_only_off_still_cannot_write(pg_schema: str,
                                                                                   pg_his: psycopg.Connection) -> None:
    source = OdbcSource("his", f"Driver={{PostgreSQL Unicode}};Server={PG_HOST};Port=5432;Database=test;UID={PG_USER};"
                               f"ConnSettings={{SET search_path TO {pg_schema};SET default_transaction_read_only TO off}};")
    try:
        with pytest.raises(SourceError):
            source.scalar("SELECT nextval('rx_seq')")
        rows = [r[0] for r in source.stream("SELECT id FROM op_dispense ORDER BY id")]
        assert rows == [1, 2]  # reading still works, streamed inside its read-only transaction
    finally:
        source.close()
    assert _pg_state(pg_his) == (1, False, 2)


# -- MariaDB -------------------------------------------------------------------------------------

@pytest.fixture
def my_his(mariadb_db: str) -> Iterator[tuple[str, pyodbc.Connection]]:
    """The agent's connection string (no password key: root has none here) and an admin connection."""
    admin = pyodbc.connect(f"Driver={{MariaDB Unicode}};Server={MY_HOST};Port=3306;UID=root;PWD=;Database={mariadb_db};",
                           autocommit=True)
    admin.execute("CREATE TABLE op_dispense (id INT, drug_code VARCHAR(20))")
    admin.execute("INSERT INTO op_dispense VALUES (1, 'X01'), (2, 'X02')")
    admin.execute("CREATE TABLE audit_log (id INT)")
    admin.execute("CREATE FUNCTION write_audit() RETURNS INT MODIFIES SQL DATA "
                  "BEGIN INSERT INTO audit_log VALUES (1); RETURN 1; END")
    yield f"Driver={{MariaDB Unicode}};Server={MY_HOST};Port=3306;Database={mariadb_db};UID=root;", admin
    admin.close()


def _my_state(admin: pyodbc.Connection) -> tuple[object, ...]:
    return (admin.execute("SELECT COUNT(*) FROM op_dispense").fetchval(), admin.execute("SELECT COUNT(*) FROM audit_log").fetchval(),
            admin.execute("SELECT @@GLOBAL.max_statement_time").fetchval())


MARIADB_ATTEMPTS = [
    "SELECT drug_code FROM op_dispense /*! INTO OUTFILE '{file}' */",
    "SELECT drug_code FROM op_dispense /*!50000 INTO OUTFILE '{file}' */",
    "SELECT drug_code FROM op_dispense /*M! INTO DUMPFILE '{file}' */",
    "SELECT drug_code FROM op_dispense INTO OUTFILE '{file}'",
    "SELECT drug_code INTO OUTFILE '{file}' FROM op_dispense",
    "SELECT LOAD_FILE('/etc/hostname')",
    "SELECT write_audit()",
    "SELECT 1; DELETE FROM op_dispense",
    "SELECT * FROM op_dispense FOR UPDATE",
    "SELECT * FROM op_dispense LOCK IN SHARE MODE",
    "SELECT SLEEP(30)",
    "SELECT BENCHMARK(100000000, MD5('x'))",
    "SELECT GET_LOCK('vbp', 30)",
]


@pytest.mark.parametrize("attempt", MARIADB_ATTEMPTS)
def test_on_mariadb_each_attempt_is_refused_and_no_file_is_written(my_his: tuple[str, pyodbc.Connection],
                                                                 outfile: Path, attempt: str) -> None:
    connection, admin = my_his
    before = _my_state(admin)
    assert as_the_agent_would(connection, "mysql", attempt.format(file=outfile)) == "refused"
    assert _my_state(admin) == before
    assert not outfile.exists()


def test_on_mariadb_a_select_calling_a_writing_function_fails_inside_its_read_only_transaction(
        my_his: tuple[str, pyodbc.Connection]) -> None:
    connection, admin = my_his
    source = OdbcSource("his", connection)  # the guard stepped around
    try:
        with pytest.raises(SourceError):
            source.scalar("SELECT write_audit()")
        assert source.scalar("SELECT COUNT(*) FROM op_dispense") == 2
    finally:
        source.close()
    assert admin.execute("SELECT COUNT(*) FROM audit_log").fetchval() == 0


# -- SQLite --------------------------------------------------------------------------------------

@pytest.fixture
def sqlite_his(sqlite_odbc: str, tmp_path: Path) -> str:
    conn = pyodbc.connect(sqlite_odbc, autocommit=True)
    conn.execute("CREATE TABLE op_dispense (id INT, drug_code VARCHAR(20))")
    conn.execute("INSERT INTO op_dispense VALUES (1, 'X01')")
    conn.close()
    return sqlite_odbc


SQLITE_ATTEMPTS = [
    "ATTACH DATABASE '{file}' AS x",
    "SELECT writefile('{file}', 'x')",
    "SELECT load_extension('/tmp/nope.so')",
    "SELECT 1; DELETE FROM op_dispense",
    "PRAGMA query_only = OFF",
    "WITH x AS (DELETE FROM op_dispense RETURNING id) SELECT * FROM x",
]


@pytest.mark.parametrize("attempt", SQLITE_ATTEMPTS)
def test_on_sqlite_each_attempt_is_refused(sqlite_his: str, outfile: Path, attempt: str) -> None:
    assert as_the_agent_would(sqlite_his, "sqlite", attempt.format(file=outfile)) == "refused"
    assert not outfile.exists()


def test_on_sqlite_the_session_is_query_only(sqlite_his: str) -> None:
    source = OdbcSource("his", sqlite_his)
    try:
        assert source.scalar("PRAGMA query_only") == 1
        with pytest.raises(SourceError):
            source.scalar("DELETE FROM op_dispense")
        assert source.scalar("SELECT COUNT(*) FROM op_dispense") == 1
    finally:
        source.close()


def test_a_harmless_select_runs_on_each_engine(pg_odbc: str, pg_his: psycopg.Connection, sqlite_his: str) -> None:
    assert as_the_agent_would(pg_odbc, "postgres", "SELECT id, ';DELETE' AS note FROM op_dispense -- 门诊") == "ran"
    assert as_the_agent_would(sqlite_his, "sqlite", "SELECT id, '/*! x */' FROM op_dispense") == "refused"  # even in a literal
    assert as_the_agent_would(sqlite_his, "sqlite", "SELECT id, drug_code FROM op_dispense WHERE drug_code <> ';'") == "ran"
    assert os.path.exists(sqlite_his.split("Database=")[1].rstrip(";"))
