"""The group's monthly side-by-side (集团汇总): one row per hospital and programme, for the group's pharmacy
director; from the figures each hospital's agent recorded in the shared store."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from agent.reports.tables import PCT, table
from agent.store.group import Snapshot

GROUP_SUMMARY_COLUMNS = [
    ("医院编码", None), ("医院名称", None), ("批次名称", None), ("统计截至", None), ("序时进度", PCT),
    ("总体完成进度", PCT), ("签约产品总数", None), ("零采购产品数", None), ("低于序时进度产品数", None),
    ("超量采购产品数", None), ("正常采购产品数", None), ("采购非中选产品数", None), ("中选产品金额占比", PCT),
]


def rows(snapshots: list[Snapshot]) -> list[list[object]]:
    out: list[list[object]] = []
    for s in snapshots:
        f = s.figures
        money = float(f.get("winning_amount", 0)) + float(f.get("non_winning_amount", 0))
        out.append([s.hospital_code, s.hospital_name, s.programme, s.day.isoformat(), f.get("time_progress"),
                    f.get("completion"), f.get("signed"), f.get("zero"), f.get("behind"), f.get("over"),
                    f.get("normal"), f.get("non_winning_used"),
                    (float(f.get("winning_amount", 0)) / money) if money else None])
    return out


def write_group(month: str, snapshots: list[Snapshot], path: Path | str, stale: list[str]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "集团汇总"
    hospitals = len({s.hospital_code for s in snapshots})
    ws.cell(1, 1, f"集团带量执行汇总 {month}（{hospitals} 家医院）").font = Font(bold=True, size=14)
    note = "各医院数据为其 vbp-agent 记录的最近一日（本月内）；完成进度按使用量计"
    if stale:
        note += f"；以下医院数据已超过 2 天未更新：{'、'.join(stale)}"
    ws.cell(2, 1, note)
    table(ws, GROUP_SUMMARY_COLUMNS, rows(snapshots), first_row=3)
    path = Path(path)
    wb.save(path)
    return path
