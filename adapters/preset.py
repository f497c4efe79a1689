"""A preset: named SQL strings in the product's own dialect, kept as data.

Queries use named parameters (``:day_from``, ``:day_to_next``, ``:since_ts``, ``:since_id``,
``:until``, ``:limit``). At load time each query is parsed by sqlglot in the product's dialect
(``tsql`` for SQL Server, ``oracle`` for Oracle) and must be exactly one SELECT; it is then
transpiled for the engine the connection really reaches (so the same preset runs on PostgreSQL,
MariaDB and SQLite in tests). Where transpiling cannot bridge an engine difference, a preset
carries a small per-engine variant of that one query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from adapters.sqlguard import guard_select

# What each engine is called in sqlglot.
SQLGLOT_DIALECT = {"postgresql": "postgres", "mariadb": "mysql", "sqlite": "sqlite", "mssql": "tsql", "oracle": "oracle"}
_NAMED = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)\b")
_STRING = re.compile(r"'(?:[^']|'')*'")

# The queries a source kind needs, and the columns each must return, in order.
COLUMNS: dict[str, tuple[str, ...]] = {
    "usage": ("day", "item_code", "dept_code", "setting", "quantity", "amount", "lines"),
    "usage_by_prescriber": ("day", "item_code", "dept_code", "setting", "prescriber_code", "quantity", "amount", "lines"),
    "day_totals": ("day", "lines", "quantity"),
    "items": ("code", "name", "generic_name", "dosage_form", "spec", "manufacturer", "his_unit", "pack_factor",
              "national_code", "price"),
    "departments": ("code", "name"),  # the department dictionary (科室字典); optional, so not in REQUIRED
    # the 医保 interface log's 进销存 calls (3501-3507); optional
    "insurance_uploads": ("business_day", "interface", "attempt", "uploaded_at", "lines", "ok", "message"),
    "receipts": ("line_id", "changed_at", "item_code", "quantity", "unit", "lot", "expiry", "distributor",
                 "accepted_at", "delivery_id", "order_id", "invoice_no", "unit_price", "on_platform", "deleted",
                 "delivery_note_no", "receipt_no"),
}
# Columns a query may add after its required ones (the adapter reads them when present).
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {"receipts": ("pack_factor",), "items": ("registration_no",)}
REQUIRED = {"his": ("usage", "day_totals", "items"), "prescription": ("usage", "day_totals"), "warehouse": ("receipts",)}


@dataclass(frozen=True)
class Preset:
    name: str
    kind: str  # his | prescription | warehouse
    dialect: str  # the product's own sqlglot dialect: tsql | oracle
    queries: Mapping[str, str]
    variants: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # engine -> query name -> SQL
    ddl: tuple[str, ...] = ()  # tables the generator creates, with {ts} {dec} {text} placeholders
    index_tables: tuple[str, ...] = ()  # the big tables whose scans `check` and the benchmark watch
    line_id_is_int: bool = True
    item_kind: str | None = None  # "consumable": a material dictionary (物资字典), every item a consumable

    def sql_for(self, name: str, engine: str) -> tuple[str, tuple[str, ...]]:
        """The query for an engine, with ``?`` placeholders, and the parameter names in order."""
        variant = self.variants.get(engine, {}).get(name)
        text = variant or transpile(self.queries[name], self.dialect, engine)
        if "--" in text:
            text = text.rstrip() + "\n"  # psqlODBC wraps the text in a cursor: a last '-- comment' would eat its end
        return to_qmarks(text)

    def validate(self, where: str = "preset") -> None:
        for name, sql in self.queries.items():
            require_single_select(sql, self.dialect, f"{where}.queries.{name}")


def to_qmarks(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:name`` placeholders (outside string literals) to ``?``; returns the names in order."""
    names: list[str] = []
    out, last = [], 0
    for lit in [*_STRING.finditer(sql), None]:
        end = lit.start() if lit else len(sql)
        chunk = sql[last:end]

        def sub(m: re.Match[str]) -> str:
            names.append(m.group(1))
            return "?"

        out.append(_NAMED.sub(sub, chunk))
        if lit:
            out.append(lit.group(0))
            last = lit.end()
    return "".join(out), tuple(names)


def transpile(sql: str, dialect: str, engine: str) -> str:
    target = SQLGLOT_DIALECT[engine]
    if target == dialect:
        return sql
    out = sqlglot.transpile(sql, read=dialect, write=target)[0]
    if engine == "postgresql":
        # sqlglot writes %(name)s placeholders and spells out SQL Server's null ordering, which would
        # stop PostgreSQL using the (changed_at, id) index for the keyset ORDER BY; our keys are NOT NULL.
        out = re.sub(r"%\(([a-z_][a-z0-9_]*)\)s", r":\1", out).replace(" NULLS FIRST", "")
    return out


def require_single_select(sql: str, dialect: str, key: str) -> exp.Expression:
    """Parse ``sql``; refuse, naming ``key``, anything that is not exactly one SELECT that only reads
    (the guard of adapters/sqlguard.py: comments that act, stray words, impure functions, ...)."""
    return guard_select(sql, dialect, key)


def render_ddl(statement: str, engine: str) -> str:
    """DDL kept as data with a few engine placeholders (MariaDB's TIMESTAMP is not a plain timestamp)."""
    types = {
        "postgresql": {"ts": "TIMESTAMP", "dec": "NUMERIC", "text": "VARCHAR"},
        "mariadb": {"ts": "DATETIME", "dec": "DECIMAL", "text": "VARCHAR"},
        "sqlite": {"ts": "TIMESTAMP", "dec": "DECIMAL", "text": "VARCHAR"},
    }[engine]
    return statement.format(**types)
