"""The custom-query template is the contract the adapter reads: printed for a kind and a dialect, it
parses as one SELECT per query, and pasted into a config against a table with those very columns it
reads usage, day totals, items and receipts through the real ODBC driver, row for row."""

from __future__ import annotations

import sqlite3
import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.preset import require_single_select
from adapters.query_contract import SPECS, alias, queries_for, template
from adapters.registry import build_source
from agent.cli import main
from agent.clock import FakeClock
from agent.config import SourceConfig
from agent.domain.model import BadRow, LocalItem, Receipt, UsageRow
from agent.ports import ReceiptCursor

KINDS = ("his", "prescription", "warehouse")
DIALECTS = ("tsql", "oracle", "postgres", "mysql", "sqlite")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_template_is_one_select_per_query_in_its_dialect(kind: str, dialect: str) -> None:
    block = tomllib.loads(template(kind, dialect))["sources"][0]
    assert block["options"]["dialect"] == dialect
    assert set(block["queries"]) == {q.name for q in queries_for(kind)}
    for name, sql in block["queries"].items():
        require_single_select(sql, dialect, f"template.{name}")
        for column in SPECS[name].columns:
            assert f" AS {alias(column.name, dialect)}" in sql
        # a quote or a semicolon inside a -- comment trips ODBC drivers that count ? markers or
        # split statements without reading comments (SQLite's does both)
        assert all(not {"'", ";"} & set(line.split("--", 1)[1]) for line in sql.splitlines() if "--" in line)


def test_queries_template_prints_it_and_refuses_an_unknown_dialect(capsys) -> None:
    assert main(["queries", "template", "--kind", "warehouse", "--dialect", "oracle"]) == 0
    assert "FETCH FIRST :limit ROWS ONLY" in capsys.readouterr().out
    assert main(["queries", "template", "--dialect", "db2"]) == 2
    assert "--dialect 'db2'" in capsys.readouterr().err


def _source(tmp_path: Path, kind: str, db: Path):  # type: ignore[no-untyped-def]
    block = tomllib.loads(template(kind, "sqlite"))["sources"][0]
    for key in ("dsn", "user", "password_env"):
        block.pop(key)
    block["connection"] = f"Driver={{SQLite3}};Database={db};"
    return build_source(SourceConfig.model_validate(block), FakeClock(datetime(2026, 11, 5, 9, tzinfo=UTC), UTC))


def test_a_his_filled_to_the_contract_reads_back_exactly(tmp_path: Path) -> None:
    db = tmp_path / "his.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE your_table (day DATE, item_code TEXT, dept_code TEXT, setting TEXT, prescriber_code TEXT,"
                     " qty DECIMAL, amount DECIMAL, code TEXT, name TEXT, generic_name TEXT, dosage_form TEXT, spec TEXT,"
                     " manufacturer TEXT, his_unit TEXT, pack_factor DECIMAL, national_code TEXT, price DECIMAL,"
                     " registration_no TEXT)")
        rows = [("2026-11-03", "Y1", "0101", "outpatient", "D01", "2", "5.60"),
                ("2026-11-03", "Y1", "0101", "outpatient", "D02", "-1", "-2.80"),  # a return (退药)
                ("2026-11-04", "Y1", "0201", "inpatient", "D03", "3", "8.40")]
        conn.executemany("INSERT INTO your_table (day, item_code, dept_code, setting, prescriber_code, qty, amount,"
                         " code, name, generic_name, dosage_form, spec, manufacturer, his_unit, pack_factor, national_code,"
                         " price) VALUES (?, ?, ?, ?, ?, ?, ?, 'Y1', '立普妥', '阿托伐他汀钙', '片剂', '20mg*7片/盒',"
                         " '辉瑞', '盒', 7, NULL, 5.6)", rows)
    source = _source(tmp_path, "his", db)
    try:
        usage = list(source.read_usage(date(2026, 11, 3), date(2026, 11, 4)))
        totals = list(source.day_totals(date(2026, 11, 3), date(2026, 11, 4)))
        items = list(source.read_items())
    finally:
        source.close()
    assert not [r for r in usage + items if isinstance(r, BadRow)]
    assert sorted((u.day, u.dept_code, u.setting.value, u.quantity, u.lines) for u in usage if isinstance(u, UsageRow)) == [
        (date(2026, 11, 3), "0101", "outpatient", Decimal(1), 2), (date(2026, 11, 4), "0201", "inpatient", Decimal(3), 1)]
    assert totals == [(date(2026, 11, 3), 2, Decimal(1)), (date(2026, 11, 4), 1, Decimal(3))]
    assert isinstance(items[0], LocalItem) and items[0].pack_factor == Decimal(7) and items[0].his_unit == "盒"


def test_a_warehouse_filled_to_the_contract_reads_back_exactly(tmp_path: Path) -> None:
    db = tmp_path / "wh.sqlite"
    columns = [c.name for c in SPECS["receipts"].columns]
    with sqlite3.connect(db) as conn:
        conn.execute(f"CREATE TABLE your_table ({', '.join(columns)})")
        conn.execute(f"INSERT INTO your_table VALUES ({', '.join('?' * len(columns))})",
                     (17, "2026-11-04 10:00:00", "Y1", "10", "盒", "L1", "2028-01-31", "国药控股", "2026-11-04 09:30:00",
                      "SHP1", "ORD1", "INV1", "39.20", "是", "0", "PSD1", "RK1", "7"))
    source = _source(tmp_path, "warehouse", db)
    try:
        got = list(source.read_receipts(ReceiptCursor(), datetime(2026, 11, 5, tzinfo=UTC), 100))
    finally:
        source.close()
    assert len(got) == 1 and isinstance(got[0], Receipt), got
    r = got[0]
    assert (r.line_id, r.quantity, r.unit, r.delivery_id, r.on_platform, r.deleted) == ("17", Decimal(10), "盒", "SHP1", True, False)
    assert r.pack_factor == Decimal(7)  # the optional last column: this line's own 盒 holds 7


def test_the_readme_prints_the_contract_the_adapter_reads() -> None:
    from adapters.query_contract import markdown_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert markdown_table("his") in readme and markdown_table("warehouse") in readme
