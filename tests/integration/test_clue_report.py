"""The shortage and misconduct clue report (短缺 / 违约线索, #21) from what the store holds: order
lines pulled from the reference platform and evaluated by the duty clocks, an off-platform
receipt above the listed price, a clue staff recorded and a prescriber finding that must stay in
the internal sheet. Clocks are fixed; the month is November 2026."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from platform_support import HOSPITAL, START, TZ, make_client

from agent.calendar import WorkCalendar
from agent.clock import FakeClock
from agent.domain.model import Receipt
from agent.domain.monitoring_model import GenericGroup
from agent.domain.prescriber_share import PrescriberShare, prescriber_finding
from agent.errors import ConfigError
from agent.jobs.clues import clue_report, record_clue
from agent.jobs.evaluate import evaluate
from agent.reports.clues import CLUE_SHEET, INTERNAL_SHEET, clue_rows, write_clues
from agent.store import Store, open_store
from agent.store.findings import write_findings
from agent.store.monitoring_inputs import StoreInputs
from agent.store.receipts import store_lines
from agent.store.schema.ingest import local_items
from agent.upstream.ledgers import sync_ledgers

CAL = WorkCalendar(assume_weekends_for=[2026])
H = timedelta(hours=1)


def plant(ref, store: Store) -> FakeClock:  # type: ignore[no-untyped-def]
    """November: 甲 never answers OD1; 乙 delivers 6 of 10 on OD2; 丙 delivers OD3 in time; 戊's OD5
    is only nearing its delivery time (a warning, no clue); 甲's OD0 of October is October's; a
    商行 sells 立普妥 off the platform at 52.00 against a listed 47.60."""
    client = make_client(ref, "rest_json")
    ref.seed_order(HOSPITAL, "OD1", "Y0001", 20, START, distributor_name="甲医药配送公司", prodName="阿托伐他汀钙片", price="12.46")
    ref.seed_order(HOSPITAL, "OD2", "Y0002", 10, START, distributor_name="乙医药公司", responded_at=START + 2 * H,
                   delivered_quantity=6, delivered_at=START + 30 * H, prodName="氨氯地平片")
    ref.seed_order(HOSPITAL, "OD3", "Y0003", 5, START, distributor_name="丙医药公司", responded_at=START + H,
                   delivered_quantity=5, delivered_at=START + 20 * H)
    ref.seed_order(HOSPITAL, "OD5", "Y0005", 5, START + 60 * H, distributor_name="戊医药公司", responded_at=START + 61 * H)
    ref.seed_order(HOSPITAL, "OD0", "Y0001", 8, datetime(2026, 10, 20, 9, tzinfo=TZ), distributor_name="甲医药配送公司")
    ref.seed_order(HOSPITAL, "OD-LPT", "XC10AAA052A001010100002", 10, START - timedelta(days=20), listed_price="47.60",
                   responded_at=START - timedelta(days=20), delivered_quantity=10, delivered_at=START - timedelta(days=20))
    at = START + 25 * H
    line = Receipt(line_id="RK-1201", changed_at=at, item_code="YP0302", quantity=Decimal(5), unit="盒", lot="L2", expiry=None,
                   distributor="某医药商行", accepted_at=at, unit_price=Decimal("52.00"), on_platform=False)
    with store.begin() as conn:
        conn.execute(local_items.insert().values(hospital_code=HOSPITAL, source="his", code="YP0302", name="阿托伐他汀钙片(立普妥)",
                                                 his_unit="盒", national_code="XC10AAA052A001010100002", kind="drug", read_at=at))
        store_lines(conn, HOSPITAL, "warehouse", [line, replace(line, line_id="RK-1202", unit_price=Decimal("47.60"))], at)
    clock = FakeClock(START + 50 * H, TZ)
    for hours in (50, 80):  # the response breach, then its escalation
        clock.set(START + hours * H)
        sync_ledgers(store, client, clock.now(), lookback_s=0)
        evaluate(store, StoreInputs(store, [], TZ), CAL, clock)
    share = PrescriberShare("G-ATV", "D07", "DOC0421", 90.0, 120.0, 20.0, 400.0, 1e-6)
    with store.begin() as conn:
        write_findings(conn, HOSPITAL, [prescriber_finding(share, GenericGroup("G-ATV", "阿托伐他汀", "第十批"), clock.now(), 28,
                                                           {"D07": "心内科"})], clock.now())
    record_clue(store, clock, "2026-11", "丁药业有限公司", "中选产品质量问题", "11月25日到货批号 B2311 片剂破碎 30 盒，已封存", "王药师",
                product="氨氯地平片", role="生产企业")
    return clock


def test_the_clue_report_names_each_supplier_s_clues_with_evidence_and_keeps_prescribers_internal(ref, store_url, tmp_path: Path) -> None:
    store = open_store(store_url, HOSPITAL)
    try:
        check_report(ref, store, tmp_path)
    finally:
        store.close()


def check_report(ref, store: Store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    clock = plant(ref, store)
    report = clue_report(store, clock, "2026-11", "测试医院")

    rows = [(r[1], r[2], r[3], r[4], r[7], r[8]) for r in clue_rows(report)]
    assert rows == [
        ("丁药业有限公司", "生产企业", "中选产品质量问题", "氨氯地平片", "登记1", "人工登记"),
        ("乙医药公司", "配送企业", "未按合同及时供应", "氨氯地平片", "OD2", "时限监测"),
        ("某医药商行", "配送企业", "高于挂网价线下供应", "阿托伐他汀钙片(立普妥)", "RK-1201", "时限监测"),
        ("甲医药配送公司", "配送企业", "不响应采购订单", "阿托伐他汀钙片", "OD1", "时限监测"),
        ("甲医药配送公司", "配送企业", "未按合同及时供应", "阿托伐他汀钙片", "OD1", "时限监测"),
    ]
    by_type = {(c.supplier, c.clue_type): c for c in report.clues}
    no_answer = by_type[("甲医药配送公司", "不响应采购订单")].evidence
    assert "下单 2026-11-23 09:00" in no_answer and "订购 20" in no_answer and "单价 12.46 元" in no_answer
    assert "响应 无" in no_answer and "仍未响应（升级" in no_answer  # the escalation is in the same clue
    short = by_type[("乙医药公司", "未按合同及时供应")].evidence
    assert "订购 10" in short and "到货 6（2026-11-24 15:00）" in short
    price = by_type[("某医药商行", "高于挂网价线下供应")].evidence
    assert "RK-1201，2026-11-24 10:00，数量 5，单价 52" in price and "挂网价 47.6 元" in price
    assert [f.values["prescriber"] for f in report.internal] == ["DOC0421"]

    xlsx, txt = write_clues(report, tmp_path / "线索.xlsx")
    wb = load_workbook(xlsx)
    assert wb.sheetnames == [CLUE_SHEET, INTERNAL_SHEET]
    public = " ".join(str(c.value) for row in wb[CLUE_SHEET].iter_rows() for c in row if c.value is not None)
    assert "DOC0421" not in public and "OD3" not in public and "OD5" not in public and "OD0" not in public
    assert wb[INTERNAL_SHEET].cell(2, 3).value == "DOC0421" and wb[INTERNAL_SHEET].cell(2, 4).value == "心内科"
    text = txt.read_text(encoding="utf-8")
    assert txt == tmp_path / "线索.txt" and text.startswith("测试医院（H33010000001）2026-11 短缺及违约线索报告（草稿）")
    assert "配送企业：甲医药配送公司（2 条线索）" in text and "生产企业：丁药业有限公司（1 条线索）" in text
    assert "线索类型：中选产品质量问题；产品：氨氯地平片；11月25日到货批号 B2311 片剂破碎 30 盒，已封存（王药师 登记）" in text
    assert "DOC0421" not in text and "处方" not in text

    october = clue_report(store, clock, "2026-10", "测试医院")
    assert [(c.supplier, c.clue_type, c.refs) for c in october.clues] == [
        ("甲医药配送公司", "不响应采购订单", ("OD0",)), ("甲医药配送公司", "未按合同及时供应", ("OD0",))]
    assert october.internal == []


def test_a_clue_type_outside_the_bureau_s_list_is_refused(store) -> None:
    clock = FakeClock(START, TZ)
    with pytest.raises(ConfigError, match="线索类型“送货慢”不在医保部门的清单内.*不响应采购订单"):
        record_clue(store, clock, "2026-11", "甲公司", "送货慢", "迟了", "王药师")
    with pytest.raises(ConfigError, match="企业类型"):
        record_clue(store, clock, "2026-11", "甲公司", "未签带量合同", "未签", "王药师", role="医院")


def cli(tmp_path: Path, argv: list[str], clock: FakeClock) -> int:
    from agent.cli import main

    cfg = tmp_path / "agent.toml"
    if not cfg.exists():
        cfg.write_text(f'[hospital]\ncode = "{HOSPITAL}"\nname = "测试医院"\n[state]\ndirectory = "{tmp_path}"\n',
                       encoding="utf-8")
    return main(["-c", str(cfg), *argv], clock=clock)


def test_clues_add_and_list_record_staff_clues_and_refuse_a_type_outside_the_list(tmp_path: Path, capsys) -> None:
    clock = FakeClock(START, TZ)
    assert cli(tmp_path, ["clues", "add", "--month", "2026-11", "--supplier", "乙医药公司", "--type", " 未提供伴随服务",
                          "--detail", "11月20日起拒绝提供冷链配送记录", "--by", "李主任", "--product", "胰岛素注射液"], clock) == 0
    assert "已登记线索 1：2026-11 乙医药公司「未提供伴随服务」（李主任）" in capsys.readouterr().out
    assert cli(tmp_path, ["clues", "add", "--month", "2026-11", "--supplier", "甲公司", "--type", "送货慢",
                          "--detail", "迟了", "--by", "李主任"], clock) == 2
    err = capsys.readouterr().err
    assert "线索类型“送货慢”不在医保部门的清单内" in err and "中选产品质量问题" in err
    assert cli(tmp_path, ["clues", "add", "--month", "2026-13", "--supplier", "甲公司", "--type", "未签带量合同",
                          "--detail", "未签", "--by", "李主任"], clock) == 2
    assert cli(tmp_path, ["clues", "list", "--month", "2026-11"], clock) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split() for line in out] == [
        ["编号", "企业名称", "企业类型", "线索类型", "产品", "情况", "登记人", "登记时间"],
        ["1", "乙医药公司", "配送企业", "未提供伴随服务", "胰岛素注射液", "11月20日起拒绝提供冷链配送记录", "李主任", "2026-11-23", "09:00"]]
    assert cli(tmp_path, ["clues", "list", "--month", "2026-12"], clock) == 0
    assert capsys.readouterr().out.strip() == "2026-12 没有人工登记的线索"


def test_report_clues_writes_the_xlsx_and_the_draft_beside_it(tmp_path: Path, capsys) -> None:
    clock = FakeClock(START, TZ)
    assert cli(tmp_path, ["clues", "add", "--month", "2026-11", "--supplier", "丁药业有限公司", "--type", "未签带量合同",
                          "--detail", "至11月底未签订带量购销合同", "--by", "王药师", "--role", "生产企业"], clock) == 0
    out = tmp_path / "out" / "clues-2026-11.xlsx"
    assert cli(tmp_path, ["report", "clues", "--month", "2026-11", "--out", str(out)], clock) == 0
    said = capsys.readouterr().out
    assert "1 家企业 1 条线索；内部处方集中 0 条（不上报）" in said
    text = out.with_suffix(".txt").read_text(encoding="utf-8")
    assert "生产企业：丁药业有限公司（1 条线索）" in text and "线索类型：未签带量合同" in text
    assert load_workbook(out)[CLUE_SHEET].cell(2, 4).value == "未签带量合同"
