"""The pharmacist's 对码 review workbook: export with ranked candidates and reasons, import decisions.

Sheet 对码审核 has one row per local item (to-review first): the item, the proposal with its group
(建议分组) and reasons, up to three candidates with their groups and reasons, and the columns to
fill: 审核结论 and 换算系数 (smallest units per HIS unit); 建议分组 may be edited too. 审核结论 reads:

- 候选1 / 候选2 / 候选3, or 中选 (the proposed product) / 中选 候选2: a winning product, in its group;
- 非中选: a non-winning item of 建议分组 (as edited) or candidate 1's group; 非中选 候选2: of candidate
  2's group; 非中选 阿托伐他汀钙片 (or 阿托伐他汀钙 片, 阿托伐他汀|片): of the group typed as 通用名+剂型;
- 无关: not in any group (非集采品种); or a winning product's key / national code.

A blank 审核结论 with an edited 建议分组 puts the item in that group (non-winning unless its proposed
product is in it). Sheet 集采分组 lists the groups one can type. A row whose columns are unchanged is
left alone on import; every decision read is kept across re-runs of ``map run``.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from agent.catalogue.headers import number_of, text_of
from agent.catalogue.sheets import file_sha256
from agent.domain.catalogue import group_key
from agent.errors import DataError
from agent.store import Store, mappings
from agent.store import catalogue as repo

SHEET = "对码审核"
STATUS_ZH = {"auto": "自动对码", "review": "待审核", "none": "非集采品种", "reviewed": "已审核", "manual": "人工对码"}
HEADERS = ["院内编码", "院内名称", "规格", "生产企业", "HIS单位", "状态", "置信度", "对码依据", "建议中选产品",
           "建议分组", "候选1", "候选1说明", "候选2", "候选2说明", "候选3", "候选3说明", "审核结论", "换算系数"]
WIDTHS = [12, 28, 18, 24, 8, 10, 8, 50, 26, 18, 26, 50, 26, 50, 26, 50, 16, 10]
ORDER = {"review": 0, "none": 1, "auto": 2, "manual": 3, "reviewed": 3}
DECISION, FACTOR, GROUP = HEADERS.index("审核结论"), HEADERS.index("换算系数"), HEADERS.index("建议分组")
GROUPS_SHEET = "集采分组"
_SPLIT = re.compile(r"[\s\u3000:：,，/]+")


def export_review(store: Store, path: Path | str) -> int:
    """Write the workbook; returns the number of item rows."""
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    hospital = store.hospital_code
    with store.read() as conn:
        rows = mappings.mapping_rows(conn, hospital)
        products = repo.product_groups(conn, hospital)
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
            cells += [c["product_key"] if c else None,
                      f"分组 {c['group_key']}；" + "；".join(c["reasons"]) + f"（{c['score']:.2f}）" if c else None]
        decided = r["status"] in ("reviewed", "manual")
        cells += [_exported_decision(r) if decided else None,
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
    for line in ("审核结论填写：候选1/候选2/候选3 = 该候选中选产品；中选 = 建议中选产品；中选 候选2 = 候选2的中选产品。",
                 "非中选 = 同通用名剂型的非中选产品，归入“建议分组”（可直接修改该列）或候选1的分组；",
                 "非中选 候选2 = 归入候选2的分组；非中选 阿托伐他汀钙片（或 阿托伐他汀钙 片）= 归入所填通用名+剂型的分组，"
                 "可选分组见“集采分组”表。",
                 "无关 = 非集采品种；也可直接填写中选产品的医保代码。审核结论留空且未改“建议分组”表示暂不审核。",
                 "审核结论在重新对码（map run）后保留。",
                 "换算系数：一个HIS单位含多少最小制剂单位（如1盒28片填28）；不确定请留空，系统不会猜测。"):
        note.append([line])
    note.column_dimensions["A"].width = 120
    listing = wb.create_sheet(GROUPS_SHEET)
    listing.append(["分组", "中选产品数"])
    per_group: dict[str, int] = {}
    for g in products.values():
        per_group[g] = per_group.get(g, 0) + 1
    for g in sorted(per_group):
        listing.append([g, per_group[g]])
    listing.column_dimensions["A"].width = 30
    wb.save(path)
    return len(rows)


def _exported_decision(row: dict[str, Any]) -> str:
    """How a decided row's 审核结论 is written out (and read back as no change)."""
    return row["product_key"] or ("非中选" if row["group_key"] else "无关")


def _decision(text: str, row: dict[str, Any], keys: dict[str, str],
              edited_group: str | None) -> tuple[str | None, str | None] | str:
    """(product_key, group_key), or a reason (Chinese) when the decision cannot be read."""
    cands = list(row["candidates"] or [])
    words = [w for w in _SPLIT.split(text.strip()) if w]
    head, rest = (words[0], "".join(words[1:])) if words else ("", "")
    if head in ("候选1", "候选2", "候选3", "1", "2", "3") and not rest:
        head, rest = "中选", head
    if head == "中选":
        if not rest:
            if row["product_key"]:
                return row["product_key"], keys.get(row["product_key"], row["group_key"])
            rest = "候选1"
        cand = _candidate(rest, cands)
        return cand if isinstance(cand, str) else (cand["product_key"], cand["group_key"])
    if head == "非中选":
        if not rest:
            group = edited_group or row["group_key"] or (cands[0]["group_key"] if cands else None)
            return (None, group) if group else "非中选需要一个分组：请在“建议分组”填写，或写 非中选 候选N / 非中选 通用名+剂型"
        if rest.startswith("候选") or rest.isdigit():
            cand = _candidate(rest, cands)
            return cand if isinstance(cand, str) else (None, cand["group_key"])
        typed = typed_group(rest, set(keys.values()))
        return (None, typed) if typed else f"“{rest}”不是已知的集采分组（通用名+剂型，见“集采分组”表）"
    if head == "无关" and not rest:
        return None, None
    t = text.replace(" ", "")
    key = t.upper() if t.upper() in keys else t
    if key in keys:
        return key, keys[key]
    return f"“{text}”不是候选1/候选2/候选3/中选/非中选/无关，也不是已知的中选产品代码"


