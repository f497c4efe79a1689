"""The bureau's spreadsheets as they come (#18 point 4): numbers written with currency and units,
a volume column whose header names its unit in words, and footnotes below the table, each in a
sheet with merged title rows, the header on row 3 and notes at the bottom."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.catalogue.volumes import plan_volumes
from agent.catalogue.winners import commit_winners, plan_winners
from agent.domain.catalogue import Kind, Level, Programme
from agent.store import Store, open_store
from tests.sheets_catalogue import bureau_xlsx

NOW = datetime(2024, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
P = Programme("吉林2024", Kind.DRUG, Level.PROVINCIAL, date(2024, 3, 1), date(2026, 2, 28))
WINNER_HEADER = ["序号", "通用名", "剂型", "规格", "包装数量", "生产企业", "中选价格"]
WINNERS = [
    [1, "阿托伐他汀钙片", "片剂", "20mg*28片/盒", 28, "北京嘉林药业股份有限公司", "5.60元"],
    [2, "硫酸氢氯吡格雷片", "片剂", "75mg*7片/盒", 7, "深圳信立泰药业股份有限公司", "¥12.30"],
    [3, "注射用头孢曲松钠", "注射剂", "1g", 1, "齐鲁制药有限公司", "1,234.5"],
    [4, "盐酸二甲双胍片", "片剂", "0.5g*20片/盒", 20, "石药集团欧意药业有限公司", "12.00 元/盒"],
    [5, "苯磺酸氨氯地平片", "片剂", "5mg*28片/盒", 28, "浙江京新药业股份有限公司", "0.15元/片"],
]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    yield s
    s.close()


def _winners(store: Store, tmp_path: Path) -> None:
    plan = plan_winners(store, bureau_xlsx(tmp_path / "winners.xlsx", WINNER_HEADER, WINNERS), P.name, Kind.DRUG)
    assert plan.errors == []
    commit_winners(store, plan, P, NOW)


def test_prices_with_currency_thousands_and_units_import_as_numbers_per_pack(store: Store, tmp_path: Path) -> None:
    plan = plan_winners(store, bureau_xlsx(tmp_path / "winners.xlsx", WINNER_HEADER, WINNERS), P.name, Kind.DRUG)
    assert plan.errors == []
    assert [r.ref for r in plan.rows] == [f"附件6!{n}" for n in range(4, 9)]  # the header is on row 3
    # 0.15元/片 is the price of one tablet: a 盒 of 28 costs 4.20
    assert [r.payload.price for r in plan.rows] == [Decimal("5.60"), Decimal("12.30"), Decimal("1234.5"), Decimal("12.00"),
                                                   Decimal("4.20")]


def test_footnotes_below_the_table_are_not_rejected_rows(store: Store, tmp_path: Path) -> None:
    plan = plan_winners(store, bureau_xlsx(tmp_path / "winners.xlsx", WINNER_HEADER, WINNERS), P.name, Kind.DRUG)
    assert plan.errors == [] and plan.rows_read == 5
    assert plan.skipped == 6  # 注, two blank rows, the merged source line, the labels, the signature
    assert "拒绝0" in plan.summary()


def test_a_data_row_below_a_blank_row_is_still_read(store: Store, tmp_path: Path) -> None:
    rows = [WINNERS[0], [None] * 7, WINNERS[1]]
    plan = plan_winners(store, bureau_xlsx(tmp_path / "winners.xlsx", WINNER_HEADER, rows), P.name, Kind.DRUG)
    assert [r.ref for r in plan.rows] == ["附件6!4", "附件6!6"] and plan.errors == []


def test_a_price_per_tablet_without_a_pack_is_refused_by_place(store: Store, tmp_path: Path) -> None:
    row = [6, "布洛芬缓释胶囊", "胶囊剂", "0.3g", None, "中美天津史克制药有限公司", "0.50元/粒"]
    plan = plan_winners(store, bureau_xlsx(tmp_path / "winners.xlsx", WINNER_HEADER, [row]), P.name, Kind.DRUG)
    assert [(e.row, e.column, e.reason) for e in plan.errors] == [
        (4, "G（中选价格）", "中选价格按“粒”计，但没有包装数量，无法换算为每包装价格")]


@pytest.mark.parametrize(("unit_words", "factor"), [
    ("最小包装", 28), ("最小制剂单位", 1), ("最小使用单位", 1), ("包装", 28), ("盒", 28), ("片/粒/支", 1),
])
def test_a_volume_header_naming_its_unit_in_words_is_read_in_that_unit(store: Store, tmp_path: Path, unit_words: str,
                                                                      factor: int) -> None:
    _winners(store, tmp_path)
    header = ["序号", "医疗机构名称", "通用名", "规格", "生产企业", f"约定采购量（{unit_words}）"]
    rows = [[1, "测试医院", "阿托伐他汀钙片", "20mg*28片/盒", "北京嘉林药业股份有限公司", "1,200"]]
    plan = plan_volumes(store, bureau_xlsx(tmp_path / "v.xlsx", header, rows), P.name, 1, ("测试医院",))
    assert plan.errors == [] and plan.skipped == 6
    assert [r.payload["quantity"] for r in plan.rows] == [Decimal(1200 * factor)]


def test_a_volume_written_with_its_unit_in_the_cell_wins_over_the_header(store: Store, tmp_path: Path) -> None:
    _winners(store, tmp_path)
    header = ["医疗机构名称", "通用名", "规格", "生产企业", "约定采购量(单位:最小制剂单位)"]
    rows = [["测试医院", "阿托伐他汀钙片", "20mg", "北京嘉林药业股份有限公司", "50盒"],
            ["测试医院", "硫酸氢氯吡格雷片", "75mg", "深圳信立泰药业股份有限公司", "700片"],
            ["测试医院", "盐酸二甲双胍片", "0.5g", "石药集团欧意药业有限公司", "3吨"]]
    plan = plan_volumes(store, bureau_xlsx(tmp_path / "v.xlsx", header, rows), P.name, 1, ("测试医院",))
    assert [r.payload["quantity"] for r in plan.rows] == [Decimal(1400), Decimal(700)]
    assert plan.rows[0].cells[5] == "50 盒 × 28 = 1400 片"
    assert [(e.row, e.reason) for e in plan.errors] == [(6, "无法识别的单位“吨”")]
