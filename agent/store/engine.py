"""Opening the state store safely.

SQLite: WAL journal, ``synchronous=FULL`` (NORMAL lost committed transactions in a power-loss
test), ``BEGIN IMMEDIATE`` for every write transaction so two writers never deadlock on upgrade
from a read lock. A file that is not a SQLite database, or fails its integrity check, or holds a
newer schema, stops the agent with a clear message and is never overwritten.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from agent.errors import StoreError
from agent.logging import redact_text
from agent.store import migrate

SQLITE_MAGIC = b"SQLite format 3\x00"
BULK_CHECKPOINT_PAGES = 10_000  # WAL pages between checkpoints inside Store.bulk (4 KiB pages: 40 MB)


class Store:
    """Engine plus the hospital code every row is keyed by."""

    def __init__(self, engine: Engine, hospital_code: str, known: list[migrate.Component] | None = None) -> None:
        self.engine = engine
        self.hospital_code = hospital_code
        self.known = known  # the schema this code writes (None: every component at its latest version)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite): commits on exit, rolls back on error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def bulk(self) -> Iterator[Connection]:
        """One connection for a long run of write transactions (the backfill), each begun with
        ``conn.begin()``. On SQLite, for that connection only: commits are not synced one by one
        (``synchronous = NORMAL``: in WAL mode a power cut can lose the last commits, whole, never
        part of one, and a killed process loses nothing; the backfill's progress commits with its
        rows, so it resumes before what was lost). The WAL is checkpointed (synced) at the end and
        the connection goes back to the pool as it came. The WAL is checkpointed every
        ``BULK_CHECKPOINT_PAGES`` (40 MB) rather than every 1,000 pages (4 MB): fewer, larger
        checkpoints, each synced as before. (A larger page cache gained nothing in bench-ingest: a
        window's inserts land in the last pages of the primary key. ``synchronous = OFF`` is not
        used: a power cut during a checkpoint could then corrupt the file, not only lose commits.)"""
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection if self.is_sqlite else None
            if raw is not None:
                raw.execute("PRAGMA synchronous = NORMAL")
                pages = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
                raw.execute(f"PRAGMA wal_autocheckpoint = {BULK_CHECKPOINT_PAGES}")
            try:
                yield conn
            finally:
                if raw is not None:
                    raw.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
                    raw.execute("PRAGMA synchronous = FULL")
                    raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(vbp_read_only=True) as conn:
            yield conn

    def versions(self) -> dict[str, int]:
        with self.read() as conn:
            return migrate.read_versions(conn) or {}

    def newer_schema(self) -> str | None:
        """Why this agent must stop writing (a newer vbp-agent has since upgraded the store), or None."""
        return migrate.newer_than_code(self.versions(), self.known)

    def close(self) -> None:
        self.engine.dispose()


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    rest = url[len("sqlite:///"):].split("?", 1)[0]
    if rest in ("", ":memory:"):
        return None
    return Path(rest)


def _check_sqlite_file(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as fh:
        head = fh.read(16)
    if head != SQLITE_MAGIC:
        raise StoreError(
            f"{path} is not a SQLite database (it starts with {head[:8]!r}). The agent will not overwrite it: "
            "restore the file from backup, or move it aside to start a new store."
        )


def _install_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 10000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get("vbp_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    path = _sqlite_path(url)
    if url.startswith("sqlite"):
        if path is not None:
            _check_sqlite_file(path)
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, poolclass=NullPool if path is None else None, connect_args={"timeout": 10})
        _install_sqlite_pragmas(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)


def missing_store(url: str) -> str | None:
    """Why there is no state store at ``url`` yet (a SQLite file or directory that does not exist, a
    database with no agent schema), without creating anything; None when there is one."""
    path = _sqlite_path(url)
    if url.startswith("sqlite"):
        if path is None:
            return "an in-memory store holds nothing between commands"
        if not path.is_file():
            return f"{path} does not exist"
        return None
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            versions = migrate.read_versions(conn)
            conn.rollback()
    finally:
        engine.dispose()
    return None if versions else f"{_safe_url(url)} holds no vbp-agent schema"


def open_store(url: str, hospital_code: str, *, upgrade: bool = True, target: dict[str, int] | None = None) -> Store:
    """Open (and create or upgrade) the store; StoreError when it must not be touched."""
    engine = make_engine(url)
    known = None if target is None else migrate.components(target)
    store = Store(engine, hospital_code, known)
    try:
        if store.is_sqlite and _sqlite_path(url) is not None:
            with engine.connect() as conn:
                result = conn.exec_driver_sql("PRAGMA quick_check").scalar()
                conn.rollback()
            if result != "ok":
                raise StoreError(f"{_sqlite_path(url)} failed its integrity check ({result}); restore it from backup.")
        with store.begin() as conn:
            if upgrade:
                migrate.upgrade(conn, target=target)
            else:
                stored = migrate.read_versions(conn) or {}
                migrate.plan(stored, known or migrate.components())
    except StoreError:
        engine.dispose()
        raise
    except (OperationalError, DBAPIError) as exc:
        engine.dispose()
        where = _sqlite_path(url) or _safe_url(url)
        if isinstance(exc, OperationalError):  # down, restarting, unreachable: it passes
            raise StoreError(f"cannot open the state store {where}: {exc.orig}; run the command again once the "
                             "database is back", transient=True) from None
        raise StoreError(f"cannot open the state store {where}: {exc.orig}") from None
    return store


def _safe_url(url: str) -> str:
    return redact_text(url)
