"""Importing agreed volumes (约定采购量 / 协议采购量) for one agreement year of a programme.

Each row is matched to one of the programme's winning products (by national code, else by generic
group, strength and manufacturer). Quantities in packs (盒) are converted to the smallest unit with
the product's pack size, and the preview shows the conversion: ``20 盒 × 28 = 560 片``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.catalogue.config import CatalogueConfig
from agent.catalogue.headers import Header, cell, number_and_unit, text_of, unit_kind
from agent.catalogue.importing import (
    DEFAULT_LIMITS,
    ImportPlan,
    PreviewRow,
    RowError,
    data_rows,
    implausible,
    row_error,
)
from agent.catalogue.sheets import Sheet, file_sha256
from agent.domain.catalogue import Kind, group_key, normal_code
from agent.domain.consumables import normal_registration
from agent.domain.normalise import compact, manufacturer_similarity
from agent.domain.spec import parse_spec, strength_similarity
from agent.errors import DataError
from agent.store import Store, Tx
from agent.store import catalogue as repo

COLUMNS = ["通用名", "规格", "生产企业", "医保代码", "原始数量", "换算", "约定采购量（最小单位）", "提示"]
REQUIRED = ("quantity",)


def _find_product(row: dict[str, str | None], products: dict[str, dict[str, Any]], kind: str) -> tuple[dict | None, str]:
    code = normal_code(row["national_code"])
    if code:
        hit = [p for p in products.values() if p["national_code"] == code]
        if hit:
            return hit[0], ""
    reg = normal_registration(row.get("registration_no"))
    if reg and kind == Kind.CONSUMABLE:  # a consumable: its 注册证号, and its 规格型号 when one registration has several
        same = [p for p in products.values() if normal_registration(p.get("registration_no")) == reg]
        if len(same) > 1 and row["spec"]:
            same = [p for p in same if compact(p["spec"]) == compact(row["spec"])]
        if len(same) == 1:
            return same[0], ""
        if same:
            return None, "同一注册证号对应多个中选产品，请补充规格型号或医保耗材代码"
    if not row["generic_name"]:
        return None, "既无匹配的医保代码，也无通用名"
    if kind == Kind.CONSUMABLE:  # no code, no registration: the name, spec/model and maker must all agree
        hits = [p for p in products.values() if compact(p["generic_name"]) == compact(row["generic_name"])
                and (not row["spec"] or compact(p["spec"]) == compact(row["spec"]))
                and (not row["manufacturer"] or manufacturer_similarity(row["manufacturer"], p["manufacturer"]) >= 0.9)]
        if len(hits) == 1:
            return hits[0], ""
        return None, "对应多个中选产品，请补充规格型号、注册证号或医保耗材代码" if hits else "在本批次中选产品中找不到对应产品"
    key = group_key(kind, row["generic_name"], row["dosage_form"])
    spec = parse_spec(row["spec"])
    hits = [p for p in products.values() if p["group_key"] == key
            and strength_similarity(spec, parse_spec(p["spec"])) >= (1.0 if row["spec"] else 0.5)
            and (not row["manufacturer"] or manufacturer_similarity(row["manufacturer"], p["manufacturer"]) >= 0.9)]
    if len(hits) == 1:
        return hits[0], ""
    return None, "对应多个中选产品，请补充规格、生产企业或医保代码" if hits else "在本批次中选产品中找不到对应产品"


def _unit_factor(unit: str, hint: str, product: dict[str, Any]) -> tuple[Decimal | None, str, str]:
    """(factor, unit written, reason when unknown). The row's own unit (its cell or the unit column)
    wins over the header's words."""
    smallest = product["smallest_unit"] or ""
    u = unit or hint
    kind = unit_kind(u, smallest)
    if kind == "smallest":
        return Decimal(1), smallest or u, ""
    if kind == "pack":
        pack = product["pack"]
        if pack is None:
            return None, u, f"数量以“{u}”计，但中选产品没有包装数量，无法换算为最小单位"
        return Decimal(pack).normalize(), u, ""
    return None, u, f"无法识别的单位“{u}”"


def plan_volumes(store: Store, path: Path | str, programme: str, year: int, hospital_names: tuple[str, ...] = (),
                 limits: CatalogueConfig = DEFAULT_LIMITS) -> ImportPlan:
    path = Path(path)
    plan = ImportPlan("volumes", path, file_sha256(path), COLUMNS, programme=programme, year=year)
    hospital = store.hospital_code
    with store.read() as conn:
        prog = repo.load_programme(conn, hospital, programme)
        if prog is None:
            raise DataError(f"programme '{programme}' is not in the store: import its winning products first")
        if year not in {y.number for y in prog.agreement_years()}:
            raise DataError(f"programme '{programme}' has agreement years 1-{len(prog.agreement_years())}, not {year}")
        products = repo.existing_products(conn, hospital, programme)
    seen: dict[str, str] = {}
    for sheet, header, i, row in data_rows(plan, path, REQUIRED, limits):
        if not _ours(row, header, hospital, hospital_names):
            plan.skipped += 1
            continue
        plan.rows_read += 1
        preview, errors = _parse(sheet, i, row, header, products, prog.kind, path, limits)
        if preview is not None and preview.payload["product_key"] in seen:
            errors = [row_error(sheet, i, header.columns.get("quantity"), cell(row, header.columns["quantity"]),
                                f"与{seen[preview.payload['product_key']]}是同一中选产品，重复")]
        if errors:
            plan.errors.extend(errors)
            continue
        assert preview is not None
        seen[preview.payload["product_key"]] = preview.ref
        plan.rows.append(preview)
    with store.read() as conn:
        first = repo.first_year_quantities(conn, hospital, programme) if year > 1 else {}
        for r in plan.rows:
            r.action = _action(conn, hospital, programme, year, r.payload)
            before = first.get(r.payload["product_key"])
            if before is not None and r.payload["quantity"] < before:
                r.cells[-1] = f"低于第1年约定量{format(before, 'f')}"  # 004: a renewed year is not below the first
    return plan


