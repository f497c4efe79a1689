"""Importing the bureau's ugly spreadsheets: winners and agreed volumes, preview then commit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.catalogue.importing import render
from agent.catalogue.sheets import file_sha256
from agent.catalogue.volumes import commit_volumes, plan_volumes
from agent.catalogue.winners import commit_winners, plan_winners
from agent.domain.catalogue import Kind, Level, Programme
from agent.errors import DataError
from agent.store import Store, catalogue, open_store
from tests.sheets_catalogue import WINNER_ROWS, volumes_xlsx, winners_csv, winners_xls, winners_xlsx

NOW = datetime(2025, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
P10 = Programme("第十批", Kind.DRUG, Level.NATIONAL, date(2025, 3, 1), date(2027, 2, 28))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    yield s
    s.close()


def _import(store: Store, path: Path, programme: Programme = P10) -> dict[str, int]:
    plan = plan_winners(store, path, programme.name, Kind.DRUG)
    return commit_winners(store, plan, programme, NOW)


def test_title_rows_merged_title_blank_rows_and_notes_are_skipped(store: Store, tmp_path: Path) -> None:
    plan = plan_winners(store, winners_xlsx(tmp_path / "w.xlsx"), "第十批", Kind.DRUG)
    assert [r.ref for r in plan.rows] == ["附件4!4", "附件4!5", "附件4!7", "附件4!8"]
    assert plan.errors == [] and plan.skipped == 4  # one blank inside, one blank and two notes below


def test_numbers_as_text_full_width_digits_and_stray_spaces_are_read(store: Store, tmp_path: Path) -> None:
    plan = plan_winners(store, winners_xlsx(tmp_path / "w.xlsx"), "第十批", Kind.DRUG)
    clop, ceph = plan.rows[1].payload, plan.rows[2].payload
    assert (clop.pack, clop.price) == (Decimal(7), Decimal("12.30"))
    assert ceph.generic_name == "注射用头孢曲松钠" and ceph.group_key == "头孢曲松|注射剂"


def test_merged_cells_in_the_data_repeat_their_value_on_each_row(store: Store, tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "merged.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["通用名", "规格", "生产企业"])
    ws.append(["阿托伐他汀钙片", "10mg", "北京嘉林药业股份有限公司"])
    ws.append([None, "20mg", None])
    ws.merge_cells("A2:A3")
    ws.merge_cells("C2:C3")
    wb.save(path)
    plan = plan_winners(store, path, "第十批", Kind.DRUG)
    assert [(r.payload.generic_name, r.payload.spec, r.payload.manufacturer) for r in plan.rows] == [
        ("阿托伐他汀钙片", "10mg", "北京嘉林药业股份有限公司"), ("阿托伐他汀钙片", "20mg", "北京嘉林药业股份有限公司")]


@pytest.mark.parametrize("header", [
    ["通用名", "规格", "生产企业", "医保代码"],
    ["药品通用名", "规格包装", "生产厂家", "国家医保药品代码"],
    ["产品名称", "包装规格", "中选企业", "药品代码"],
    [" 通用名称 ", "规格（mg）", "生产企业名称", "医保代码（23位）"],
])
def test_header_synonyms_of_every_province_are_recognised(store: Store, tmp_path: Path, header: list[str]) -> None:
    rows = [["阿托伐他汀钙片", "10mg×28片", "北京嘉林药业股份有限公司", "XC10AAA0001010100001001"]]
    path = winners_xlsx(tmp_path / "w.xlsx", rows, header=header, blank_rows=False)
    plan = plan_winners(store, path, "第十批", Kind.DRUG)
    assert len(plan.rows) == 1 and plan.rows[0].payload.national_code == "XC10AAA0001010100001001"


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_csv_in_gbk_or_utf8_is_read(store: Store, tmp_path: Path, encoding: str) -> None:
    plan = plan_winners(store, winners_csv(tmp_path / "w.csv", encoding), "第十批", Kind.DRUG)
    assert [r.payload.generic_name for r in plan.rows] == ["阿托伐他汀钙片", "硫酸氢氯吡格雷片"]
    assert plan.rows[0].payload.pack == Decimal(28)  # from the spec: 10mg×28片


def test_xls_with_a_merged_title_is_read(store: Store, tmp_path: Path) -> None:
    plan = plan_winners(store, winners_xls(tmp_path / "w.xls"), "第十批", Kind.DRUG)
    assert [r.ref for r in plan.rows] == ["中选结果!3", "中选结果!4", "中选结果!5", "中选结果!6"]
    assert plan.rows[0].payload.pack == Decimal(28) and plan.rows[3].payload.price == Decimal("0.9")


def test_a_bad_row_is_rejected_with_sheet_row_column_value_and_reason_and_the_rest_import(store: Store, tmp_path: Path) -> None:
    rows = [list(r) for r in WINNER_ROWS]
    rows[0][6] = "XC10AAA00010101"  # national code too short
    rows[3][7] = "九毛"  # price not a number
    plan = plan_winners(store, winners_xlsx(tmp_path / "w.xlsx", rows), "第十批", Kind.DRUG)
    assert [str(e) for e in plan.errors] == [
        "工作表“附件4”第4行 G（国家医保药品代码）列 值“XC10AAA00010101”：西药代码应为23位，实为15位",
        "工作表“附件4”第8行 H（中选价格(元)）列 值“九毛”：不是数字",
    ]
    counts = commit_winners(store, plan, P10, NOW)
    assert counts == {"inserted": 2, "updated": 0, "unchanged": 0}
    text = render(plan)
    assert "被拒绝的行" in text and "西药代码应为23位" in text and "通用名" in text


def test_reimporting_a_corrected_file_updates_without_duplicates_and_each_import_is_recorded(store: Store, tmp_path: Path) -> None:
    rows = [list(r) for r in WINNER_ROWS]
    rows[3][7] = "九毛"
    first = winners_xlsx(tmp_path / "first.xlsx", rows)
    assert _import(store, first) == {"inserted": 3, "updated": 0, "unchanged": 0}
    rows[3][7] = "0.9"
    rows[0][7] = "5.2"  # price corrected
    second = winners_xlsx(tmp_path / "second.xlsx", rows)
    assert _import(store, second) == {"inserted": 1, "updated": 1, "unchanged": 2}
    with store.read() as conn:
        products = catalogue.winning_products(conn, "H1", "第十批")
        history = catalogue.import_history(conn, "H1")
    assert len(products) == 4
    assert products[0].product.price == Decimal("5.2")
    assert [(h["file_name"], h["sha256"], h["rows_read"], h["rows_rejected"], h["inserted"], h["updated"], h["unchanged"])
            for h in history] == [("first.xlsx", file_sha256(first), 4, 1, 3, 0, 0),
                                  ("second.xlsx", file_sha256(second), 4, 0, 1, 1, 2)]
    assert history[0]["errors"][0]["reason"] == "不是数字" and history[0]["imported_at"] == NOW


def test_a_file_without_a_recognisable_header_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(DataError, match="required columns"):
        plan_winners(store, path, "第十批", Kind.DRUG)


def _volumes(store: Store, tmp_path: Path, rows, header=None, year: int = 1):  # type: ignore[no-untyped-def]
    _import(store, winners_xlsx(tmp_path / "w.xlsx"))
    return plan_volumes(store, volumes_xlsx(tmp_path / "v.xlsx", rows, header), "第十批", year, ("测试医院",))


def test_volumes_in_packs_are_converted_and_the_conversion_is_shown(store: Store, tmp_path: Path) -> None:
    header = ["医疗机构名称", "药品通用名", "规格", "生产厂家", "协议采购量", "单位"]
    plan = _volumes(store, tmp_path, [["测试医院", "阿托伐他汀钙片", "10mg", "嘉林药业", "５０", "盒"],
                                      ["测试医院", "硫酸氢氯吡格雷片", "75mg", "信立泰", " 700 ", "片"],
                                      ["别的医院", "阿托伐他汀钙片", "10mg", "嘉林药业", "9", "盒"]], header)
    assert [r.payload["quantity"] for r in plan.rows] == [Decimal(1400), Decimal(700)]
    assert plan.rows[0].cells[5] == "50 盒 × 28 = 1400 片"
    assert plan.skipped == 2  # the other hospital and the 合计 row
    assert "50 盒 × 28 = 1400 片" in render(plan)


def test_a_header_saying_packs_converts_without_a_unit_column(store: Store, tmp_path: Path) -> None:
    header = ["医疗机构代码", "通用名", "规格", "生产企业", "约定采购量（盒）"]
    plan = _volumes(store, tmp_path, [["H1", "硫酸氢氯吡格雷片", "75mg", "信立泰", 10]], header)
    assert plan.rows[0].payload["quantity"] == Decimal(70)


def test_volume_rows_that_match_no_winning_product_are_rejected_with_the_reason(store: Store, tmp_path: Path) -> None:
    plan = _volumes(store, tmp_path, [["H1", "测试医院", "阿托伐他汀钙片", "40mg", "嘉林药业", 100],
                                      ["H1", "测试医院", "阿托伐他汀钙片", "10mg", "嘉林药业", "-5"]])
    assert [(e.row, e.reason) for e in plan.errors] == [(3, "在本批次中选产品中找不到对应产品"), (4, "约定采购量不能为负数")]


def test_reimported_volumes_update_in_place(store: Store, tmp_path: Path) -> None:
    plan = _volumes(store, tmp_path, [["H1", "测试医院", "阿托伐他汀钙片", "10mg", "嘉林药业", 1000]])
    assert commit_volumes(store, plan, NOW) == {"inserted": 1, "updated": 0, "unchanged": 0}
    again = plan_volumes(store, volumes_xlsx(tmp_path / "v2.xlsx", [["H1", "测试医院", "阿托伐他汀钙片", "10mg", "嘉林", 1200]]),
                         "第十批", 1, ("测试医院",))
    assert [r.action for r in again.rows] == ["updated"]
    commit_volumes(store, again, NOW)
    with store.read() as conn:
        vols = catalogue.agreed_volumes(conn, "H1", date(2025, 6, 1))
    assert [(v.year.number, v.quantity) for v in vols] == [(1, Decimal(1200))]


def test_a_year_outside_the_programme_is_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="agreement years 1-2, not 3"):
        _volumes(store, tmp_path, [["H1", "测试医院", "阿托伐他汀钙片", "10mg", "嘉林药业", 1]], year=3)


def test_import_and_queries_work_on_every_store_backend(store_url: str, tmp_path: Path) -> None:
    s = open_store(store_url, "H1")
    try:
        _import(s, winners_xlsx(tmp_path / "w.xlsx"))
        plan = plan_volumes(s, volumes_xlsx(tmp_path / "v.xlsx", [["H1", "测试医院", "阿托伐他汀钙片", "10mg", "嘉林", "1,000"]]),
                            "第十批", 2)
        commit_volumes(s, plan, NOW)
        with s.read() as conn:
            assert [v.quantity for v in catalogue.agreed_volumes(conn, "H1", date(2026, 3, 1))] == [Decimal(1000)]
            assert catalogue.agreed_volumes(conn, "H1", date(2025, 3, 1)) == []
            assert len(catalogue.winning_products(conn, "H1")) == 4
    finally:
        s.close()


def test_consumables_import_with_their_class_and_27_character_codes(store: Store, tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "c.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "耗材"
    ws.append(["耗材名称", "规格型号", "生产企业", "耗材代码", "耗材分类", "中选价格"])
    ws.append(["冠脉药物洗脱支架", "3.0×18mm", "乐普(北京)医疗器械股份有限公司", "C0201010010000000000000001X", "冠脉支架", "590"])
    ws.append(["冠脉药物洗脱支架", "2.5×12mm", "微创医疗", "C02010100100000000000001X", "冠脉支架", "590"])
    wb.save(path)
    plan = plan_winners(store, path, "冠脉支架接续", Kind.CONSUMABLE)
    assert [e.reason for e in plan.errors] == ["耗材代码应为C开头的27位字母数字，实为25位"]
    commit_winners(store, plan, Programme("冠脉支架接续", Kind.CONSUMABLE, Level.NATIONAL, date(2024, 1, 1), date(2026, 12, 31)), NOW)
    with store.read() as conn:
        groups = catalogue.generic_groups(conn, "H1")
    assert [(g.key, g.name, g.kind) for g in groups] == [("C|冠脉支架", "冠脉支架", "consumable")]


def test_a_corrected_spec_replaces_the_old_product_only_when_the_file_is_declared_whole(store: Store, tmp_path: Path) -> None:
    rows = [list(r) for r in WINNER_ROWS]
    rows[1][3] = "75mq×7片"  # a typo the bureau corrects later
    _import(store, winners_xlsx(tmp_path / "first.xlsx", rows))
    rows[1][3] = "75mg×7片"
    corrected = winners_xlsx(tmp_path / "second.xlsx", rows)
    kept = plan_winners(store, corrected, "第十批", Kind.DRUG)
    assert len(kept.unlisted) == 1 and "整表替换请加 --replace" in kept.summary()
    plan = plan_winners(store, corrected, "第十批", Kind.DRUG, replace=True)
    assert commit_winners(store, plan, None, NOW) == {"inserted": 1, "updated": 0, "unchanged": 3, "removed": 1}
    with store.read() as conn:
        specs = sorted(p.product.spec for p in catalogue.winning_products(conn, "H1", "第十批"))
    assert specs == ["0.5g*20片", "1.0g", "10mg×28片", "75mg×7片"]


def test_a_renewed_year_below_the_first_years_volume_is_flagged_in_the_preview(store: Store, tmp_path: Path) -> None:
    commit_volumes(store, _volumes(store, tmp_path, [["H1", "测试医院", "阿托伐他汀钙片", "10mg", "嘉林药业", 1000]]), NOW)
    plan = plan_volumes(store, volumes_xlsx(tmp_path / "y2.xlsx", [["H1", "测试医院", "阿托伐他汀钙片", "10mg", "嘉林", 800]]),
                        "第十批", 2, ("测试医院",))
    assert plan.rows[0].cells[-1] == "低于第1年约定量1000" and plan.errors == []


def test_absurd_pack_and_price_are_refused_per_row_naming_file_sheet_row_and_column(store: Store, tmp_path: Path) -> None:
    rows = [list(r) for r in WINNER_ROWS]
    rows[0][4] = 10 ** 15  # 转换比
    rows[1][7] = 1e300  # 中选价格
    plan = plan_winners(store, winners_xlsx(tmp_path / "absurd.xlsx", rows), "第十批", Kind.DRUG)
    assert [(e.sheet, e.row, e.column) for e in plan.errors] == [("附件4", 4, "E（转换比）"), ("附件4", 5, "H（中选价格(元)）")]
    assert all("absurd.xlsx：" in e.reason and "超出合理上限" in e.reason for e in plan.errors)
    assert len(plan.rows) == 2  # the plausible rows still import


def test_an_absurd_agreed_volume_is_refused_with_its_place(store: Store, tmp_path: Path) -> None:
    header = ["医疗机构名称", "药品通用名", "规格", "生产厂家", "协议采购量", "单位"]
    plan = _volumes(store, tmp_path, [["测试医院", "阿托伐他汀钙片", "10mg", "嘉林药业", "1e18", "盒"],
                                      ["测试医院", "硫酸氢氯吡格雷片", "75mg", "信立泰", "700", "片"]], header)
    assert [(e.row, e.column) for e in plan.errors] == [(3, "E（协议采购量）")]  # under a title row
    assert "v.xlsx：约定采购量" in plan.errors[0].reason
    assert [r.payload["quantity"] for r in plan.rows] == [Decimal(700)]
