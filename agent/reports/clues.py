"""The shortage and misconduct clue report (短缺 / 违约线索) as xlsx, with the plain-text draft
beside it: one sheet of clues per supplier and month for the bureau, and a separate internal
sheet (内部) of prescriber concentration findings that is never sent upstream."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from agent.domain.clues import CLUE_TYPES, ClueReport, clue_text
from agent.reports.tables import notes, table

CLUE_SHEET = "短缺违约线索"
INTERNAL_SHEET = "内部-处方集中（不上报）"
CLUE_COLUMNS = [
    ("月份", None), ("企业名称", None), ("企业类型", None), ("线索类型", None), ("产品", None), ("发生时间", None),
    ("证据（订单/入库行、日期、数量、价格）", None), ("单据编号", None), ("来源", None), ("登记人", None),
]
INTERNAL_COLUMNS = [
    ("月份", None), ("分组", None), ("医生（HIS工号）", None), ("科室", None), ("非中选占比", "0.0%"),
    ("本科室其他医生非中选占比", "0.0%"), ("非中选用量", "#,##0.##"), ("总用量", "#,##0.##"), ("说明", None),
]


def clue_rows(report: ClueReport) -> list[list[object]]:
    return [[report.month, c.supplier, c.role, c.clue_type, c.product, f"{c.occurred_at:%Y-%m-%d %H:%M}" if c.occurred_at else "",
             c.evidence, "、".join(c.refs), c.source, c.recorded_by] for c in report.clues]


def internal_rows(report: ClueReport) -> list[list[object]]:
    return [[report.month, f.labels.get("group", ""), f.values.get("prescriber", ""),
             f.evidence.get("dept_name") or f.evidence.get("dept", ""), f.values.get("prescriber_share"),
             f.values.get("dept_share"), f.evidence.get("non_winning"), f.evidence.get("total"), f.title]
            for f in report.internal]


def write_clues(report: ClueReport, path: Path | str) -> tuple[Path, Path]:
    """Write the xlsx and the .txt draft beside it; returns both paths."""
    path = Path(path)
    wb = Workbook()
    ws = wb.active
    ws.title = CLUE_SHEET
    rows = clue_rows(report)
    table(ws, CLUE_COLUMNS, rows)
    notes(ws, ["说明", f"线索类型：{'、'.join(CLUE_TYPES)}。",
               "不响应采购订单：订单超过响应时限未响应（含升级）；未按合同及时供应：超过配送时限未到货或短送；"
               "高于挂网价线下供应：线下采购单价高于该产品挂网价。以上由时限监测生成，其余由工作人员登记。"],
          len(rows) + 3)
    internal = wb.create_sheet(INTERNAL_SHEET)
    internal_table = internal_rows(report)
    table(internal, INTERNAL_COLUMNS, internal_table)
    notes(internal, ["内部资料，仅供药学部、医务部核查，不随线索报告上报"], len(internal_table) + 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    text = path.with_suffix(".txt")
    text.write_text(clue_text(report), encoding="utf-8")
    return path, text