def _ours(row: list[Any], h: Header, hospital: str, names: tuple[str, ...]) -> bool:
    code, name = text_of(cell(row, h.columns.get("hospital_code"))), text_of(cell(row, h.columns.get("hospital_name")))
    if code:
        return compact(code) == compact(hospital)
    if name and names:
        return compact(name) in {compact(n) for n in names}
    return True


def _parse(sheet: Sheet, i: int, row: list[Any], h: Header, products: dict, kind: str, path: Path,
           limits: CatalogueConfig) -> tuple[PreviewRow | None, list[RowError]]:
    c = h.columns
    fields = {f: text_of(cell(row, c.get(f))) or None for f in ("generic_name", "dosage_form", "spec", "manufacturer", "national_code", "unit",
                                                            "registration_no", "model")}
    if fields["model"] and fields["model"] != fields["spec"]:
        fields["spec"] = " ".join(x for x in (fields["spec"], fields["model"]) if x)
    raw = cell(row, c["quantity"])
    try:
        qty, written = number_and_unit(raw)  # 1200盒: the unit written in the cell
    except ValueError as exc:
        return None, [row_error(sheet, i, c["quantity"], raw, f"约定采购量{exc}")]
    if qty < 0:
        return None, [row_error(sheet, i, c["quantity"], raw, "约定采购量不能为负数")]
    if why := implausible(path, "约定采购量", qty, limits.max_volume):
        return None, [row_error(sheet, i, c["quantity"], raw, why)]
    product, why = _find_product(fields, products, kind)
    if product is None:
        col = c.get("national_code") or c.get("generic_name")
        return None, [row_error(sheet, i, col, fields["national_code"] or fields["generic_name"], why)]
    factor, unit, why = _unit_factor(written or fields["unit"] or "", c["quantity"].hint, product)
    if factor is None:
        return None, [row_error(sheet, i, c.get("unit") or c["quantity"], fields["unit"] or c["quantity"].header, why)]
    smallest = (qty * factor).normalize()
    if why := implausible(path, "约定采购量（最小单位）", smallest, limits.max_volume):
        return None, [row_error(sheet, i, c["quantity"], raw, why)]
    q = format(qty.normalize(), "f")
    shown = f"{q} {unit} × {format(factor, 'f')} = {format(smallest, 'f')} {product['smallest_unit'] or ''}" if factor != 1 else "—"
    payload = {"product_key": product["product_key"], "quantity": smallest, "source_quantity": qty,
               "source_unit": unit or None, "factor": factor, "source_ref": f"{sheet.name}!{i + 1}"}
    cells = [product["generic_name"], product["spec"] or "", product["manufacturer"], product["national_code"] or "",
             f"{q} {unit}".strip(), shown, format(smallest, "f"), ""]
    return PreviewRow(f"{sheet.name}!{i + 1}", cells, "", payload), []


def _action(conn: Tx, hospital: str, programme: str, year: int, payload: dict[str, Any]) -> str:
    old = repo.agreed_volume(conn, hospital, programme, year, payload["product_key"])
    if old is None:
        return "inserted"
    keys = ("quantity", "source_quantity", "source_unit", "factor")
    return "unchanged" if repo.same(old, {k: payload[k] for k in keys}) else "updated"


def commit_volumes(store: Store, plan: ImportPlan, now: datetime) -> dict[str, int]:
    hospital = store.hospital_code
    with store.begin() as conn:
        import_id = repo.record_import(conn, hospital, what="volumes", file_name=plan.path.name, sha256=plan.sha256,
                                       now=now, programme=plan.programme, year=plan.year, rows_read=plan.rows_read,
                                       errors=[e.as_dict() for e in plan.errors])
        counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        for r in plan.rows:
            values = {k: v for k, v in r.payload.items() if k != "product_key"}
            values["import_id"] = import_id
            counts[repo.upsert_volume(conn, hospital, plan.programme or "", plan.year or 0, r.payload["product_key"],
                                      values, now)] += 1
        repo.finish_import(conn, import_id, counts)
    return counts


__all__ = ["Kind", "commit_volumes", "plan_volumes"]
