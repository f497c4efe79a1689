"""对码 persisted: map_items, overrides that survive re-runs, the review workbook, the queries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from agent.catalogue.mapping import decide, map_items
from agent.catalogue.review import HEADERS, export_review, import_review
from agent.domain.catalogue import Kind, Level, Programme, WinningProduct
from agent.domain.model import LocalItem
from agent.store import Store, catalogue, mappings, open_store
from tests.fixtures_catalogue import noisy_catalogue

NOW = datetime(2025, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
P7 = Programme("第七批", Kind.DRUG, Level.NATIONAL, date(2022, 11, 1), date(2025, 10, 31))
RENEWAL = Programme("第七批接续", Kind.DRUG, Level.ALLIANCE, date(2025, 11, 1), date(2026, 10, 31))
ATORVA = WinningProduct("阿托伐他汀钙", "片", "10mg", "北京嘉林药业股份有限公司", pack=Decimal(28), smallest_unit="片")
CLOP = WinningProduct("硫酸氢氯吡格雷", "片", "75mg", "深圳信立泰药业股份有限公司", pack=Decimal(7), smallest_unit="片")
ITEMS = [
    LocalItem("A1", "阿托伐他汀钙片(立普妥)", spec="10mg×28片", manufacturer="嘉林药业", his_unit="盒"),
    LocalItem("A2", "阿托伐他汀钙片", spec="10mg×7片", manufacturer="辉瑞制药有限公司", his_unit="盒"),
    LocalItem("C1", "氯吡格雷片", spec="75mg", manufacturer="信立泰", his_unit="盒"),  # no count: factor unknown
    LocalItem("C2", "硫酸氢氯吡格雷片", spec="75mg"),  # no maker: review
    LocalItem("V1", "维生素C片", spec="0.1g", manufacturer="华中药业", his_unit="瓶"),
]


def _seed(store: Store, products=(ATORVA, CLOP), programme: Programme = P7) -> None:  # type: ignore[no-untyped-def]
    with store.begin() as conn:
        catalogue.save_programme(conn, store.hospital_code, programme, NOW)
        for p in products:
            catalogue.upsert_product(conn, store.hospital_code, programme.name, p, "t!1", 0, NOW, None)


@pytest.fixture
def store(store_url: str) -> Store:
    s = open_store(store_url, "H1")
    _seed(s)
    yield s
    s.close()


def test_map_items_persists_proposals_and_lists_items_without_a_factor(store: Store) -> None:
    summary = map_items(store, ITEMS, NOW)
    assert (summary.auto, summary.review, summary.none) == (3, 1, 1)
    assert summary.without_factor == ["C1", "C2"]
    with store.read() as conn:
        m = mappings.item_mappings(conn, "H1")
        assert mappings.item_factors(conn, "H1") == {"A1": Decimal(28), "A2": Decimal(7), "C1": None}
        assert [i["code"] for i in mappings.items_without_factor(conn, "H1")] == ["C1"]
    assert m["A1"]["product_key"] == ATORVA.product_key and m["A2"]["product_key"] is None
    assert m["C2"]["candidates"][0]["product_key"] == CLOP.product_key and m["C2"]["status"] == "review"


def test_generic_groups_hold_winning_products_and_competing_local_items(store: Store) -> None:
    map_items(store, ITEMS, NOW)
    with store.read() as conn:
        groups = {g.key: g for g in catalogue.generic_groups(conn, "H1")}
    atorva = groups["阿托伐他汀|片"]
    assert [w["product_key"] for w in atorva.winning] == [ATORVA.product_key]
    assert [(i["code"], i["winning"], i["factor"]) for i in atorva.local_items] == [("A1", True, Decimal(28)), ("A2", False, Decimal(7))]
    assert [(i["code"], i["factor"]) for i in groups["氯吡格雷|片"].local_items] == [("C1", None)]


def test_reviewed_and_manual_decisions_survive_a_rerun(store: Store) -> None:
    map_items(store, ITEMS, NOW)
    decide(store, "C2", NOW, product_key=CLOP.product_key, group_key=CLOP.group_key, factor=Decimal(7))
    decide(store, "A2", NOW, product_key=None, group_key=None, factor=None)  # the pharmacist says: unrelated
    summary = map_items(store, [*ITEMS, LocalItem("A1", "阿托伐他汀钙片", spec="10mg×14片", manufacturer="嘉林", his_unit="盒")], NOW)
    assert summary.kept == 2
    with store.read() as conn:
        m = mappings.item_mappings(conn, "H1")
    assert (m["C2"]["status"], m["C2"]["product_key"], m["C2"]["factor"]) == ("manual", CLOP.product_key, Decimal(7))
    assert (m["A2"]["status"], m["A2"]["group_key"]) == ("manual", None)
    assert m["A1"]["factor"] == Decimal(14)  # an automatic proposal follows the HIS's new spec


def test_review_workbook_is_workable_frozen_filtered_sized_and_chinese(store: Store, tmp_path: Path) -> None:
    map_items(store, ITEMS, NOW)
    path = tmp_path / "review.xlsx"
    assert export_review(store, path) == 5
    ws = openpyxl.load_workbook(path)["对码审核"]
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref == "A1:R6"
    assert ws.column_dimensions["B"].width >= 20 and ws.column_dimensions["H"].width >= 40
    assert [ws.cell(r, 1).value for r in range(2, 7)][0] == "C2"  # to-review first
    assert ws.cell(2, 6).value == "待审核" and "生产企业" in ws.cell(2, 12).value


def test_review_import_round_trips(store: Store, tmp_path: Path) -> None:
    map_items(store, ITEMS, NOW)
    path = tmp_path / "review.xlsx"
    export_review(store, path)
    assert import_review(store, path, NOW) == {"applied": 0, "errors": []}  # untouched: nothing changes
    wb = openpyxl.load_workbook(path)
    ws = wb["对码审核"]
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    ws.cell(rows["C2"], 17).value = "候选1"
    ws.cell(rows["C2"], 18).value = "7"
    ws.cell(rows["C1"], 18).value = 14  # factor confirmed by the pharmacist
    ws.cell(rows["A2"], 17).value = "无关"
    ws.cell(rows["V1"], 17).value = "候选9"
    wb.save(path)
    result = import_review(store, path, NOW)
    assert result["applied"] == 3 and result["errors"] == [
        f"第{rows['V1']}行 审核结论：“候选9”不是候选1/候选2/候选3/中选/非中选/无关，也不是已知的中选产品代码"]
    with store.read() as conn:
        m = mappings.item_mappings(conn, "H1")
    assert (m["C2"]["status"], m["C2"]["product_key"], m["C2"]["factor"]) == ("reviewed", CLOP.product_key, Decimal(7))
    assert (m["C1"]["status"], m["C1"]["product_key"], m["C1"]["factor"]) == ("reviewed", CLOP.product_key, Decimal(14))
    assert (m["A2"]["group_key"], m["A2"]["product_key"]) == (None, None)
    again = tmp_path / "again.xlsx"
    export_review(store, again)
    ws2 = openpyxl.load_workbook(again)["对码审核"]
    decided = {ws2.cell(r, 1).value: (ws2.cell(r, 6).value, ws2.cell(r, 17).value, ws2.cell(r, 18).value) for r in range(2, ws2.max_row + 1)}
    assert decided["C2"] == ("已审核", CLOP.product_key, 7) and decided["A2"] == ("已审核", "无关", 7)
    assert import_review(store, again, NOW)["applied"] == 0  # a re-exported workbook re-imports as no change


def test_agreement_year_follows_the_product_into_its_renewal(store: Store) -> None:
    _seed(store, (ATORVA,), RENEWAL)
    with store.read() as conn:
        first = catalogue.agreement_year_for(conn, "H1", ATORVA.product_key, date(2024, 12, 1))
        renewed = catalogue.agreement_year_for(conn, "H1", ATORVA.product_key, date(2025, 12, 1))
        clop_after = catalogue.agreement_year_for(conn, "H1", CLOP.product_key, date(2025, 12, 1))
    assert (first.programme, first.number, first.start) == ("第七批", 3, date(2024, 11, 1))  # type: ignore[union-attr]
    assert (renewed.programme, renewed.number) == ("第七批接续", 1)  # type: ignore[union-attr]
    assert clop_after is None


def test_mapping_the_noisy_catalogue_through_the_store_keeps_its_figures(tmp_path: Path) -> None:
    products, items, truth = noisy_catalogue()
    s = open_store(f"sqlite:///{tmp_path / 'n.db'}", "H1")
    try:
        _seed(s, products)
        summary = map_items(s, items, NOW)
        with s.read() as conn:
            m = mappings.item_mappings(conn, "H1")
    finally:
        s.close()
    auto = [c for c, v in m.items() if v["status"] == "auto"]
    assert summary.auto == len(auto)
    wrong = [c for c in auto if (m[c]["product_key"], m[c]["group_key"]) != truth[c]]
    assert len(wrong) <= 0.01 * len(auto)


MET = WinningProduct("盐酸二甲双胍", "片", "0.5g", "石药集团欧意药业有限公司", smallest_unit="片")
MET_SR = WinningProduct("盐酸二甲双胍", "缓释片", "0.5g", "正大天晴药业集团股份有限公司", smallest_unit="片")
GROUPED = [
    LocalItem("M1", "盐酸二甲双胍", spec="0.5g*20片", manufacturer="某药业", his_unit="盒"),  # blank form, two groups fit
    LocalItem("M2", "二甲双胍缓释片", spec="0.5g*30片", manufacturer="某药业", his_unit="盒"),
    LocalItem("A3", "阿托伐他汀钙片", spec="10mg*7片"),  # no maker: review
    LocalItem("V1", "维生素C片", spec="0.1g", manufacturer="华中药业", his_unit="瓶"),
]


def test_review_decides_the_group_by_candidate_by_typed_name_or_by_editing_the_proposed_group(store: Store, tmp_path: Path) -> None:
    _seed(store, (MET, MET_SR))
    map_items(store, GROUPED, NOW)
    path = tmp_path / "review.xlsx"
    export_review(store, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["对码审核"]
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    assert ws.cell(rows["M2"], 10).value == MET_SR.group_key and "分组 " in ws.cell(rows["M1"], 12).value
    assert "集采分组" in wb.sheetnames
    with store.read() as conn:
        m1 = mappings.item_mappings(conn, "H1")["M1"]
    second = m1["candidates"][1]["group_key"]
    ws.cell(rows["M1"], 17).value = "非中选 候选2"
    ws.cell(rows["M2"], 10).value = "盐酸二甲双胍片"  # the pharmacist corrects the group itself
    ws.cell(rows["A3"], 17).value = "非中选 阿托伐他汀钙 片"
    ws.cell(rows["V1"], 17).value = "非中选 维生素C片"
    wb.save(path)
    result = import_review(store, path, NOW)
    assert result["applied"] == 3
    assert result["errors"] == [f"第{rows['V1']}行 审核结论：“维生素C片”不是已知的集采分组（通用名+剂型，见“集采分组”表）"]
    map_items(store, GROUPED, NOW)  # a re-run keeps every decision
    with store.read() as conn:
        m = mappings.item_mappings(conn, "H1")
    assert (m["M1"]["status"], m["M1"]["product_key"], m["M1"]["group_key"]) == ("reviewed", None, second)
    assert (m["M2"]["product_key"], m["M2"]["group_key"]) == (None, MET.group_key)
    assert (m["A3"]["product_key"], m["A3"]["group_key"]) == (None, ATORVA.group_key)
    again = tmp_path / "again.xlsx"
    export_review(store, again)
    assert import_review(store, again, NOW)["applied"] == 0
    wb = openpyxl.load_workbook(again)
    ws = wb["对码审核"]
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    assert ws.cell(rows["A3"], 17).value == "非中选"
    ws.cell(rows["A3"], 10).value = "盐酸二甲双胍缓释片"  # a decided row: only its group is changed
    wb.save(again)
    assert import_review(store, again, NOW)["applied"] == 1
    with store.read() as conn:
        assert mappings.item_mappings(conn, "H1")["A3"]["group_key"] == MET_SR.group_key


def test_choosing_a_winner_by_candidate_number_puts_the_item_in_that_winners_group(store: Store, tmp_path: Path) -> None:
    _seed(store, (MET, MET_SR))
    map_items(store, GROUPED, NOW)
    path = tmp_path / "review.xlsx"
    export_review(store, path)
    wb = openpyxl.load_workbook(path)
    ws = wb["对码审核"]
    rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
    ws.cell(rows["M1"], 17).value = "中选 候选2"
    wb.save(path)
    assert import_review(store, path, NOW)["applied"] == 1
    with store.read() as conn:
        m1 = mappings.item_mappings(conn, "H1")["M1"]
    cand = m1["candidates"][1]
    assert (m1["product_key"], m1["group_key"]) == (cand["product_key"], cand["group_key"])


def test_upgrading_a_store_regroups_a_sustained_release_product_keyed_as_a_plain_tablet(store_url: str) -> None:
    from agent.store.schema.catalogue import agreed_volumes, generic_groups, item_mappings, winning_products

    old = open_store(store_url, "H1", target={"catalogue": 1})
    sr = WinningProduct("硝苯地平", "片剂(控释)", "30mg", "上海信谊药厂有限公司")
    old_key = "硝苯地平|片|30mg|信谊"  # as v1 keyed it: the bracketed qualifier lost
    with old.begin() as conn:
        conn.execute(winning_products.insert().values(
            hospital_code="H1", programme="第七批", product_key=old_key, kind="drug", generic_name="硝苯地平",
            dosage_form="片剂(控释)", spec="30mg", manufacturer="上海信谊药厂有限公司", group_key="硝苯地平|片", updated_at=NOW))
        conn.execute(generic_groups.insert().values(hospital_code="H1", group_key="硝苯地平|片", kind="drug",
                                                    generic_name="硝苯地平", dosage_form="片", updated_at=NOW))
        conn.execute(agreed_volumes.insert().values(hospital_code="H1", programme="第七批", year=1, product_key=old_key,
                                                    quantity=Decimal(1000), updated_at=NOW))
        conn.execute(item_mappings.insert().values(
            hospital_code="H1", item_code="N1", item_name="硝苯地平控释片", item={}, status="reviewed", product_key=old_key,
            group_key="硝苯地平|片", confidence=1.0, reason="", candidates=[], updated_at=NOW))
    old.close()
    store = open_store(store_url, "H1")
    try:
        with store.read() as conn:
            assert catalogue.product_groups(conn, "H1") == {sr.product_key: "硝苯地平|控释片"}
            assert catalogue.first_year_quantities(conn, "H1", "第七批") == {sr.product_key: Decimal(1000)}
            m = mappings.item_mappings(conn, "H1")["N1"]
            groups = {g.key: g for g in catalogue.generic_groups(conn, "H1")}
    finally:
        store.close()
    assert (m["product_key"], m["group_key"], m["status"]) == (sr.product_key, "硝苯地平|控释片", "reviewed")
    assert [i["code"] for i in groups["硝苯地平|控释片"].local_items] == ["N1"]
