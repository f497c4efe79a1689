"""Ingestion test support: a source database on each engine, loaded with a simulated hospital."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date
from pathlib import Path
from typing import Any

import pytest

from adapters.odbc import OdbcSource
from adapters.preset import Preset
from adapters.registry import PRESETS
from adapters.sim.hospital import Hospital, Plan
from adapters.sim.load import Target, load_his, load_warehouse
from adapters.source import SqlSource
from adapters.warehouse import std

HIS_PRESETS = {name: p for name, p in PRESETS.items() if p.kind != "warehouse"}  # every HIS preset, from the registry
START = date(2026, 10, 1)
ENGINE_FIXTURE = {"sqlite": "sqlite_odbc", "mariadb": "mariadb_odbc"}
ENGINES = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]


@dataclass
class SourceDb:
    engine: str
    odbc: str

    def target(self) -> Target:
        return Target.odbc(self.odbc)

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        t = self.target()
        try:
            t.execute(sql, params)
        finally:
            t.close()

    def source(self, preset: Preset, name: str = "his", **kw: Any) -> SqlSource:
        by_prescriber, packed = kw.pop("by_prescriber", False), kw.pop("packed", True)
        kw.setdefault("retries", 1)
        return SqlSource(name, preset, OdbcSource(name, self.odbc, **kw), UTC, by_prescriber=by_prescriber, packed=packed)

    def load_his(self, preset: Preset, days: int = 10, rows_per_day: int = 40, seed: int = 3,
                 plan: Plan | None = None) -> Hospital:
        hospital = Hospital(seed, START, days, rows_per_day=rows_per_day, plan=plan, receipt_bills_per_day=1)
        t = self.target()
        try:
            load_his(t, hospital, preset)
        finally:
            t.close()
        return hospital

    def load_warehouse(self, hospital: Hospital) -> None:
        t = self.target()
        try:
            load_warehouse(t, hospital, std.PRESET)
        finally:
            t.close()


def make_source_db(request: pytest.FixtureRequest, engine: str) -> SourceDb:
    """A source database of its own (on PostgreSQL a separate schema, so a PostgreSQL store can sit beside it)."""
    if engine != "postgresql":
        return SourceDb(engine, request.getfixturevalue(ENGINE_FIXTURE[engine]))
    from tests.conftest import PG_HOST, PG_USER, new_pg_schema

    name = new_pg_schema(request, "src")
    return SourceDb(engine, f"Driver={{PostgreSQL Unicode}};Server={PG_HOST};Port=5432;Database=test;UID={PG_USER};"
                            f"UseDeclareFetch=1;Fetch=10000;ConnSettings=SET search_path TO {name};")


def backfill_config(path: Path, state: str, his: str | Path, pause: float) -> Path:
    """A config whose one HIS source (``oracle_his`` in the SQLite file ``his``) backfills a day per
    window with ``pause`` seconds between; ``state`` is the ``[state]`` line (a directory or a URL)."""
    path.write_text(f"""
[hospital]
code = "H1"
name = "测试医院"
timezone = "UTC"
[state]
{state}
[[sources]]
name = "his"
kind = "his"
preset = "oracle_his"
connection = "Driver={{SQLite3}};Database={his};"
backfill_window_days = 1
backfill_pause_s = {pause}
""", encoding="utf-8")
    return path
