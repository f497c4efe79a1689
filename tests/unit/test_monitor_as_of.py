"""Evaluating as of a day (#18): `evaluate`, `status --as-of` and the reports count to the day
asked, never after today, and change nothing in the store; 网采率 over the month, each agreement
year and the calendar year to date."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from agent.cli import main
from agent.clock import FakeClock
from agent.domain.model import Receipt
from agent.domain.online_rate import periods, rate_lines
from agent.jobs.figures import online_rate_table
from agent.jobs.memory_inputs import InMemoryInputs
from tests.unit import monitor_fixture as fx
from tests.unit.store_inputs_loader import store_inputs

LATER = FakeClock(datetime(2028, 3, 5, 10, 0))  # the audit is asked after the fact


def _setup(tmp_path: Path) -> Path:
    store_inputs(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", hospital="H001").store.close()
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'[hospital]\ncode = "H001"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n'
                   '[calendar]\nassume_weekends_for = [2027, 2028]\n'
                   '[[sources]]\nname = "his"\nkind = "his"\npreset = "mssql_his"\ndsn = "HIS"\n', encoding="utf-8")
    return cfg


def _fingerprint(db: Path) -> tuple[dict[str, int], str]:
    """Row counts per table and a digest of every row: what 'changes nothing' is checked against."""
    with sqlite3.connect(db) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        counts = {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables}
        digest = hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    return counts, digest


def _product_line(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if name in line and "%" in line)


def test_evaluate_as_of_a_past_day_prints_that_days_progress_and_findings_and_changes_nothing(tmp_path: Path, capsys) -> None:
    cfg = _setup(tmp_path)
    before = _fingerprint(tmp_path / "state.db")
    assert sum(before[0].values()) > 0
    assert main(["-c", str(cfg), "evaluate", "--as-of", "2028-02-10"], clock=LATER) == 0
    out = capsys.readouterr().out
    assert "统计截至 2028-02-10" in out and "状态库未改动" in out
    # A1: 300 boxes of 7 by 2028-02-10 = 2100 of 36600 (5.7%) against 41/366 days (11.2%)
    assert "5.7%" in _product_line(out, "阿托伐他汀钙片") and "11.2%" in _product_line(out, "阿托伐他汀钙片")
    assert "零采购" in _product_line(out, "恩替卡韦分散片")  # its 700 came on 2028-02-15
    assert "[严重]" in out and "恩替卡韦分散片" in out.split("发现：")[1]
    assert main(["-c", str(cfg), "evaluate"], clock=LATER) == 0  # without --as-of: now
    now = capsys.readouterr().out
    assert "统计截至 2028-03-05" in now and "正常" in _product_line(now, "恩替卡韦分散片")
    assert main(["-c", str(cfg), "status", "--as-of", "2028-02-10"], clock=LATER) == 0
    status = capsys.readouterr().out
    assert "统计截至 2028-02-10" in status and "第九批国家集采（2028-01-01 至 2028-12-31）序时进度 11.2%" in status
    assert "当日发现 findings: 严重" in status
    assert _fingerprint(tmp_path / "state.db") == before


def test_evaluate_as_of_shows_what_the_evaluation_job_finds_at_the_end_of_that_day(tmp_path: Path, capsys) -> None:
    from agent.bootstrap import build, build_calendar, build_monitoring_inputs
    from agent.config import load_config
    from agent.jobs.evaluate import evaluate

    cfg = _setup(tmp_path)
    main(["-c", str(cfg), "evaluate", "--as-of", "2028-02-20"], clock=LATER)
    printed = {line.split("] ", 1)[1] for line in capsys.readouterr().out.splitlines() if line.startswith("  [")}
    config = load_config(cfg)
    then = FakeClock(datetime(2028, 2, 20, 23, 59, 59))
    rt = build(config, then)
    try:
        found = evaluate(rt.store, build_monitoring_inputs(rt), build_calendar(config), then, config.monitoring)
    finally:
        rt.close()
    assert printed == {f.title for f in found} and printed


@pytest.mark.parametrize("argv", [["evaluate", "--as-of", "2028-03-06"], ["status", "--as-of", "2028-03-06"],
                                  ["report", "monthly", "--month", "2028-03", "--as-of", "2028-04-01"],
                                  ["evaluate", "--as-of", "2028-02-30"]])
def test_a_day_after_today_or_no_day_at_all_is_refused(tmp_path: Path, argv: list[str], capsys) -> None:
    assert main(["-c", str(_setup(tmp_path)), *argv], clock=LATER) == 2
    assert "--as-of" in capsys.readouterr().err


def test_a_month_still_running_is_reported_as_of_today_with_todays_time_progress(tmp_path: Path, capsys) -> None:
    cfg = _setup(tmp_path)
    out = tmp_path / "m.xlsx"
    assert main(["-c", str(cfg), "report", "monthly", "--month", "2028-02", "--out", str(out)],
                clock=FakeClock(datetime(2028, 2, 15, 9, 0))) == 0
    assert "统计截至 2028-02-15" in capsys.readouterr().out
    wb = load_workbook(out)
    assert wb["带量执行报表"]["A2"].value.startswith("统计截至 2028-02-15")
    first = {row[0]: row[3] for row in wb["带量执行报表"].iter_rows(min_row=4, max_row=5, values_only=True)}
    assert first[fx.NINTH] == pytest.approx(46 / 366)  # 序时进度 of 2028-02-15, not of 2028-02-29
    assert main(["-c", str(cfg), "report", "monthly", "--month", "2028-02", "--out", str(out)], clock=LATER) == 0
    assert load_workbook(out)["带量执行报表"]["A2"].value.startswith("统计截至 2028-02-29")  # a closed month: its last day
    assert main(["-c", str(cfg), "report", "annual", "--year", "2028", "--out", str(tmp_path / "a.xlsx"),
                 "--as-of", "2028-02-15"], clock=LATER) == 0
    assert "统计截至 2028-02-15" in load_workbook(tmp_path / "a.xlsx")["年度报告"]["A2"].value


def _receipt(n: int, day: date, amount: int, online: bool = True) -> Receipt:
    at = datetime.combine(day, datetime.min.time()).replace(hour=2, tzinfo=UTC)
    return Receipt(f"R{n}", at, "I1", Decimal(1), "盒", None, None, "国药控股", at, unit_price=Decimal(amount),
                   on_platform=online)


def test_the_online_rate_is_given_for_the_month_each_agreement_year_and_the_calendar_year() -> None:
    receipts = [_receipt(1, date(2027, 8, 10), 900), _receipt(2, date(2027, 8, 10), 100, online=False),
                _receipt(3, date(2028, 1, 5), 500), _receipt(4, date(2028, 2, 3), 100),
                _receipt(5, date(2028, 2, 3), 50, online=False)]
    inputs = InMemoryInputs(fx.products(), fx.groups(), fx.links(), fx.usage(), receipts=receipts)
    rates = {(r.period.label, r.kind): round(r.rate or 0, 4) for r in online_rate_table(inputs, date(2028, 2, 25))}
    assert rates == {("本月", "drug"): round(100 / 150, 4), ("协议年度（2027-07-01起）", "drug"): round(1500 / 1650, 4),
                     ("协议年度（2028-01-01起）", "drug"): round(600 / 650, 4), ("本年累计", "drug"): round(600 / 650, 4)}
    [line] = rate_lines(online_rate_table(inputs, date(2028, 2, 25)))
    assert line == ("药品：本月 66.7%（低于要求），协议年度（2027-07-01起） 90.9%，协议年度（2028-01-01起） 92.3%，"
                    "本年累计 92.3%（要求 ≥90%）")
    march = online_rate_table(inputs, date(2028, 3, 2))  # nothing accepted in March yet
    assert rate_lines(march)[0].startswith("药品：本月 无验收入库，协议年度（2027-07-01起） 90.9%")
    assert [p.kind for p in periods(date(2028, 1, 1), [date(2028, 1, 1), date(2028, 6, 1)])] == [
        "month", "agreement_year", "calendar_year"]  # an agreement year not begun yet is not shown


def test_status_and_the_monthly_report_show_the_online_rate_beside_the_months(tmp_path: Path, capsys) -> None:
    cfg = _setup(tmp_path)
    assert main(["-c", str(cfg), "status"], clock=FakeClock(datetime(2028, 2, 25, 9, 0))) == 0
    out = capsys.readouterr().out
    assert "网采率（按验收入库金额）:" in out
    assert "药品：本月 66.7%（低于要求），协议年度（2027-07-01起） 66.7%（低于要求），协议年度（2028-01-01起） 66.7%（低于要求），本年累计 66.7%（低于要求）" in out
    out_xlsx = tmp_path / "m.xlsx"
    main(["-c", str(cfg), "report", "monthly", "--month", "2028-02", "--out", str(out_xlsx)], clock=LATER)
    ws = load_workbook(out_xlsx)["带量执行报表"]
    rows = [r for r in ws.iter_rows(values_only=True) if r[0] == "药品"]
    assert [(r[1], r[4], r[5], r[8]) for r in rows] == [
        ("本月", 100, 150, "未达标"), ("协议年度（2027-07-01起）", 100, 150, "未达标"),
        ("协议年度（2028-01-01起）", 100, 150, "未达标"), ("本年累计", 100, 150, "未达标")]
