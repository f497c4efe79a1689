"""Finding the header row by synonyms (表头识别) and reading cells as text or numbers.

Headers differ by province and year: 通用名 / 药品通用名 / 产品名称; 规格 / 规格包装 / 包装规格;
生产企业 / 生产厂家 / 中选企业 ... The header is the row, among the first 30, that names the most
known fields. A bracket in a header keeps its hint: 约定采购量（最小制剂单位）, 约定采购量（盒）.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from agent.domain.normalise import clean, compact
from agent.domain.spec import DOSE_UNITS, PACK_UNITS

SYNONYMS: dict[str, tuple[str, ...]] = {
    "generic_name": ("通用名", "药品通用名", "通用名称", "产品名称", "药品名称", "品种名称", "品名", "耗材名称",
                     "产品通用名", "中选产品名称", "注册证产品名称"),
    "dosage_form": ("剂型", "实际剂型"),
    "spec": ("规格", "规格包装", "包装规格", "规格型号", "型号规格", "实际规格", "制剂规格"),
    "pack": ("包装数量", "转换比", "最小包装数量", "包装转换比", "转换系数", "包装", "装量"),
    "smallest_unit": ("最小制剂单位", "最小使用单位", "最小单位", "制剂单位"),
    "manufacturer": ("生产企业", "生产厂家", "中选企业", "生产企业名称", "企业名称", "申报企业", "厂家", "生产厂商"),
    "national_code": ("医保代码", "国家医保药品代码", "药品代码", "国家医保代码", "医保药品代码", "耗材代码",
                      "医保耗材代码", "国家医保耗材代码", "统一编码", "医保编码", "医保医用耗材代码", "医保医用耗材编码",
                      "国家医保医用耗材代码", "医保耗材编码", "耗材医保代码", "27位码", "27位医保耗材代码"),
    "registration_no": ("注册证号", "注册证编号", "医疗器械注册证号", "注册证号/备案凭证号", "注册备案号", "备案凭证号",
                        "注册证号（备案号）", "医疗器械注册证编号", "注册证/备案号"),
    "model": ("型号", "产品型号"),
    "price": ("中选价格", "中选价", "单价", "价格", "中选单价", "挂网价格"),
    "category": ("耗材分类", "产品类别", "类别", "耗材类别", "产品分类"),
    "hospital_name": ("医疗机构名称", "医疗机构", "医院名称", "机构名称", "单位名称"),
    "hospital_code": ("医疗机构代码", "机构代码", "医疗机构编码", "医院代码", "定点医疗机构代码"),
    "quantity": ("约定采购量", "协议采购量", "约定量", "协议量", "采购量", "约定采购数量", "协议采购数量"),
    "unit": ("单位", "计量单位", "采购单位", "包装单位"),
    "declared": ("报量", "申报量", "报送量", "预计采购量", "计划采购量", "申报采购量", "需求量"),  # 报量表
    "reason": ("说明", "理由", "书面说明", "情况说明", "低于说明"),
}
_LOOKUP = {s: field for field, syns in SYNONYMS.items() for s in syns}
_BRACKET = re.compile(r"[(\[【（]([^)\]】）]*)[)\]】）]")
_UNIT_LABEL = re.compile(r"^(?:计量)?(?:单位|以)[:：]?|计$")
SCAN_ROWS = 30


@dataclass(frozen=True)
class Column:
    field: str
    index: int  # 0-based
    header: str  # as written
    hint: str  # what the header's bracket said, e.g. 最小制剂单位 or 盒

    @property
    def letter(self) -> str:
        from openpyxl.utils import get_column_letter

        return get_column_letter(self.index + 1)


@dataclass(frozen=True)
class Header:
    row: int  # 0-based index of the header row
    columns: dict[str, Column]


def field_of(header: Any) -> tuple[str | None, str]:
    """(field, hint) for one header cell; (None, '') when it names no known field."""
    text = clean(header)
    if not text:
        return None, ""
    hint = _UNIT_LABEL.sub("", compact(" ".join(m.group(1) for m in _BRACKET.finditer(text))))
    key = compact(_BRACKET.sub("", text)).replace("*", "")
    if key in _LOOKUP:
        return _LOOKUP[key], hint
    for syn in sorted(_LOOKUP, key=len, reverse=True):
        if len(syn) >= 3 and key.startswith(syn):
            # 约定采购量/盒, 约定采购量单位：最小包装: the words after the name say the unit
            return _LOOKUP[syn], hint or _UNIT_LABEL.sub("", key[len(syn):].lstrip("/／:：-_"))
    return None, ""


def find_header(rows: list[list[Any]], required: tuple[str, ...]) -> Header | None:
    """The row that names the most known fields and all of ``required``; None when there is none."""
    best: Header | None = None
    for i, row in enumerate(rows[:SCAN_ROWS]):
        cols: dict[str, Column] = {}
        for j, cell in enumerate(row):
            field, hint = field_of(cell)
            if field and field not in cols:
                cols[field] = Column(field, j, clean(cell), hint)
        if all(f in cols for f in required) and (best is None or len(cols) > len(best.columns)):
            best = Header(i, cols)
    return best


_NOTE = re.compile(r"^(?:(?:注|备注|说明|填报说明|注意|数据来源|资料来源|来源|填表人|填报人|制表人?|审核人?|联系人|联系电话"
                   r"|负责人)\s*\d*\s*[:：、.]|数据来源|资料来源|合计|小计|总计|[*※＊])")
_LABELLED = re.compile(r"^[^:：]{1,12}[:：]")


def is_note_or_blank(row: list[Any], after_blank: bool = False) -> bool:
    """Blank rows, notes under the table (注：..., 数据来源..., 备注) and total rows (合计) carry no
    data; below a blank row, so does a line of text alone (one value, even merged across the row)
    or a line of labels (填表人：张三  联系电话：...)."""
    cells = [clean(c) for c in row if clean(c)]
    if not cells:
        return True
    if _NOTE.match(cells[0]):
        return True
    return after_blank and (len(set(cells)) == 1 or all(_LABELLED.match(c) for c in cells))


def cell(row: list[Any], col: Column | None) -> Any:
    if col is None or col.index >= len(row):
        return None
    return row[col.index]


def text_of(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean(value)


# A number as written in a cell: currency before it, 元 and a unit after it (¥5.60, 5.60元, 12.00 元/盒, 1200盒)
_AMOUNT = re.compile(r"^(?:[¥￥]|RMB|人民币)?([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)(?:元)?(?:/|每)?(\D{0,8})$", re.I)


def number_of(value: Any) -> Decimal:
    """A number from a cell: 1200, '1,200', '１２００', ' 1200 ', '¥5.60', '5.60元', '12.00 元/盒' ->
    Decimal; ValueError with a reason. The unit written after it is :func:`number_and_unit`'s."""
    return number_and_unit(value)[0]


