"""Header synonyms, cell reading and note detection for the bureau's spreadsheets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from agent.catalogue.headers import field_of, find_header, is_note_or_blank, number_of
from agent.catalogue.sheets import decode_text, read_workbook
from agent.errors import DataError


@pytest.mark.parametrize(("header", "field", "hint"), [
    ("通用名", "generic_name", ""), ("药品通用名", "generic_name", ""), ("产品名称", "generic_name", ""),
    ("规格", "spec", ""), ("规格包装", "spec", ""), ("包装规格", "spec", ""),
    ("生产企业", "manufacturer", ""), ("生产厂家", "manufacturer", ""), ("中选企业", "manufacturer", ""),
    ("医保代码", "national_code", ""), ("国家医保药品代码", "national_code", ""), ("药品代码", "national_code", ""),
    ("约定采购量", "quantity", ""), ("协议采购量", "quantity", ""),
    ("约定采购量（最小制剂单位）", "quantity", "最小制剂单位"), ("约定采购量(盒)", "quantity", "盒"),
    (" 中选价格（元/片） ", "price", "元/片"), ("序号", None, ""),
])
def test_header_synonyms_map_to_fields_and_keep_the_bracket_hint(header: str, field: str | None, hint: str) -> None:
    assert field_of(header) == (field, hint)


def test_the_header_is_the_row_naming_most_fields_below_the_title_rows() -> None:
    rows = [["第十批国家集采中选结果"] * 4, ["填报单位：", None, "日期", None],
            ["序号", "通用名", "规格", "生产企业"], [1, "阿托伐他汀钙片", "10mg", "嘉林"]]
    h = find_header(rows, ("generic_name", "manufacturer"))
    assert h is not None and h.row == 2 and h.columns["spec"].letter == "C"
    assert find_header(rows, ("quantity",)) is None


@pytest.mark.parametrize(("value", "number"), [
    (1200, Decimal(1200)), (12.5, Decimal("12.5")), ("1,200", Decimal(1200)), ("１２００", Decimal(1200)),
    (" 12.30 ", Decimal("12.30")), ("1，200", Decimal(1200)),
])
def test_numbers_stored_as_text_or_full_width_are_read(value: object, number: Decimal) -> None:
    assert number_of(value) == number


@pytest.mark.parametrize("value", ["abc", "", None, "NaN", True])
def test_what_is_not_a_number_says_so(value: object) -> None:
    with pytest.raises(ValueError):
        number_of(value)


@pytest.mark.parametrize(("row", "note"), [
    ([None, " ", None], True), (["注：1.中选价格为最小包装价格"], True), (["备注：本表由医保局提供", None], True),
    (["注1、转换比为每盒片数"], True), (["合计", None, 9999], True),
    (["注射用头孢曲松钠", "1.0g", "齐鲁"], False), (["注射用", "x"], False), ([1, "说明书片"], False),
])
def test_notes_totals_and_blank_rows_are_told_from_data(row: list, note: bool) -> None:
    assert is_note_or_blank(row) is note


def test_csv_text_is_utf8_or_gbk() -> None:
    assert decode_text("通用名".encode("gbk")) == "通用名"
    assert decode_text("\ufeff通用名".encode()) == "通用名"


def test_an_unknown_file_type_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(DataError, match="xlsx, xls or csv"):
        read_workbook(tmp_path / "x.pdf")
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable xlsx"):
        read_workbook(tmp_path / "bad.xlsx")
