"""Writing a simulated hospital into a real database: PostgreSQL and MariaDB over ODBC, SQLite directly.

DDL comes from the presets (as data, with per-engine type placeholders); rows go in as multi-row
INSERTs in batches, one transaction per table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyodbc

from adapters.odbc import engine_of
from adapters.preset import Preset, render_ddl
from adapters.sim.hospital import Hospital

BATCH = 400


def _sqlite_value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime):
        return v.isoformat(sep=" ", timespec="seconds")
    if isinstance(v, date):
        return v.isoformat()
    return v


class Target:
    """A database the simulator writes into."""

    def __init__(self, engine: str, conn: Any) -> None:
        self.engine = engine
        self.conn = conn

    @classmethod
    def odbc(cls, connection_string: str, encoding: str = "utf-8") -> Target:
        engine = engine_of(connection_string)
        if engine == "sqlite":
            db = connection_string.split("Database=", 1)[1].split(";", 1)[0]
            return cls.sqlite(db)
        if engine == "mariadb":
            # send text as narrow strings in the connection's charset: MariaDB Connector/ODBC 3.1
            # mangles some UTF-16 parameters
            charset = "gbk" if encoding in ("gbk", "gb18030") else "utf8mb4"
            connection_string = connection_string.rstrip(";") + f";CHARSET={charset};"
        conn = pyodbc.connect(connection_string, autocommit=False, timeout=10)
        if engine == "mariadb":
            enc = "gbk" if encoding in ("gbk", "gb18030") else "utf-8"
            conn.setdecoding(pyodbc.SQL_CHAR, encoding=enc)
            conn.setencoding(encoding=enc)
        return cls(engine, conn)

    @classmethod
    def sqlite(cls, path: str | Path) -> Target:
        return cls("sqlite", sqlite3.connect(str(path), isolation_level=None))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self.engine == "sqlite":
            self.conn.execute(sql, [_sqlite_value(p) for p in params])
        else:
            self.conn.execute(sql, *params) if params else self.conn.execute(sql)
            self.conn.commit()

    def create(self, preset: Preset) -> None:
        for stmt in preset.ddl:
            self.execute(render_ddl(stmt, self.engine))

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        one = "(" + ",".join("?" * len(columns)) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        if self.engine == "sqlite":
            self.conn.execute("BEGIN")
            self.conn.executemany(head + one, [[_sqlite_value(v) for v in r] for r in rows])
            self.conn.execute("COMMIT")
            return
        cur = self.conn.cursor()
        for i in range(0, len(rows), BATCH):
            chunk = rows[i:i + BATCH]
            cur.execute(head + ",".join([one] * len(chunk)), [v for r in chunk for v in r])
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


def load_his(target: Target, hospital: Hospital, preset: Preset) -> None:
    target.create(preset)
    for table, (cols, rows) in hospital.his_rows(preset.name).items():
        target.insert(table, cols, rows)


def load_warehouse(target: Target, hospital: Hospital, preset: Preset) -> None:
    target.create(preset)
    for table, (cols, rows) in hospital.warehouse_rows().items():
        target.insert(table, cols, rows)
