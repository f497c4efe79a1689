"""The pharmacist's 对码 review workbook: export with ranked candidates and reasons, import decisions.

Sheet 对码审核 has one row per local item (to-review first): the item, the proposal, up to three
candidates with their reasons, and two columns to fill: 审核结论 (候选1 / 候选2 / 候选3, 非中选,
无关, or a product key / national code) and 换算系数 (smallest units per HIS unit). Frozen header,
filters, column widths. A row whose two columns are unchanged is left alone on import.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from agent.catalogue.headers import number_of, text_of
from agent.catalogue.sheets import file_sha256
from agent.errors import DataError
from agent.store import Store, mappings
from agent.store import catalogue as repo

SHEET = "对码审核"
STATUS_ZH = {"auto": "自动对码", "review": "待审核", "none": "非集采品种", "reviewed": "已审核", "manual": "人工对码"}
HEADERS = ["院内编码", "院内名称", "规格", "生产企业", "HIS单位", "状态", "置信度", "对码依据", "建议中选产品",
           "建议分组", "候选1", "候选1说明", "候选2", "候选2说明", "候选3", "候选3说明", "审核结论", "换算系数"]
WIDTHS = [12, 28, 18, 24, 8, 10, 8, 50, 26, 18, 26, 50, 26, 50, 26, 50, 16, 10]
ORDER = {"review": 0, "none": 1, "auto": 2, "manual": 3, "reviewed": 3}
DECISION, FACTOR = HEADERS.index("审核结论"), HEADERS.index("换算系数")


def export_review(store: Store, path: Path | str) -> int:
    """Write the workbook; returns the number of item rows."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    hospital = store.hospital_code
    with store.read() as conn:
        rows = mappings.mapping_rows(conn, hospital)
    if not rows:
        raise DataError("no local item has been mapped yet: run `vbp-agent map run` first; nothing was written")
    rows.sort(key=lambda r: (ORDER.get(r["status"], 9), r["item_code"]))
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(HEADERS)
    for r in rows:
        item = r["item"] or {}
        cands = list(r["candidates"] or [])[:3]
        cells: list[Any] = [r["item_code"], r["item_name"], item.get("spec"), item.get("manufacturer"),
                            item.get("his_unit"), STATUS_ZH.get(r["status"], r["status"]), r["confidence"], r["reason"],
                            r["product_key"], r["group_key"]]
        for i in range(3):
            c = cands[i] if i < len(cands) else None
            cells += [c["product_key"] if c else None, ("；".join(c["reasons"]) + f"（{c['score']:.2f}）") if c else None]
        decided = r["status"] in ("reviewed", "manual")
        cells += [(r["product_key"] or ("非中选" if r["group_key"] else "无关")) if decided else None,
                  None if r["factor"] is None else float(Decimal(r["factor"]).normalize())]
        ws.append(cells)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="FFF2CC")
    for j, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
        ws.cell(1, j).font = bold
        ws.cell(1, j).alignment = Alignment(wrap_text=True, vertical="center")
    for j in (DECISION + 1, FACTOR + 1):
        ws.cell(1, j).fill = fill
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{max(1, ws.max_row)}"
    note = wb.create_sheet("填写说明")
    for line in ("审核结论填写：候选1/候选2/候选3 选择对应候选；非中选 = 同通用名剂型但非中选产品（归入建议分组或候选1的分组）；",
                 "无关 = 非集采品种；也可直接填写中选产品的医保代码。留空表示暂不审核。",
                 "换算系数：一个HIS单位含多少最小制剂单位（如1盒28片填28）；不确定请留空，系统不会猜测。"):
        note.append([line])
    note.column_dimensions["A"].width = 120
    wb.save(path)
    return len(rows)


def _decision(text: str, row: dict[str, Any], keys: dict[str, str]) -> tuple[str | None, str | None] | str:
    """(product_key, group_key), or a reason (Chinese) when the decision cannot be read."""
    cands = list(row["candidates"] or [])
    t = text.replace(" ", "")
    if t in ("候选1", "候选2", "候选3", "1", "2", "3"):
        n = int(t[-1]) - 1
        if n >= len(cands):
            return f"没有{t}"
        return cands[n]["product_key"], cands[n]["group_key"]
    if t == "非中选":
        group = row["group_key"] or (cands[0]["group_key"] if cands else None)
        return (None, group) if group else "非中选需要一个分组，但没有候选"
    if t == "无关":
        return None, None
    key = t.upper() if t.upper() in keys else t
    if key in keys:
        return key, keys[key]
    return f"“{text}”不是候选1/候选2/候选3/非中选/无关，也不是已知的中选产品代码"


def import_review(store: Store, path: Path | str, now: datetime, by: str = "review") -> dict[str, Any]:
    """Apply filled-in decisions and factors; returns counts and the rejected rows."""
    import openpyxl

    path = Path(path)
    wb = openpyxl.load_workbook(path, data_only=True)
    if SHEET not in wb.sheetnames:
        raise DataError(f"{path.name}: no sheet named {SHEET}: is this a review workbook exported by vbp-agent?")
    ws = wb[SHEET]
    header = [text_of(c) for c in next(ws.iter_rows(min_row=1, max_row=1, values_only=True))]
    if header[: len(HEADERS)] != HEADERS:
        raise DataError(f"{path.name}: the header row of {SHEET} was changed; export a fresh workbook")
    hospital, applied, errors = store.hospital_code, 0, []
    with store.begin() as conn:
        keys = repo.product_groups(conn, hospital)
        current = {r["item_code"]: r for r in mappings.mapping_rows(conn, hospital)}
        for n, values in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
            code = text_of(values[0])
            row = current.get(code)
            if not code or row is None:
                continue
            decision, raw_factor = text_of(values[DECISION]), values[FACTOR]
            factor = _factor(raw_factor)
            if isinstance(factor, str):
                errors.append(f"第{n}行 换算系数“{raw_factor}”：{factor}")
                continue
            old_factor = None if row["factor"] is None else Decimal(row["factor"]).normalize()
            decided = row["status"] in ("reviewed", "manual")
            if not decision and (factor == old_factor or factor is None):
                continue
            values_out: dict[str, Any] = {"factor": factor, "factor_source": "review" if factor is not None else None}
            if decision:
                got = _decision(decision, row, keys)
                if isinstance(got, str):
                    errors.append(f"第{n}行 审核结论：{got}")
                    continue
                values_out.update(product_key=got[0], group_key=got[1])
            elif not decided:
                values_out.update(product_key=row["product_key"], group_key=row["group_key"])
            same = (values_out.get("product_key", row["product_key"]) == row["product_key"]
                    and values_out.get("group_key", row["group_key"]) == row["group_key"] and factor == old_factor)
            if same and decided:
                continue
            values_out.update(status="reviewed", decided_by=by, decided_at=now, updated_at=now, confidence=1.0)
            mappings.update_mapping(conn, hospital, code, values_out)
            applied += 1
        import_id = repo.record_import(conn, hospital, what="review", file_name=path.name, sha256=file_sha256(path),
                                       now=now, rows_read=ws.max_row - 1, errors=[{"reason": e} for e in errors])
        repo.finish_import(conn, import_id, {"updated": applied})
    return {"applied": applied, "errors": errors}


def _factor(raw: Any) -> Decimal | None | str:
    if raw is None or text_of(raw) == "":
        return None
    try:
        value = number_of(raw)
    except (ValueError, InvalidOperation) as exc:
        return str(exc)
    return value.normalize() if value > 0 else "必须大于0"
