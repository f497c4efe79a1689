"""报量 end to end: ``vbp-agent import declared FILE`` reads the declaration; the evaluation checks it
against last year's agreed volume and the hospital's own usage history (below 80% needs a written
reason), and the declaration deadline is a clock until the declaration is imported."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
from sqlalchemy import select

from agent.calendar import WorkCalendar
from agent.cli import main
from agent.clock import FakeClock
from agent.config import load_config
from agent.jobs.evaluate import evaluate
from agent.store import catalogue, open_store
from agent.store.mappings import insert_mapping
from agent.store.monitoring_inputs import StoreInputs
from agent.store.schema.core import findings
from agent.store.schema.ingest import usage_daily
from tests.sheets_catalogue import volumes_xlsx, winners_xlsx

TZ_NAME = "Asia/Shanghai"
CAL = WorkCalendar(assume_weekends_for=[2025, 2026])
NOW = datetime.fromisoformat("2026-12-10T09:00:00+08:00")


def _declaration(path: Path, rows: list[list[object]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "报量表"
    ws.append(["第十批国家组织药品集采 医疗机构报量表"])
    ws.append(["序号", "药品通用名", "规格", "生产企业", "报量（最小制剂单位）", "低于说明"])
    for row in rows:
        ws.append(row)
    ws.append(["注：报量以最小制剂单位填写。"])
    wb.save(path)
    return path


def _active(store) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    with store.read() as conn:
        return {(r.rule, r.subject): r.title for r in conn.execute(
            select(findings.c.rule, findings.c.subject, findings.c.title).where(
                findings.c.active == 1, findings.c.rule.like("volume_plan%")))}


def _programme(tmp_path: Path, cfg: Path, clock: FakeClock, agreed: int | None = None):  # type: ignore[no-untyped-def]
    """第十批 imported (and an agreed volume for 阿托伐他汀钙片 when given), the HIS item Y1 mapped to it
    (28 tablets a box); returns the store and the product."""
    w = winners_xlsx(tmp_path / "w.xlsx")
    assert main(["-c", str(cfg), "import", "winners", str(w), "--programme", "第十批", "--cycle-start", "2025-03-01",
                 "--cycle-end", "2027-02-28", "--yes"], clock=clock) == 0
    if agreed is not None:
        v = volumes_xlsx(tmp_path / "v.xlsx", [["H1", "测试医院", "阿托伐他汀钙片", "10mg", "嘉林药业", agreed]])
        assert main(["-c", str(cfg), "import", "volumes", str(v), "--programme", "第十批", "--year", "1", "--yes"],
                    clock=clock) == 0
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    with store.begin() as conn:
        product = next(p for p in catalogue.existing_products(conn, "H1", "第十批").values()
                       if p["generic_name"] == "阿托伐他汀钙片")
        insert_mapping(conn, "H1", "Y1", {"item_name": "阿托伐他汀钙片(立普妥)", "item": {}, "status": "manual",
                                          "group_key": product["group_key"], "product_key": product["product_key"],
                                          "factor": Decimal(28), "confidence": 1.0, "reason": "test", "candidates": [],
                                          "updated_at": NOW})
    return store, product


def test_a_low_declaration_is_a_finding_until_it_carries_a_reason_and_the_deadline_clock_stops_on_import(
        tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'[hospital]\ncode = "H1"\nname = "测试医院"\ntimezone = "{TZ_NAME}"\n[state]\ndirectory = "{tmp_path}"\n'
                   '[monitoring.deadlines]\ndeclaration_due = 2026-12-15\n', encoding="utf-8")
    clock = FakeClock(NOW)
    store, product = _programme(tmp_path, cfg, clock, agreed=2800)
    with store.begin() as conn:
        for n in range(200):  # 200 days x 1 box of 28: 5600 tablets of history
            conn.execute(usage_daily.insert().values(
                hospital_code="H1", source="his", day=date(2026, 5, 1) + timedelta(days=n), item_code="Y1", dept_code="0101",
                setting="outpatient", prescriber_code="", quantity=Decimal(1), amount=Decimal("5.6"), lines=1, read_at=NOW))
    mcfg = load_config(cfg).monitoring
    inputs = StoreInputs(store, ["his"], clock.tz)

    evaluate(store, inputs, CAL, clock, mcfg)  # 5 days before the deadline, nothing declared yet
    assert set(_active(store)) == {("volume_plan_due", "2026-12-15")}

    low = _declaration(tmp_path / "d.xlsx", [[1, "阿托伐他汀钙片", "10mg×28片", "北京嘉林药业股份有限公司", 3000, None]])
    assert main(["-c", str(cfg), "import", "declared", str(low), "--programme", "第十批", "--yes"], clock=clock) == 0
    assert "已导入报量 1 行" in capsys.readouterr().out
    evaluate(store, inputs, CAL, clock, mcfg)
    found = _active(store)
    assert set(found) == {("volume_plan", product["product_key"])}  # the deadline clock stopped
    assert "低于历史采购量的80%且未作说明" in found[("volume_plan", product["product_key"])]

    explained = _declaration(tmp_path / "d2.xlsx", [[1, "阿托伐他汀钙片", "10mg×28片", "北京嘉林药业股份有限公司", 3000,
                                                      "临床路径调整，部分患者转用他汀联合制剂"]])
    assert main(["-c", str(cfg), "import", "declared", str(explained), "--programme", "第十批", "--yes"], clock=clock) == 0
    evaluate(store, inputs, CAL, clock, mcfg)
    assert _active(store) == {}

    bad = _declaration(tmp_path / "d3.xlsx", [[1, "阿托伐他汀钙片", "10mg×28片", "北京嘉林药业股份有限公司", "三千", None]])
    assert main(["-c", str(cfg), "import", "declared", str(bad), "--programme", "第十批", "--yes"], clock=clock) == 0
    out = capsys.readouterr().out
    assert "报量不是数字" in out and "没有可导入的行" in out  # the row, column and value are in the table
    store.close()


def test_the_history_is_the_year_s_accepted_purchases_where_the_warehouse_has_them(tmp_path: Path) -> None:
    from agent.domain.model import Receipt
    from agent.store.receipts import store_lines

    cfg = tmp_path / "agent.toml"
    cfg.write_text(f'[hospital]\ncode = "H1"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n', encoding="utf-8")
    clock = FakeClock(NOW)
    store, _product = _programme(tmp_path, cfg, clock)
    with store.begin() as conn:
        # little usage recorded (one box), but 200 boxes (5600 tablets) bought and accepted over the year
        conn.execute(usage_daily.insert().values(
            hospital_code="H1", source="his", day=date(2026, 6, 1), item_code="Y1", dept_code="0101", setting="outpatient",
            prescriber_code="", quantity=Decimal(1), amount=Decimal("5.6"), lines=1, read_at=NOW))
        at = NOW - timedelta(days=100)
        store_lines(conn, "H1", "warehouse", [Receipt(line_id=f"RK{n}", changed_at=at, item_code="Y1", quantity=Decimal(50),
                                                      unit="盒", lot="L", expiry=None, distributor="国药控股", accepted_at=at)
                                              for n in range(4)], at)
    declared = _declaration(tmp_path / "d.xlsx", [[1, "阿托伐他汀钙片", "10mg×28片", "北京嘉林药业股份有限公司", 3000, None]])
    assert main(["-c", str(cfg), "import", "declared", str(declared), "--programme", "第十批", "--yes"], clock=clock) == 0
    evaluate(store, StoreInputs(store, ["his"], clock.tz), CAL, clock, load_config(cfg).monitoring)
    [title] = _active(store).values()
    assert "低于历史采购量的80%且未作说明" in title
    store.close()
