"""Shared pyodbc plumbing: timeouts, read-only sessions, decoding, ``fetchmany`` streaming.

Every source connection goes through :class:`OdbcSource`. It never calls ``fetchall`` on a
source; it sets a login timeout and a query timeout; it asks the server for a read-only session
where the engine has one, and runs every query inside a read-only transaction where the engine has
one (so a session setting changed by a query, or by the connection string, cannot make the next
query write); it turns on psqlODBC's declare/fetch so streaming is real; it sets
``setdecoding``/``setencoding`` for GBK and GB18030 databases; and it turns driver errors into
:class:`SourceError` marked transient (retry can help) or permanent (a person must act), naming
the missing table or column.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import date, datetime
from typing import Any

import pyodbc
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential

from agent.errors import SourceError

FETCH_ROWS = 10000  # rows per fetchmany, and psqlODBC's declare/fetch block
ENGINES = ("postgresql", "mariadb", "sqlite", "mssql", "oracle")

# Per-engine session setup: read-only where the engine has it, and the query timeout on the server.
SESSION_SQL: dict[str, tuple[str, ...]] = {
    "postgresql": (
        "SET default_transaction_read_only = on",
        "SET statement_timeout = {timeout_ms}",
        "SET lock_timeout = {timeout_ms}",
    ),
    "mariadb": ("SET SESSION TRANSACTION READ ONLY", "SET SESSION max_statement_time = {timeout_s}"),
    "mssql": ("SET LOCK_TIMEOUT {timeout_ms}",),
    "sqlite": ("PRAGMA query_only = ON",),
}
# Each query (or each run of nested queries) is one read-only transaction, begun with this and rolled
# back at the end; the connection is then in manual-commit mode. SQLite has PRAGMA query_only (above),
# SQL Server has no read-only transaction (the login and ApplicationIntent=ReadOnly carry it).
READ_ONLY_TRANSACTION: dict[str, str] = {
    "postgresql": "SET TRANSACTION READ ONLY",  # psqlODBC sends BEGIN first in manual-commit mode
    "mariadb": "START TRANSACTION READ ONLY",
    "oracle": "SET TRANSACTION READ ONLY",
}
# Whether the login itself could write (``check`` warns loudly when it can).
WRITE_PROBE: dict[str, str] = {
    "postgresql": (
        "SELECT CASE WHEN r.rolsuper OR EXISTS (SELECT 1 FROM information_schema.table_privileges p "
        "WHERE p.grantee = current_user AND p.privilege_type IN ('INSERT','UPDATE','DELETE')) THEN 1 ELSE 0 END "
        "FROM pg_roles r WHERE r.rolname = current_user"
    ),
    "mariadb": "SELECT COUNT(*) FROM information_schema.user_privileges WHERE privilege_type IN ('INSERT','UPDATE','DELETE') "
    "AND grantee = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')",
    "mssql": "SELECT HAS_PERMS_BY_NAME(DB_NAME(), 'DATABASE', 'INSERT')",
}
SOURCE_NOW: dict[str, str] = {
    "postgresql": "SELECT LOCALTIMESTAMP(0)",
    "mariadb": "SELECT NOW()",
    "sqlite": "SELECT datetime('now', 'localtime')",
    "mssql": "SELECT GETDATE()",
    "oracle": "SELECT SYSDATE FROM DUAL",
}

_TRANSIENT_STATES = {"08001", "08S01", "08003", "08004", "08006", "08007", "HYT00", "HYT01", "40001", "57P01", "57014", "55P03", "HY008"}
_TRANSIENT_TEXT = re.compile(
    r"lock wait timeout|lock timeout|statement timeout|canceling statement|query execution was interrupted|"
    r"max_statement_time|server closed the connection|could not connect|connection refused|lost connection|"
    r"gone away|no connection to the server|could not send|terminating connection|database is locked|timeout expired",
    re.I,
)
_LOGIN_STATES = {"28000", "28P01"}
_MISSING = re.compile(
    r"relation \"(?P<a>[^\"]+)\" does not exist|column \"?(?P<b>[\w.]+)\"? does not exist|"
    r"Table '(?P<c>[^']+)' doesn't exist|Unknown column '(?P<d>[^']+)'|no such (table|column): (?P<e>[\w.]+)|"
    r"Invalid object name '(?P<f>[^']+)'|Invalid column name '(?P<g>[^']+)'|ORA-00942|ORA-00904: \"?(?P<h>[\w.]+)",
    re.I,
)


def _lenient(name: str) -> str:
    """A codec that decodes like ``name`` but turns undecodable bytes into U+FFFD instead of failing
    the whole fetch: the row then fails validation ("undecodable text") and goes to quarantine."""
    lenient = f"vbp_{name.replace('-', '_')}_replace"
    base = codecs.lookup(name)

    def search(wanted: str) -> codecs.CodecInfo | None:
        if wanted != lenient:
            return None
        return codecs.CodecInfo(name=lenient, encode=base.encode,
                                decode=lambda data, errors="strict": base.decode(data, "replace"))

    try:
        codecs.lookup(lenient)
    except LookupError:
        codecs.register(search)
    return lenient


def engine_of(connection_string: str, override: str | None = None) -> str:
    """Which engine a connection string reaches, from its Driver name (or the ``engine`` option)."""
    if override:
        if override not in ENGINES:
            raise SourceError(f"option engine='{override}' is not one of {', '.join(ENGINES)}", transient=False)
        return override
    m = re.search(r"driver\s*=\s*\{?([^};]+)", connection_string, re.I)
    name = (m.group(1) if m else "").lower()
    for needle, engine in (("postgres", "postgresql"), ("maria", "mariadb"), ("mysql", "mariadb"),
                           ("sqlite", "sqlite"), ("sql server", "mssql"), ("oracle", "oracle")):
        if needle in name:
            return engine
    raise SourceError("cannot tell the database engine from the connection string: set options.engine", transient=False)


def classify(exc: BaseException, source: str) -> SourceError:
    """A driver error as a SourceError: transient when retrying can help, permanent otherwise."""
    if isinstance(exc, SourceError):
        return exc
    state = str(exc.args[0]) if exc.args else ""
    text = " ".join(str(a) for a in exc.args[1:]) or str(exc)
    text = re.sub(r"\s+", " ", text)[:400]
    if state in _LOGIN_STATES or re.search(r"password authentication failed|access denied|login failed|role \S+ does not exist", text, re.I):
        return SourceError(f"source {source}: login failed ({state}): check the user and password", transient=False)
    missing = _MISSING.search(text)
    if missing:
        obj = next((g for g in missing.groups() if g and not g.startswith(("table", "column"))), None) or "?"
        return SourceError(f"source {source}: missing table or column '{obj}' ({state}): check the preset or its queries", transient=False)
    if state in _TRANSIENT_STATES or isinstance(exc, pyodbc.OperationalError) or _TRANSIENT_TEXT.search(text):
        return SourceError(f"source {source}: {state} {text}", transient=True)
    return SourceError(f"source {source}: {state} {text}", transient=False)


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, SourceError) and exc.transient


def _streaming(cs: str, engine: str, fetch: int) -> str:
    """psqlODBC loads the whole result unless UseDeclareFetch is on (1.15 GB for 2M rows);
    SQL Server routes a read-only intent to a readable secondary where there is one."""
    if engine == "postgresql" and "usedeclarefetch" not in cs.lower():
        cs = cs.rstrip(";") + f";UseDeclareFetch=1;Fetch={fetch};"
    if engine == "mssql" and "applicationintent" not in cs.lower():
        cs = cs.rstrip(";") + ";ApplicationIntent=ReadOnly;"
    return cs


class OdbcSource:
    """One connection per source, opened lazily, reopened after a transient failure. One thread at
    a time uses it: a query holds the source from its execute until its cursor is closed, so a
    backfill's writer reading a window plain (a packed window that did not unpack) waits for the
    reader thread's query instead of sharing its connection (unixODBC: HY010, function sequence
    error). The same thread may hold several queries open at once."""

    def __init__(self, name: str, connection_string: str, *, engine: str | None = None, login_timeout_s: int = 10,
                 query_timeout_s: int = 60, encoding: str = "utf-8", fetch_rows: int = FETCH_ROWS, retries: int = 3) -> None:
        self.name = name
        self.engine = engine_of(connection_string, engine)
        self._cs = _streaming(connection_string, self.engine, fetch_rows)
        if self.engine == "mariadb" and encoding != "utf-8" and "charset" not in self._cs.lower():
            # MariaDB has no gb18030 character set; gbk bytes decode as gb18030 (a superset)
            self._cs = self._cs.rstrip(";") + ";CHARSET=gbk;"
        self.login_timeout_s = login_timeout_s
        self.query_timeout_s = query_timeout_s
        self.encoding = encoding
        self.fetch_rows = fetch_rows
        self.retries = retries
        self._conn: pyodbc.Connection | None = None
        self._read_only_tx = READ_ONLY_TRANSACTION.get(self.engine)
        self._open_queries = 0  # queries whose rows are still being read inside the current transaction
        self._lock = threading.RLock()  # held by the thread whose queries are open

    # -- connection ------------------------------------------------------------------------
    def connect(self) -> pyodbc.Connection:
        if self._conn is not None:
            return self._conn
        try:
            conn = pyodbc.connect(self._cs, timeout=self.login_timeout_s, autocommit=self._read_only_tx is None,
                                  readonly=self.engine != "postgresql")
        except pyodbc.Error as exc:
            raise classify(exc, self.name) from None
        try:
            conn.timeout = self.query_timeout_s
        except pyodbc.Error:
            pass  # psqlODBC refuses the attribute; its server-side statement_timeout (SESSION_SQL) applies
        if self.encoding != "utf-8":
            conn.setdecoding(pyodbc.SQL_CHAR, encoding=_lenient(self.encoding))
            conn.setencoding(encoding=self.encoding)
        elif self.engine == "mariadb":
            # ~2.5x faster than the default path; the server has already converted to utf8mb4
            conn.setdecoding(pyodbc.SQL_CHAR, encoding="utf-8")
            conn.setencoding(encoding="utf-8")  # Connector/ODBC 3.1 mangles some UTF-16 parameters
        if self.engine == "mariadb":
            # text columns come as SQL_WVARCHAR; converted to UTF-16 by Connector/ODBC 3.1, a character
            # U+xxD8..U+xxDB (四, 痛, 变 ...) is taken for a surrogate and the next character is lost
            # (扑热息痛片 -> 扑热息痛): fetch them as bytes in the connection's charset and decode here
            conn.setdecoding(pyodbc.SQL_WCHAR, encoding=_lenient(self.encoding) if self.encoding != "utf-8" else "utf-8",
                             ctype=pyodbc.SQL_CHAR)
        try:
            for stmt in SESSION_SQL.get(self.engine, ()):
                conn.execute(stmt.format(timeout_ms=self.query_timeout_s * 1000, timeout_s=self.query_timeout_s))
            if self._read_only_tx is not None:
                conn.commit()
        except pyodbc.Error as exc:
            conn.close()
            raise classify(exc, self.name) from None
        self._conn = conn
        return conn

    def close(self) -> None:
        with self._lock:  # another thread's query in progress ends first (within its timeout)
            self._open_queries = 0
            if self._conn is not None:
                try:
                    self._conn.close()
                except pyodbc.Error:
                    pass
                self._conn = None

    # -- queries ---------------------------------------------------------------------------
    def bind(self, params: Sequence[Any]) -> list[Any]:
        """SQLite keeps dates as text: compare like with like (a bound datetime never matches)."""
        if self.engine != "sqlite":
            return list(params)
        out = []
        for p in params:
            if isinstance(p, datetime):
                out.append(p.isoformat(sep=" ", timespec="seconds" if not p.microsecond else "microseconds"))
            elif isinstance(p, date):
                out.append(p.isoformat())
            else:
                out.append(p)
        return out

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of one SELECT, ``fetchmany`` at a time. Retries the execute on transient errors."""
        for batch in self.batches(sql, params):
            for row in batch:
                yield tuple(row)

    def batches(self, sql: str, params: Sequence[Any] = ()) -> Iterator[list[Any]]:
        """The same rows as :meth:`stream`, one ``fetchmany`` list of ``pyodbc.Row`` at a time (they
        unpack like tuples): the hot paths skip a generator step and a tuple copy per row."""
        with self._cursor(sql, params) as cursor:
            while True:
                batch = self._fetch(cursor, self.fetch_rows)
                if not batch:
                    return
                yield batch

    def sample(self, sql: str, params: Sequence[Any] = (), limit: int = 1000) -> tuple[list[str], list[tuple[Any, ...]]]:
        """The column names (lower case, as the query's AS names them) and at most ``limit`` rows."""
        with self._cursor(sql, params) as cursor:
            names = [str(d[0]).lower() for d in cursor.description or ()]
            return names, [tuple(r) for r in self._fetch(cursor, limit)]

    @contextmanager
    def _cursor(self, sql: str, params: Sequence[Any]) -> Iterator[pyodbc.Cursor]:
        """One query's cursor, closed (and the read-only transaction ended) however reading ends;
        the source is this thread's until then."""
        with self._lock:
            cursor = self._execute(sql, params)
            self._open_queries += 1
            try:
                yield cursor
            finally:
                try:
                    cursor.close()
                except pyodbc.Error:
                    pass
                self._end_query()

    def _fetch(self, cursor: pyodbc.Cursor, rows: int) -> list[Any]:
        try:
            return cursor.fetchmany(rows)
        except pyodbc.Error as exc:
            self.close()
            raise classify(exc, self.name) from None

    def _end_query(self) -> None:
        """The last open query of the transaction is done: roll the read-only transaction back."""
        self._open_queries = max(0, self._open_queries - 1)
        if self._open_queries == 0 and self._read_only_tx is not None and self._conn is not None:
            try:
                self._conn.rollback()
            except pyodbc.Error:
                self.close()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with closing(self.stream(sql, params)) as rows:
            for row in rows:
                return row[0]
        return None

    def _execute(self, sql: str, params: Sequence[Any]) -> pyodbc.Cursor:
        @retry(retry=retry_if_exception(_is_transient), stop=stop_after_attempt(self.retries),
               wait=wait_exponential(multiplier=0.5, max=5), reraise=True)
        def attempt() -> pyodbc.Cursor:
            conn = self.connect()
            try:
                if self._read_only_tx is not None and self._open_queries == 0:
                    conn.execute(self._read_only_tx)
                return conn.cursor().execute(sql, self.bind(params))
            except pyodbc.Error as exc:
                err = classify(exc, self.name)
                if err.transient:
                    self.close()
                elif self._open_queries == 0 and self._read_only_tx is not None:
                    try:
                        conn.rollback()
                    except pyodbc.Error:
                        self.close()
                raise err from None

        return attempt()

    def source_now(self) -> datetime:
        value = self.scalar(SOURCE_NOW[self.engine])
        return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))

    def can_write(self) -> bool | None:
        """True when the login could change data; None when the engine cannot tell."""
        probe = WRITE_PROBE.get(self.engine)
        if probe is None:
            return None
        return bool(int(self.scalar(probe) or 0))
