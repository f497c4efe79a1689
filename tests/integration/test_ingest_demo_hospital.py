"""The demo's simulated hospital: deterministic, with a planted rise and planted receipts."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from adapters.his import mssql_his
from adapters.odbc import OdbcSource
from adapters.sim.sqlite_hospital import Plan, PlantedReceipt, build_sqlite_hospital
from adapters.source import SqlSource
from adapters.warehouse import std
from agent.ports import ReceiptCursor

START = date(2026, 9, 1)


def _dump(path: Path) -> list:
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return [(t, db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()) for t in tables]


def test_the_same_seed_builds_the_same_hospital(tmp_path: Path) -> None:
    build_sqlite_hospital(tmp_path / "a.sqlite", seed=11, start=START, days=5)
    build_sqlite_hospital(tmp_path / "b.sqlite", seed=11, start=START, days=5)
    build_sqlite_hospital(tmp_path / "c.sqlite", seed=12, start=START, days=5)
    assert _dump(tmp_path / "a.sqlite") == _dump(tmp_path / "b.sqlite") != _dump(tmp_path / "c.sqlite")


def test_a_planted_rise_and_planted_receipts_show_through_the_presets(tmp_path: Path) -> None:
    accepted = datetime(2026, 9, 20, 9, 30)
    plan = Plan(rise_item="Y00002", rise_dept="0101", rise_from=START + timedelta(days=14), rise_lines_per_day=15,
                receipts=[PlantedReceipt("Y00001", Decimal(200), accepted, delivery_id="PS20260920001", order_id="DD1")])
    path = tmp_path / "demo.sqlite"
    build_sqlite_hospital(path, seed=3, start=START, days=21, plan=plan)
    his = SqlSource("his", mssql_his.PRESET, OdbcSource("his", f"Driver={{SQLite3}};Database={path};"), UTC)

    def rival_in_cardiology(day_from: date, day_to: date) -> Decimal:
        return sum((r.quantity for r in his.read_usage(day_from, day_to) if (r.item_code, r.dept_code) == ("Y00002", "0101")),
                   Decimal(0))

    before = rival_in_cardiology(START, START + timedelta(days=6))
    after = rival_in_cardiology(START + timedelta(days=14), START + timedelta(days=20))
    assert after > 5 * max(before, Decimal(1))
    wh = SqlSource("wh", std.PRESET, OdbcSource("wh", f"Driver={{SQLite3}};Database={path};"), UTC)
    lines = [r for r in wh.read_receipts(ReceiptCursor(), datetime(2027, 1, 1, tzinfo=UTC), 10000)
             if r.delivery_id == "PS20260920001"]
    assert [(r.item_code, r.quantity, r.accepted_at) for r in lines] == [("Y00001", Decimal(200), accepted.replace(tzinfo=UTC))]
