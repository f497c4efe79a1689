"""Importing a programme's winning products (中选产品) from the bureau's spreadsheet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agent.catalogue.config import CatalogueConfig
from agent.catalogue.headers import Column, Header, cell, number_and_unit, number_of, text_of, unit_kind
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
from agent.domain.catalogue import (
    Kind,
    Programme,
    WinningProduct,
    national_code_problem,
    normal_code,
)
from agent.domain.consumables import normal_registration
from agent.domain.normalise import parse_generic
from agent.domain.spec import parse_spec
from agent.errors import DataError
from agent.store import Store
from agent.store import catalogue as repo

COLUMNS = ["通用名", "剂型", "规格", "包装数量", "最小单位", "生产企业", "医保代码", "中选价格", "注册证号"]
REQUIRED = ("generic_name", "manufacturer")


def parse_row(sheet: Sheet, i: int, row: list[Any], h: Header, kind: Kind, path: Path = Path("-"),
              limits: CatalogueConfig = DEFAULT_LIMITS) -> tuple[WinningProduct | None, list[RowError]]:
    c = h.columns
    errors: list[RowError] = []

    def text(field: str) -> str | None:
        return text_of(cell(row, c.get(field))) or None

    def number(field: str) -> Decimal | None:
        raw = cell(row, c.get(field))
        if raw is None or text_of(raw) == "":
            return None
        try:
            value = number_of(raw)
        except ValueError as exc:
            errors.append(row_error(sheet, i, c.get(field), raw, f"{exc}"))
            return None
        if value < 0:
            errors.append(row_error(sheet, i, c.get(field), raw, "不能为负数"))
        return value

    generic, maker, spec = text("generic_name"), text("manufacturer"), text("spec")
    if text("model") and text("model") != spec:  # 规格 and 型号 in two columns: one spec/model (规格型号)
        spec = " ".join(x for x in (spec, text("model")) if x)
    if not generic:
        errors.append(row_error(sheet, i, c.get("generic_name"), None, "通用名为空"))
    if not maker:
        errors.append(row_error(sheet, i, c.get("manufacturer"), None, "生产企业为空"))
    if kind == Kind.DRUG and not spec:
        errors.append(row_error(sheet, i, c.get("spec"), None, "规格为空"))
    code = normal_code(text("national_code"))
    if code and (problem := national_code_problem(code, kind)):
        errors.append(row_error(sheet, i, c.get("national_code"), cell(row, c.get("national_code")), problem))
    price, pack = number("price"), number("pack")
    parsed = parse_spec(spec) if kind == Kind.DRUG else parse_spec(None)
    if kind == Kind.CONSUMABLE and pack is None:
        pack = Decimal(1)  # a consumable is bought and used by the piece (个/套/支): its price and volume count pieces
    if price is not None:  # 中选价格 is per pack; a price per smallest unit (0.43元/片) is made one with the pack
        price = _per_pack(price, cell(row, c.get("price")), c["price"].hint, pack if pack is not None else parsed.per_pack,
                          text("smallest_unit") or parsed.dose_unit or "", lambda why: errors.append(
                              row_error(sheet, i, c.get("price"), cell(row, c.get("price")), why)))
    for field, what, value, limit in (("price", "中选价格", price, limits.max_price),
                                      ("pack", "包装数量", pack, limits.max_pack)):
        if why := implausible(path, what, value, limit):
            errors.append(row_error(sheet, i, c.get(field), cell(row, c.get(field)), why))
    if errors or not generic or not maker:
        return None, errors
    form = text("dosage_form") or (parse_generic(generic).form if kind == Kind.DRUG else None)
    smallest = text("smallest_unit") or parsed.dose_unit
    if kind == Kind.CONSUMABLE and not smallest:
        smallest = text("unit") or _unit_in(c.get("price")) or _unit_in(c.get("quantity"))
    return WinningProduct(
        generic_name=generic, dosage_form=form, spec=spec, manufacturer=maker, kind=kind,
        pack=pack if pack is not None else parsed.per_pack, smallest_unit=smallest,
        national_code=code, price=price, category=text("category"),
        registration_no=normal_registration(text("registration_no")) or None if kind == Kind.CONSUMABLE else None,
    ), []


def _unit_in(col: Column | None) -> str | None:
    """The piece a consumable sheet counts in, from a header such as 中选价（元/个） or 约定采购量（套）."""
    hint = (col.hint if col else "").removeprefix("元").lstrip("/／每")
    return hint if hint in ("个", "套", "支", "根", "片", "条", "只", "块", "副", "台", "把", "盒") else None


def _per_pack(price: Decimal, raw: Any, hint: str, pack: Decimal | None, smallest: str,
              problem: Callable[[str], None]) -> Decimal | None:
    """The price per pack: as written when the cell or header names no unit or a pack (12.00 元/盒),
    times the pack when it names the smallest unit (0.43 元/片); never guessed."""
    unit = number_and_unit(raw)[1] if not isinstance(raw, (int, float)) else ""
    unit = unit or hint.removeprefix("元").lstrip("/／每")
    kind = unit_kind(unit, smallest) if unit else "pack"
    if kind == "pack":
        return price
    if kind is None:
        problem(f"无法识别的价格单位“{unit}”")
        return None
    if pack is None:
        problem(f"中选价格按“{unit}”计，但没有包装数量，无法换算为每包装价格")
        return None
    return price * pack


def plan_winners(store: Store, path: Path | str, programme: str, kind: Kind, replace: bool = False,
                 limits: CatalogueConfig = DEFAULT_LIMITS) -> ImportPlan:
    """Read and check the file, compare with the store; writes nothing.

    ``replace``: the file is the programme's whole list, so products it no longer lists (a
    corrected spec changes a product's key) are removed on commit, with their agreed volumes.
    """
    path = Path(path)
    plan = ImportPlan("winners", path, file_sha256(path), COLUMNS, programme=programme, replace=replace)
    seen: dict[str, str] = {}
    with store.read() as conn:
        old = repo.existing_products(conn, store.hospital_code, programme)
    for sheet, header, i, row in data_rows(plan, path, REQUIRED, limits):
        plan.rows_read += 1
        product, errors = parse_row(sheet, i, row, header, kind, path, limits)
        ref = f"{sheet.name}!{i + 1}"
        if product is not None and product.product_key in seen:
            errors = [row_error(sheet, i, header.columns.get("generic_name"), product.generic_name,
                                f"与{seen[product.product_key]}重复（同一中选产品）")]
        if errors:
            plan.errors.extend(errors)
            continue
        assert product is not None
        seen[product.product_key] = ref
        before = old.get(product.product_key)
        action = "inserted" if before is None else ("unchanged" if repo.same(before, repo.product_values(product)) else "updated")
        plan.rows.append(PreviewRow(ref, _cells(product), action, product))
    plan.unlisted = sorted(set(old) - set(seen))
    return plan


def _cells(p: WinningProduct) -> list[str]:
    def s(v: object) -> str:
        return "" if v is None else (format(v.normalize(), "f") if isinstance(v, Decimal) else str(v))

    return [p.generic_name, s(p.dosage_form), s(p.spec), s(p.pack), s(p.smallest_unit), p.manufacturer,
            s(p.national_code), s(p.price), s(p.registration_no)]


def commit_winners(store: Store, plan: ImportPlan, programme: Programme | None, now: datetime) -> dict[str, int]:
    """Write the planned rows in one transaction; ``programme`` is created or updated first."""
    hospital = store.hospital_code
    with store.begin() as conn:
        if programme is not None:
            repo.save_programme(conn, hospital, programme, now)
        elif repo.load_programme(conn, hospital, plan.programme or "") is None:
            raise DataError(f"programme '{plan.programme}' is new: give its kind, level, --cycle-start and --cycle-end")
        import_id = repo.record_import(conn, hospital, what="winners", file_name=plan.path.name, sha256=plan.sha256,
                                       now=now, programme=plan.programme, rows_read=plan.rows_read,
                                       errors=[e.as_dict() for e in plan.errors])
        old = repo.existing_products(conn, hospital, plan.programme or "")
        counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        for r in plan.rows:
            action = repo.upsert_product(conn, hospital, plan.programme or "", r.payload, r.ref, import_id, now,
                                         old.get(r.payload.product_key))
            counts[action] += 1
        if plan.replace and plan.unlisted:
            counts["removed"] = repo.remove_products(conn, hospital, plan.programme or "", plan.unlisted)
        repo.finish_import(conn, import_id, counts)
    return counts