def number_and_unit(value: Any) -> tuple[Decimal, str]:
    """The number of a cell and the unit written after it ('' when none): '12.00 元/盒' -> (12.00, '盒')."""
    if isinstance(value, bool):
        raise ValueError("不是数字")
    if isinstance(value, int):
        return Decimal(value), ""
    if isinstance(value, float):
        return Decimal(repr(value)), ""
    s = clean(value).replace(",", "").replace("，", "").replace(" ", "")
    if not s:
        raise ValueError("为空")
    m = _AMOUNT.match(s)
    if m is None:
        raise ValueError("不是数字")
    try:
        d = Decimal(m.group(1))
    except InvalidOperation:
        raise ValueError("不是数字") from None
    if not d.is_finite():
        raise ValueError("不是数字")
    return d, m.group(2)


SMALLEST_HINTS = ("最小制剂单位", "最小单位", "最小使用单位", "制剂单位", "片", "粒", "支", "袋")
PACK_HINTS = ("最小包装单位", "最小包装", "包装单位", "包装")


def unit_kind(unit: str, smallest: str = "") -> str | None:
    """'smallest' or 'pack' for a unit as a sheet writes it, in a cell or in words in the header:
    片, 最小制剂单位, 最小使用单位, 片/粒/支 are smallest units; 盒, 包装, 最小包装 (the smallest pack
    sold) are packs; None when it says neither."""
    u = compact(unit)
    if not u or u in SMALLEST_HINTS or u == smallest:
        return "smallest"
    if u in PACK_HINTS or u in PACK_UNITS:
        return "pack"
    parts = [p for p in re.split(r"[/／、,，或]", u) if p]
    if parts and all(p in DOSE_UNITS or p in SMALLEST_HINTS for p in parts):
        return "smallest"
    return None
