"""``vbp-agent report``: from a fixture now, from the store once ingestion and catalogue land."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from agent.cli import EXIT_CONFIG, main
from agent.clock import FakeClock
from tests.unit import monitor_fixture as fx

CLOCK = FakeClock(datetime(2028, 3, 1, 9, 0))  # the day after the reported month


def _config(tmp_path: Path) -> Path:
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'[hospital]\ncode = "H001"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n'
                   '[calendar]\nassume_weekends_for = [2027, 2028]\n', encoding="utf-8")
    return cfg


def _fixture(tmp_path: Path) -> Path:
    def plain(obj):  # dataclass -> JSON-ready dict
        return {k: (v.isoformat() if isinstance(v, date) else list(v) if isinstance(v, tuple) else v)
                for k, v in asdict(obj).items()}

    data = {"product_years": [plain(p) for p in fx.products()], "groups": [plain(g) for g in fx.groups()],
            "links": [plain(lk) for lk in fx.links()], "usage": [plain(u) for u in fx.usage()]}
    path = tmp_path / "fixture.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_report_monthly_from_a_fixture_writes_the_regulators_workbook(tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.xlsx"
    code = main(["-c", str(_config(tmp_path)), "report", "monthly", "--month", "2028-02",
                 "--fixture", str(_fixture(tmp_path)), "--out", str(out)], clock=CLOCK)
    assert code == 0, capsys.readouterr().err
    wb = load_workbook(out)
    assert wb.sheetnames == ["带量执行报表", "产品明细", "一院一档", "图表"]
    assert "2 个批次" in capsys.readouterr().out
    signed = {row[0]: row[4] for row in wb["带量执行报表"].iter_rows(min_row=4, values_only=True) if row[4] is not None}
    assert signed == {fx.NINTH: 4, fx.ALLIANCE: 1}  # 签约产品总数


def test_report_annual_from_a_fixture_writes_the_yearly_report(tmp_path: Path) -> None:
    out = tmp_path / "a.xlsx"
    assert main(["-c", str(_config(tmp_path)), "report", "annual", "--year", "2027",
                 "--fixture", str(_fixture(tmp_path)), "--out", str(out)], clock=CLOCK) == 0
    assert load_workbook(out)["年度报告"]["A1"].value == "加强集采监管工作落实情况报告（2027年度）"


def test_report_from_the_store_reads_the_catalogue_and_usage_tables(tmp_path: Path, capsys) -> None:
    from tests.unit.store_inputs_loader import store_inputs

    store_inputs(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", hospital="H001").store.close()
    out = tmp_path / "m.xlsx"
    assert main(["-c", str(_config(tmp_path)), "report", "monthly", "--month", "2028-02", "--out", str(out)], clock=CLOCK) == 0
    assert "2 个批次，5 个中选产品" in capsys.readouterr().out
    ws = load_workbook(out).worksheets[0]
    assert any("第九批国家集采" in str(c.value) for row in ws.iter_rows() for c in row)


@pytest.mark.parametrize("month", ["2028-13", "28-02", "2028-2"])
def test_a_malformed_month_is_refused(tmp_path: Path, month: str) -> None:
    assert main(["-c", str(_config(tmp_path)), "report", "monthly", "--month", month]) == EXIT_CONFIG


def test_a_fixture_carries_the_deadline_clocks_with_their_times(tmp_path: Path) -> None:
    from datetime import datetime

    from agent.jobs.memory_inputs import InMemoryInputs

    path = tmp_path / "f.json"
    path.write_text(json.dumps({"deadlines": {
        "acceptances": [{"line_id": "L1", "item": "x", "accepted_at": "2026-10-01T08:00:00+08:00"}],
        "off_platform": [{"line_id": "X1", "item": "y", "purchased_on": "2026-10-09"}],
        "purchase_mix": [{"kind": "drug", "on_platform_amount": 80, "total_amount": 100}],
    }}), encoding="utf-8")
    d = InMemoryInputs.from_json(path).deadline_inputs(datetime(2026, 10, 2))
    assert d.acceptances[0].accepted_at.hour == 8 and d.acceptances[0].confirmed_at is None
    assert d.off_platform[0].purchased_on == date(2026, 10, 9)
    assert d.purchase_mix[0].total_amount == 100


def test_a_fixture_carries_warehouse_receipts_by_the_hospitals_day(tmp_path: Path) -> None:
    from agent.jobs.memory_inputs import InMemoryInputs

    path = tmp_path / "f.json"
    path.write_text(json.dumps({"receipts": [
        {"line_id": "R1", "item_code": "I1", "quantity": 10, "unit": "盒", "accepted_at": "2026-10-01T23:30:00+00:00"},
        {"line_id": "R2", "item_code": "I1", "quantity": 4, "unit": "盒", "accepted_at": "2026-10-02T09:00:00+08:00",
         "on_platform": False},
    ]}), encoding="utf-8")
    totals = InMemoryInputs.from_json(path).accepted_totals(date(2026, 10, 2), date(2026, 10, 2))
    assert [(t.item_code, t.unit, t.on_platform, t.qty) for t in totals or []] == [("I1", "盒", False, 4), ("I1", "盒", True, 10)]
