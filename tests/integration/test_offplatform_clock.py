"""The off-platform filing clock (线下采购备案, 7 working days) from warehouse receipt lines to a
finding, and its resolution by ``vbp-agent offplatform file``; exempt items (麻醉/精神药品,
医疗机构制剂) are outside the clock and outside 网采率."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

from platform_support import HOSPITAL, TZ
from sqlalchemy import select

from agent.calendar import WorkCalendar
from agent.cli import main
from agent.clock import FakeClock
from agent.domain.model import Receipt
from agent.jobs.evaluate import evaluate
from agent.store import Store, open_store
from agent.store.mappings import insert_mapping
from agent.store.monitoring_inputs import StoreInputs
from agent.store.receipts import store_lines
from agent.store.schema.core import findings

CAL = WorkCalendar(assume_weekends_for=[2026])
BOUGHT = datetime(2026, 11, 2, 10, 30, tzinfo=TZ)  # a Monday: 7 working days end on Wednesday 11 November


def _receipt(line: str, item: str, qty: str, price: str, on_platform: bool) -> Receipt:
    return Receipt(line_id=line, changed_at=BOUGHT, item_code=item, quantity=Decimal(qty), unit="盒", lot="L1",
                   expiry=None, distributor="某医药商行", accepted_at=BOUGHT, unit_price=Decimal(price), on_platform=on_platform)


def _hospital(tmp_path: Path) -> tuple[Store, Path]:
    """A warehouse with two off-platform lines of listed items (one of them a narcotic) and one on-platform line."""
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", HOSPITAL)
    with store.begin() as conn:
        for code, name in (("YP0301", "阿托伐他汀钙片"), ("MZ0007", "盐酸吗啡注射液")):
            insert_mapping(conn, HOSPITAL, code, {"item_name": name, "item": {}, "status": "manual", "group_key": f"G-{code}",
                                                  "confidence": 1.0, "reason": "test", "candidates": [], "updated_at": BOUGHT})
        store_lines(conn, HOSPITAL, "warehouse", [
            _receipt("RK-OFF-1", "YP0301", "5", "30.00", False),
            _receipt("RK-OFF-2", "MZ0007", "10", "30.00", False),
            _receipt("RK-ON-1", "YP0301", "100", "30.00", True),
        ], BOUGHT)
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'[hospital]\ncode = "{HOSPITAL}"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n'
                   '[calendar]\nassume_weekends_for = [2026]\n', encoding="utf-8")
    return store, cfg


def _active(store: Store, rule: str) -> dict[str, str]:
    with store.read() as conn:
        return {r.subject: r.severity for r in conn.execute(
            select(findings.c.subject, findings.c.severity).where(findings.c.rule == rule, findings.c.active == 1))}


def test_an_unfiled_off_platform_purchase_breaches_after_7_working_days_and_filing_resolves_it(tmp_path: Path, capsys) -> None:
    store, cfg = _hospital(tmp_path)
    inputs = StoreInputs(store, [], TZ)
    evaluate(store, inputs, CAL, FakeClock(datetime(2026, 11, 5, 9, 0, tzinfo=TZ), TZ))
    assert _active(store, "off_platform_filing") == {}
    soon = FakeClock(datetime(2026, 11, 10, 12, 0, tzinfo=TZ), TZ)  # 80% of the time to 11 November, 23:59
    evaluate(store, inputs, CAL, soon)
    assert _active(store, "off_platform_filing") == {"RK-OFF-1": "warning", "RK-OFF-2": "warning"}
    assert _active(store, "online_rate") == {"drug": "critical"}  # 3000 of 3450 yuan on the platform: 87%

    # the narcotic keeps its old channel: exempt from filing and from 网采率 (3000 of 3150: 95%)
    assert main(["-c", str(cfg), "offplatform", "exempt", "MZ0007", "--reason", "narcotic"], clock=soon) == 0
    late = FakeClock(datetime(2026, 11, 12, 9, 0, tzinfo=TZ), TZ)
    evaluate(store, inputs, CAL, late)
    assert _active(store, "off_platform_filing") == {"RK-OFF-1": "critical"}
    assert _active(store, "online_rate") == {}

    assert main(["-c", str(cfg), "offplatform", "list"], clock=late) == 0
    listed = capsys.readouterr().out
    assert "RK-OFF-1" in listed and "未备案" in listed and "RK-ON-1" not in listed and "RK-OFF-2" not in listed
    assert main(["-c", str(cfg), "offplatform", "file", "RK-OFF-1", "--ref", "BA-2026-118", "--by", "王药师"], clock=late) == 0
    assert main(["-c", str(cfg), "offplatform", "file", "RK-NONE", "--ref", "X", "--by", "Y"], clock=late) != 0
    evaluate(store, inputs, CAL, late)
    assert _active(store, "off_platform_filing") == {}
    assert main(["-c", str(cfg), "offplatform", "list", "--all"], clock=late) == 0
    assert "已备案 BA-2026-118（王药师" in capsys.readouterr().out
    store.close()


def test_an_emergency_purchase_is_marked_and_still_has_to_be_filed(tmp_path: Path, capsys) -> None:
    store, cfg = _hospital(tmp_path)
    late = FakeClock(datetime(2026, 11, 12, 9, 0, tzinfo=TZ), TZ)
    assert main(["-c", str(cfg), "offplatform", "file", "RK-OFF-1", "--emergency"], clock=late) == 0
    evaluate(store, StoreInputs(store, [], TZ), CAL, late)
    with store.read() as conn:
        title = conn.execute(select(findings.c.title).where(findings.c.subject == "RK-OFF-1")).scalar()
    assert "紧急采购" in title and "已超时" in title
    store.close()


def test_status_counts_each_clock_and_the_annual_report_lists_the_year_s_clock_findings(tmp_path: Path, capsys) -> None:
    from openpyxl import load_workbook

    store, cfg = _hospital(tmp_path)
    late = FakeClock(datetime(2026, 11, 12, 9, 0, tzinfo=TZ), TZ)
    evaluate(store, StoreInputs(store, [], TZ), CAL, late)
    assert main(["-c", str(cfg), "status"], clock=late) == 0
    status = capsys.readouterr().out
    assert "线下采购备案超时 2（超时 2）" in status and "网采率不达标 1（超时 1）" in status
    assert main(["-c", str(cfg), "offplatform", "file", "RK-OFF-1", "--ref", "BA-1", "--by", "王药师"], clock=late) == 0
    evaluate(store, StoreInputs(store, [], TZ), CAL, late)  # resolved, and still in the year's report
    out = tmp_path / "年度报告-2026.xlsx"
    assert main(["-c", str(cfg), "report", "annual", "--year", "2026", "--out", str(out)], clock=late) == 0
    rows = [[c for c in r] for r in load_workbook(out)["时限与合规"].iter_rows(values_only=True)]
    assert ["线下采购备案超时", 2, 2] == list(rows[rows.index(next(r for r in rows if r[0] == "线下采购备案超时"))][:3])
    assert any(r[3] == "RK-OFF-1" and "阿托伐他汀钙片" in r[4] for r in rows)
    store.close()