def _candidate(text: str, cands: list[dict[str, Any]]) -> dict[str, Any] | str:
    n = text.removeprefix("候选")
    if not n.isdigit() or not 1 <= int(n) <= 3:
        return f"“{text}”不是候选1/候选2/候选3"
    if int(n) > len(cands):
        return f"没有候选{n}"
    return cands[int(n) - 1]


def typed_group(text: str, groups: set[str]) -> str | None:
    """A group typed as 通用名+剂型 (阿托伐他汀钙片, 阿托伐他汀钙 片, 阿托伐他汀|片剂), if it is a known group."""
    t = text.strip()
    if t in groups:
        return t
    words = [w for w in re.split(r"[\s\u3000|｜+＋]+", t) if w]
    if not words:
        return None
    key = group_key("drug", words[0], words[1] if len(words) > 1 else None)
    if key in groups:
        return key
    key = group_key("drug", "".join(words), None)
    return key if key in groups else None


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
            done = apply_decision(conn, hospital, row, keys, text_of(values[DECISION]), text_of(values[GROUP]),
                                  values[FACTOR], now, by)
            if isinstance(done, str):
                errors.append(f"第{n}行 {done}")
            applied += done is True
        import_id = repo.record_import(conn, hospital, what="review", file_name=path.name, sha256=file_sha256(path),
                                       now=now, rows_read=ws.max_row - 1, errors=[{"reason": e} for e in errors])
        repo.finish_import(conn, import_id, {"updated": applied})
    return {"applied": applied, "errors": errors}


def decide_item(store: Store, item_code: str, decision: str, group: str, factor: Any, now: datetime, by: str) -> bool:
    """One item's review decision, read as the workbook's 审核结论 / 建议分组 / 换算系数 cells are (the
    console's 对码审核). True when it changed the mapping; DataError naming the column and why."""
    hospital = store.hospital_code
    with store.begin() as conn:
        row = mappings.mapping_row(conn, hospital, item_code)
        if row is None:
            raise DataError(f"没有院内编码为“{item_code}”的对码记录")
        done = apply_decision(conn, hospital, row, repo.product_groups(conn, hospital), decision.strip(), group.strip(),
                              factor, now, by)
    if isinstance(done, str):
        raise DataError(done)
    return done


def apply_decision(conn: Any, hospital: str, row: dict[str, Any], keys: dict[str, str], decision: str, group_cell: str,
                   raw_factor: Any, now: datetime, by: str) -> bool | str:
    """Apply one row's 审核结论, 建议分组 and 换算系数 to its mapping: True when applied, False when
    nothing changed, else the reason it was not (Chinese, naming the column)."""
    edited = None
    if group_cell and group_cell != (row["group_key"] or ""):
        edited = typed_group(group_cell, set(keys.values()))
        if edited is None:
            return f"建议分组：“{group_cell}”不是已知的集采分组（通用名+剂型，见“集采分组”表）"
    factor = _factor(raw_factor)
    if isinstance(factor, str):
        return f"换算系数“{raw_factor}”：{factor}"
    old_factor = None if row["factor"] is None else Decimal(row["factor"]).normalize()
    decided = row["status"] in ("reviewed", "manual")
    exported = _exported_decision(row) if decided else None
    if edited and (not decision or decision == exported):  # only the group was changed
        decision = "中选" if row["product_key"] and keys.get(row["product_key"]) == edited else "非中选"
    if not decision and (factor == old_factor or factor is None):
        return False
    values_out: dict[str, Any] = {"factor": factor, "factor_source": "review" if factor is not None else None}
    if decision:
        got = _decision(decision, row, keys, edited)
        if isinstance(got, str):
            return f"审核结论：{got}"
        values_out.update(product_key=got[0], group_key=got[1])
    elif not decided:
        values_out.update(product_key=row["product_key"], group_key=row["group_key"])
    same = (values_out.get("product_key", row["product_key"]) == row["product_key"]
            and values_out.get("group_key", row["group_key"]) == row["group_key"] and factor == old_factor)
    if same and decided:
        return False
    values_out.update(status="reviewed", decided_by=by, decided_at=now, updated_at=now, confidence=1.0)
    mappings.update_mapping(conn, hospital, row["item_code"], values_out)
    return True


def _factor(raw: Any) -> Decimal | None | str:
    if raw is None or text_of(raw) == "":
        return None
    try:
        value = number_of(raw)
    except (ValueError, InvalidOperation) as exc:
        return str(exc)
    return value.normalize() if value > 0 else "必须大于0"
