"""DDL helpers the schema modules' migrations use: tables as they were at a version, added columns."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Column, Connection, Index, MetaData, Table, UniqueConstraint, inspect, text
from sqlalchemy.schema import CreateColumn


def create_tables(
    conn: Connection, tables: Iterable[Table], without: Mapping[str, Iterable[str]] | None = None,
    with_rowid: Iterable[str] = (),
) -> None:
    """Create tables as they were at this migration: ``without`` names columns added later,
    ``with_rowid`` tables made ``WITHOUT ROWID`` on SQLite later (a copy carries no dialect options)."""
    rowid = set(with_rowid)
    for table in tables:
        dropped = set((without or {}).get(table.name, ()))
        (_copy_without(table, dropped) if dropped or table.name in rowid else table).create(conn, checkfirst=True)


def _copy_without(table: Table, dropped: set[str]) -> Table:
    md = MetaData(naming_convention=table.metadata.naming_convention)
    cols = [c._copy() for c in table.columns if c.name not in dropped]
    copy = Table(table.name, md, *cols)
    for cons in table.constraints:
        if isinstance(cons, UniqueConstraint):
            names = [c.name for c in cons.columns]
            if not dropped.intersection(names):
                copy.append_constraint(UniqueConstraint(*names, name=cons.name))
    for ix in table.indexes:
        names = [c.name for c in ix.columns]
        if not dropped.intersection(names):
            Index(ix.name, *[copy.c[n] for n in names], unique=ix.unique)
    return copy


def add_column(conn: Connection, table: Table, column: str) -> None:
    """ALTER TABLE ... ADD COLUMN for a column of ``table``'s current definition, if missing."""
    existing = {c["name"] for c in inspect(conn).get_columns(table.name)}
    if column in existing:
        return
    col: Column = table.c[column]
    ddl = CreateColumn(col).compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))
