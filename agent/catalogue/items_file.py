"""Local items (院内药品/耗材字典) from a spreadsheet export of the HIS, for ``map run --items``.

Until the ingestion ItemSource is wired, a pharmacist can export the HIS dictionary to xlsx/xls/csv;
the header is found by synonyms as for the bureau's lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from agent.catalogue.headers import number_of, text_of
from agent.catalogue.sheets import read_workbook
from agent.domain.model import LocalItem
from agent.domain.normalise import compact
from agent.errors import DataError

ITEM_SYNONYMS: dict[str, tuple[str, ...]] = {
    "code": ("院内编码", "药品编码", "本院编码", "项目编码", "编码", "院内代码", "his编码", "物资编码"),
    "name": ("院内名称", "药品名称", "名称", "项目名称", "商品名称", "物资名称"),
    "generic_name": ("通用名", "通用名称", "药品通用名"),
    "dosage_form": ("剂型",),
    "spec": ("规格", "规格型号", "包装规格"),
    "manufacturer": ("生产企业", "生产厂家", "厂家", "产地"),
    "his_unit": ("单位", "his单位", "计价单位", "包装单位", "门诊单位"),
    "pack_factor": ("换算系数", "包装系数", "转换比", "最小单位数量"),
    "national_code": ("医保代码", "国家医保代码", "国家医保药品代码", "医保编码", "耗材代码", "医保耗材代码",
                      "医保医用耗材代码", "27位码"),
    "registration_no": ("注册证号", "注册证编号", "医疗器械注册证号", "注册备案号", "备案凭证号"),
    "kind": ("类别", "类型"),
}
_LOOKUP = {s: f for f, syns in ITEM_SYNONYMS.items() for s in syns}


def read_items(path: Path | str) -> Iterator[LocalItem]:
    path = Path(path)
    for sheet in read_workbook(path):
        for i, row in enumerate(sheet.rows[:30]):
            cols = {}
            for j, c in enumerate(row):
                f = _LOOKUP.get(compact(c))
                if f and f not in cols:
                    cols[f] = j
            if "code" in cols and "name" in cols:
                yield from _rows(sheet.rows[i + 1:], cols)
                return
    raise DataError(f"{path.name}: no header row with 院内编码 and 药品名称 columns")


def _rows(rows: list[list], cols: dict[str, int]) -> Iterator[LocalItem]:
    def get(row: list, f: str) -> str | None:
        j = cols.get(f)
        return (text_of(row[j]) or None) if j is not None and j < len(row) else None

    for row in rows:
        code, name = get(row, "code"), get(row, "name")
        if not code or not name:
            continue
        factor: Decimal | None = None
        if raw := get(row, "pack_factor"):
            try:
                factor = number_of(raw)
            except ValueError:
                factor = None
        national, registration = get(row, "national_code"), get(row, "registration_no")
        consumable = ((get(row, "kind") or "") in ("耗材", "医用耗材", "consumable") or (national or "").upper().startswith("C")
                      or "械" in (registration or ""))
        yield LocalItem(code=code, name=name, generic_name=get(row, "generic_name"), dosage_form=get(row, "dosage_form"),
                        spec=get(row, "spec"), manufacturer=get(row, "manufacturer"), his_unit=get(row, "his_unit"),
                        pack_factor=factor, national_code=national, kind="consumable" if consumable else "drug",
                        registration_no=registration)
