"""Importing the volume declaration (报量表) for a programme: each row matched to a winning product
(by national code, else generic name, strength and manufacturer, as agreed volumes are), its
quantity converted to the smallest unit, its written reason (说明) kept. The check itself (not
below last year's agreed volume; below 80% of the hospital's own history needs a reason) runs with
the other clocks in the evaluation, and the preview shows it at once.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.catalogue.config import CatalogueConfig
from agent.catalogue.headers import cell, number_of, text_of
from agent.catalogue.importing import DEFAULT_LIMITS, ImportPlan, PreviewRow, data_rows, implausible, row_error
from agent.catalogue.sheets import file_sha256
from agent.catalogue.volumes import _find_product, _unit_factor
from agent.errors import DataError
from agent.store import Store
from agent.store import catalogue as repo
from agent.store.declarations import save_declaration

COLUMNS = ["通用名", "规格", "生产企业", "报量（最小单位）", "上年约定采购量", "说明"]
REQUIRED = ("declared",)


def plan_declared(store: Store, path: Path | str, programme: str, limits: CatalogueConfig = DEFAULT_LIMITS) -> ImportPlan:
    path = Path(path)
    plan = ImportPlan("declared", path, file_sha256(path), COLUMNS, programme=programme)
    with store.read() as conn:
        prog = repo.load_programme(conn, store.hospital_code, programme)
        if prog is None:
            raise DataError(f"programme '{programme}' is not in the store: import its winning products first")
        products = repo.existing_products(conn, store.hospital_code, programme)
    seen: set[str] = set()
    for sheet, h, i, row in data_rows(plan, path, REQUIRED, limits):
        plan.rows_read += 1
        c = h.columns
        fields = {f: text_of(cell(row, c.get(f))) or None
                  for f in ("generic_name", "dosage_form", "spec", "manufacturer", "national_code", "unit")}
        raw = cell(row, c["declared"])
        try:
            qty = number_of(raw)
            if qty < 0:
                raise ValueError("不能为负数")
        except ValueError as exc:
            plan.errors.append(row_error(sheet, i, c["declared"], raw, f"报量{exc}"))
            continue
        if why := implausible(path, "报量", qty, limits.max_volume):
            plan.errors.append(row_error(sheet, i, c["declared"], raw, why))
            continue
        product, why = _find_product(fields, products, prog.kind)
        if product is None:
            col = c.get("national_code") or c.get("generic_name")
            plan.errors.append(row_error(sheet, i, col, fields["national_code"] or fields["generic_name"], why))
            continue
        factor, _unit, why = _unit_factor(fields["unit"] or "", c["declared"].hint, product)
        if factor is None:
            plan.errors.append(row_error(sheet, i, c.get("unit") or c["declared"], fields["unit"] or c["declared"].header, why))
            continue
        if product["product_key"] in seen:
            plan.errors.append(row_error(sheet, i, c["declared"], raw, "同一中选产品重复报量"))
            continue
        seen.add(product["product_key"])
        reason = text_of(cell(row, c.get("reason"))) or None
        smallest = (qty * factor).normalize()
        payload: dict[str, Any] = {"product_key": product["product_key"], "quantity": smallest, "reason": reason,
                                   "source_ref": f"{sheet.name}!{i + 1}"}
        plan.rows.append(PreviewRow(f"{sheet.name}!{i + 1}", [
            product["generic_name"], product["spec"] or "", product["manufacturer"], format(smallest, "f"), "", reason or ""],
            "inserted", payload))
    return plan


def commit_declared(store: Store, plan: ImportPlan, now: datetime) -> int:
    with store.begin() as conn:
        for r in plan.rows:
            save_declaration(conn, store.hospital_code, plan.programme or "", r.payload["product_key"],
                             {"quantity": Decimal(r.payload["quantity"]), "reason": r.payload["reason"],
                              "source_ref": r.payload["source_ref"], "imported_at": now})
    return len(plan.rows)
