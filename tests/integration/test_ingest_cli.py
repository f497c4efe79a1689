"""`vbp-agent check` and `vbp-agent quarantine list` against a real source."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from adapters.sim.sqlite_hospital import build_sqlite_hospital
from agent.cli import main


def _config(tmp_path: Path, his: Path, extra: str = "") -> Path:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f"""
[hospital]
code = "H1"
name = "测试医院"
[state]
directory = "{tmp_path}"
[[sources]]
name = "his"
kind = "his"
preset = "mssql_his"
connection = "Driver={{SQLite3}};Database={his};"
[[sources]]
name = "warehouse"
kind = "warehouse"
preset = "warehouse_std"
connection = "Driver={{SQLite3}};Database={his};"
{extra}
""", encoding="utf-8")
    return cfg


@pytest.fixture
def his(tmp_path: Path) -> Path:
    path = tmp_path / "his.sqlite"
    build_sqlite_hospital(path, seed=5, start=date.today() - timedelta(days=5), days=5, rows_per_day=30)
    return path


def test_check_prints_one_row_per_source_with_valid_index_served_queries(tmp_path: Path, his: Path, capsys) -> None:
    assert main(["-c", str(_config(tmp_path, his)), "check"]) == 0
    out = capsys.readouterr().out
    assert "数据源检查" in out
    rows = [line for line in out.splitlines() if "mssql_his" in line or "warehouse_std" in line]
    assert len(rows) == 2 and all("有效" in r and "是" in r for r in rows)


def test_check_names_the_missing_table_of_a_custom_query_and_fails(tmp_path: Path, his: Path, capsys) -> None:
    extra = f"""
[[sources]]
name = "old"
kind = "prescription"
preset = "custom"
connection = "Driver={{SQLite3}};Database={his};"
[sources.queries]
usage = "SELECT d AS day, c, dept, 'outpatient', SUM(q), SUM(a), COUNT(*) FROM rx_2019 WHERE d >= :day_from GROUP BY d, c, dept"
day_totals = "SELECT d, COUNT(*), SUM(q) FROM rx_2019 WHERE d >= :day_from AND d < :day_to_next GROUP BY d"
"""
    assert main(["-c", str(_config(tmp_path, his, extra)), "check"]) == 1
    out = capsys.readouterr().out
    assert "rx_2019" in out and "missing table" in out


def test_a_custom_query_that_is_not_one_select_stops_with_the_key(tmp_path: Path, his: Path, capsys) -> None:
    extra = """
[[sources]]
name = "bad"
kind = "prescription"
preset = "custom"
connection = "Driver={SQLite3};Database=x;"
[sources.queries]
usage = "SELECT 1; DROP TABLE op_dispense"
day_totals = "SELECT 1"
"""
    assert main(["-c", str(_config(tmp_path, his, extra)), "check"]) == 2
    assert "sources[bad].queries.usage" in capsys.readouterr().err


def test_quarantine_list_shows_refused_rows_in_chinese(tmp_path: Path, his: Path, capsys) -> None:
    import sqlite3

    with sqlite3.connect(his) as db:
        db.execute("UPDATE in_bill_detail SET qty = -3 WHERE detail_id = 1")
    from agent.bootstrap import build_sources, build_store
    from agent.clock import SystemClock
    from agent.config import load_config
    from agent.jobs.ingest import poll_source

    cfg = load_config(_config(tmp_path, his))
    store, clock = build_store(cfg), SystemClock()
    sources = build_sources(cfg.sources, clock)
    poll_source(store, sources["warehouse"], cfg.source("warehouse"), clock)
    store.close()
    assert main(["-c", str(_config(tmp_path, his)), "quarantine", "list"]) == 0
    out = capsys.readouterr().out
    assert "隔离数据 (1 条)" in out and "入库数量为负" in out and "入库" in out


def test_a_custom_query_with_the_wrong_columns_is_a_permanent_error_naming_them(his: Path) -> None:
    from datetime import UTC

    from adapters.odbc import OdbcSource
    from adapters.preset import Preset
    from adapters.source import SqlSource
    from agent.errors import SourceError

    preset = Preset("custom", "his", "tsql", {"usage": "SELECT disp_date, drug_code FROM op_dispense WHERE disp_date >= :day_from"})
    source = SqlSource("his", preset, OdbcSource("his", f"Driver={{SQLite3}};Database={his};"), UTC)
    with pytest.raises(SourceError) as err:
        list(source.read_usage(date.today() - timedelta(days=5), date.today()))
    assert err.value.permanent and "returns 2 columns; expected 7: day, item_code" in str(err.value)
