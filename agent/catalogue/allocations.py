"""Reading the pharmacy's department allocation sheet (科室分配表).

One row per product and department: the product's code as the bureau's list gives it (产品编码,
the key ``import winners`` stored), the department code as the HIS records usage (科室编码), and
either a quantity in smallest units (分配量) or a share of the agreed volume (分配比例: 0.3, 30 or
30%). A department name column is allowed and ignored. Header rows may sit below a title;
notes and total rows (注：, 合计) are skipped. A bad cell is a ``DataError`` naming the file, the
row, the column and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from agent.catalogue.headers import is_note_or_blank, number_of, text_of
from agent.catalogue.sheets import read_workbook
from agent.errors import DataError

_FIELDS = {
    "product": ("产品编码", "中选产品编码", "产品代码", "产品id", "药品编码", "耗材编码"),
    "dept": ("科室编码", "科室代码", "科室id"),
    "qty": ("分配量", "科室分配量", "分配数量", "科室约定量", "分配采购量"),
    "share": ("分配比例", "科室比例", "比例", "占比"),
}
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class AllocationRow:
    row: int  # spreadsheet row number (1-based)
    product: str
    dept: str
    qty: Decimal | None  # smallest units
    share: Decimal | None  # a fraction of the agreed volume


def _field(header: Any) -> str | None:
    text = _SPACE.sub("", text_of(header)).lower()
    text = re.sub(r"[（(].*?[)）]", "", text)
    for field, names in _FIELDS.items():
        if text in names:
            return field
    return None


def read_allocations(path: Path | str) -> list[AllocationRow]:
    path = Path(path)
    for sheet in read_workbook(path):
        for i, row in enumerate(sheet.rows[:20]):
            cols = {}
            for j, c in enumerate(row):
                f = _field(c)
                if f and f not in cols:
                    cols[f] = j
            if "product" in cols and "dept" in cols and ("qty" in cols or "share" in cols):
                return list(_rows(path, sheet.name, sheet.rows, i, cols))
    raise DataError(f"{path}: no sheet has a header with 产品编码, 科室编码 and 分配量 (or 分配比例)")


def _rows(path: Path, sheet: str, rows: list[list[Any]], header: int, cols: dict[str, int]):  # type: ignore[no-untyped-def]
    names = {"product": "产品编码", "dept": "科室编码", "qty": "分配量", "share": "分配比例"}
    for n, row in enumerate(rows[header + 1:], start=header + 2):
        if is_note_or_blank(row):
            continue

        def get(field: str, row: list[Any] = row) -> Any:
            j = cols.get(field)
            return row[j] if j is not None and j < len(row) else None

        def bad(field: str, why: str, n: int = n) -> DataError:
            return DataError(f"{path}: sheet {sheet}, row {n}, column {get_column_letter(cols[field] + 1)} "
                             f"({names[field]}): {why}")

        product, dept = text_of(get("product")), text_of(get("dept"))
        if not product:
            raise bad("product", "empty")
        if not dept:
            raise bad("dept", "empty")
        qty = share = None
        if "qty" in cols and text_of(get("qty")):
            try:
                qty = number_of(get("qty"))
            except ValueError as e:
                raise bad("qty", f"'{text_of(get('qty'))}' is not a number ({e})") from None
            if qty < 0:
                raise bad("qty", "negative")
        elif "share" in cols and text_of(get("share")):
            raw = text_of(get("share"))
            try:
                share = number_of(raw.rstrip("%％"))
            except ValueError as e:
                raise bad("share", f"'{raw}' is not a share ({e})") from None
            if raw.endswith(("%", "％")) or share > 1:
                share = share / 100
            if not 0 <= share <= 1:
                raise bad("share", f"'{raw}' is not between 0 and 100%")
        else:
            raise bad("qty" if "qty" in cols else "share", "empty: give a quantity or a share")
        yield AllocationRow(n, product, dept, qty, share)
