"""The regulator's tables as worksheets: column names as the platform prints them.

Shared by the monthly 带量执行报表 and the yearly report. Figures are written as numbers with
number formats (percentages stay fractions), so a reader can recompute them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from agent.domain.departments import DeptProgress
from agent.domain.group_share import GroupShare
from agent.domain.online_rate import KIND_NAMES, OnlineRate
from agent.domain.progress import ProductProgress, Status
from agent.domain.reporting import ProgrammeSummary
from agent.domain.uploads import INTERFACES, PROBLEMS, DayUpload, late_days

PCT, QTY, MONEY = "0.00%", "#,##0.##", "#,##0.00"
_HEAD = Font(bold=True)
_FILL = PatternFill("solid", fgColor="DDEBF7")
_RED = Font(color="C00000")

SUMMARY_COLUMNS = [
    ("批次名称", None), ("开始时间", None), ("结束时间", None), ("序时进度", PCT), ("签约产品总数", None),
    ("零采购产品数", None), ("零采购产品占比", PCT), ("低于序时进度产品数", None), ("低于序时进度产品占比", PCT),
    ("超量采购产品数", None), ("超量采购产品占比", PCT), ("正常采购产品数", None), ("正常采购产品占比", PCT),
    ("总体完成进度", PCT), ("对应非中选产品总数", None), ("采购非中选产品数", None), ("采购非中选产品占比", PCT),
    ("非中选超量产品数", None), ("非中选超量产品占比", PCT), ("非中选超额产品数", None), ("非中选超额产品占比", PCT),
    ("对应可替代产品总数", None), ("采购可替代产品数", None), ("采购可替代产品占比", PCT),
    ("低于序时进度且非中选超量的产品数", None), ("低于序时进度且非中选超量的产品占比", PCT),
    ("非中选采购量", QTY), ("非中选采购金额（元）", MONEY),
]

PRODUCT_COLUMNS = [
    ("批次名称", None), ("产品编码", None), ("通用名", None), ("规格", None), ("生产企业", None),
    ("协议年度开始", None), ("协议年度结束", None), ("中选价格（元）", "0.0000"), ("约定采购量", QTY),
    ("已采购量", QTY), ("已采购金额（元）", MONEY), ("完成进度", PCT),
    ("已验收", QTY), ("验收完成进度", PCT), ("入库单位无法换算（行）", None), ("序时进度", PCT),
    ("低于序时进度数量", QTY), ("剩余约定量", QTY), ("日均需采购量", QTY), ("周均需采购量", QTY),
    ("预计年末完成率", PCT), ("执行状态", None),
]

GROUP_COLUMNS = [
    ("批次名称", None), ("通用名", None), ("中选产品采购量", QTY), ("中选产品采购金额（元）", MONEY),
    ("非中选产品采购量", QTY), ("非中选产品采购金额（元）", MONEY), ("中选产品数量占比", PCT),
    ("中选产品金额占比", PCT), ("对应非中选产品总数", None), ("采购非中选产品数", None),
    ("高价非中选产品", None), ("完成进度", PCT), ("序时进度", PCT),
    ("中选药品使用量占同通用名药品使用量之比（协议年度累计）", PCT),
]


def table(ws: Worksheet, columns: Sequence[tuple[str, str | None]], rows: Sequence[Sequence[Any]], first_row: int = 1) -> None:
    for j, (name, _fmt) in enumerate(columns, start=1):
        cell = ws.cell(first_row, j, name)
        cell.font, cell.fill = _HEAD, _FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[cell.column_letter].width = max(10, min(2 * len(name) + 2, 28))
    for i, row in enumerate(rows, start=first_row + 1):
        for j, ((_name, fmt), value) in enumerate(zip(columns, row, strict=False), start=1):
            cell = ws.cell(i, j, value)
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            elif fmt and isinstance(value, (int, float)):
                cell.number_format = fmt
    ws.freeze_panes = ws.cell(first_row + 1, 2)


ONLINE_RATE_COLUMNS = [
    ("类别", None), ("统计期间", None), ("开始日期", None), ("截至日期", None), ("平台采购金额（元）", MONEY),
    ("验收入库总金额（元）", MONEY), ("网采率", PCT), ("要求", PCT), ("是否达标", None),
]


def online_rate_rows(rates: Sequence[OnlineRate]) -> list[list[Any]]:
    """网采率 by amount accepted (验收入库), each kind over the month, agreement years and calendar year."""
    return [[KIND_NAMES.get(r.kind, r.kind), r.period.label, r.period.start, r.period.end, r.on_platform_amount,
             r.total_amount, r.rate, r.floor, "无验收入库" if r.rate is None else "未达标" if r.below else "达标"]
            for r in rates]


def summary_rows(summaries: Sequence[ProgrammeSummary]) -> list[list[Any]]:
    return [[s.programme, s.start, s.end, s.time_progress, s.signed, s.zero, s.share(s.zero), s.behind,
             s.share(s.behind), s.over, s.share(s.over), s.normal, s.share(s.normal), s.completion,
             s.non_winning_total, s.non_winning_used, s.rival_share(s.non_winning_used),
             s.non_winning_over_qty, s.rival_share(s.non_winning_over_qty),
             s.non_winning_over_amount, s.rival_share(s.non_winning_over_amount),
             s.substitutable_total, s.substitutable_used, s.substitutable_share(s.substitutable_used),
             s.behind_with_rival_over, s.share(s.behind_with_rival_over), s.non_winning_qty, s.non_winning_amount]
            for s in summaries]


def notes(ws: Worksheet, lines: Sequence[str], first_row: int) -> None:
    """The definitions under a table, one line a row."""
    for i, line in enumerate(lines, start=first_row):
        ws.cell(i, 1, line).font = Font(bold=(i == first_row), color="595959")


def product_rows(progress: Sequence[ProductProgress]) -> list[list[Any]]:
    """已采购量 / 完成进度 count usage (按使用); 已验收 / 验收完成进度 count on-platform acceptances
    (按验收, as the bureau sees them), empty without warehouse receipts for the product."""
    return [[p.product.programme, p.product.product_id, p.product.name, p.product.spec, p.product.manufacturer,
             p.product.year_start, p.product.year_end, p.product.price, p.product.agreed_qty, p.used, p.used_amount,
             p.completion, *_accepted(p), p.time_progress, max(p.gap, 0.0), p.remaining, p.daily_needed, p.weekly_needed,
             p.projected_completion, p.status.value] for p in progress]


def _accepted(p: ProductProgress) -> list[Any]:
    if p.accepted_completion is None:
        return [None, None, p.accepted_unconvertible or None]
    return [p.accepted, p.accepted_completion, p.accepted_unconvertible or None]


def group_rows(shares: Sequence[GroupShare], progress: Sequence[ProductProgress],
               year_shares: Sequence[GroupShare] = ()) -> list[list[Any]]:
    year = {g.group.group_id: g for g in year_shares}
    rows = []
    for g in shares:
        mine = [p for p in progress if p.product.group_id == g.group.group_id]
        agreed = sum(p.product.agreed_qty for p in mine)
        completion = sum(p.used for p in mine) / agreed if agreed else None
        tp = max((p.time_progress for p in mine), default=None)
        top = "；".join(f"{r.name}（{r.unit_price:.4g}元，{r.qty:g}）" for r in g.top_non_winning)
        ratio = year[g.group.group_id].winning_share_qty if g.group.group_id in year else g.winning_share_qty
        rows.append([g.group.programme, g.group.name, g.winning_qty, g.winning_amount, g.non_winning_qty,
                     g.non_winning_amount, g.winning_share_qty, g.winning_share_amount, g.non_winning_items,
                     g.non_winning_used, top, completion, tp, ratio])
    return rows


DEPT_COLUMNS = [
    ("批次名称", None), ("产品编码", None), ("通用名", None), ("协议年度开始", None), ("科室编码", None),
    ("科室名称", None), ("科室分配量", QTY), ("科室已使用量", QTY), ("科室完成进度", PCT), ("序时进度", PCT),
    ("低于序时进度数量", QTY), ("科室执行状态", None),
]


def dept_rows(rows: Sequence[DeptProgress], names: dict[str, str]) -> list[list[Any]]:
    """科室分配: each department of a confirmed split against its share (红色: 远低于序时进度)."""
    out = []
    for r in rows:
        prod = r.progress.product
        state = "远低于序时进度" if r.far_behind() else "低于序时进度" if r.gap > 0 else "正常"
        out.append([prod.programme, prod.product_id, prod.name, prod.year_start, r.dept, names.get(r.dept, ""),
                    r.allocated, r.used, r.completion, r.progress.time_progress, max(r.gap, 0.0), state])
    return out


UPLOAD_COLUMNS = [("业务日期", None), ("接口", None), ("状态", None), ("截止时间", None), ("上传时间", None),
                  ("行数", None), ("错误信息", None)]


def insurance_rows(days: Sequence[DayUpload]) -> list[list[Any]]:
    """The days not uploaded on time (迟报, 上传失败, 未上传), then a count per interface."""
    problems = [d for d in days if d.status in PROBLEMS]
    rows: list[list[Any]] = [[d.day, f"{d.interface} {INTERFACES.get(d.interface, '')}", d.status_zh,
                              d.deadline.strftime("%Y-%m-%d %H:%M"),
                              d.uploaded_at.astimezone(d.deadline.tzinfo).strftime("%Y-%m-%d %H:%M") if d.uploaded_at else None,
                              d.lines or None, d.message] for d in problems]
    return rows


def insurance_counts(days: Sequence[DayUpload]) -> list[list[Any]]:
    counts = late_days(days)
    watched: dict[str, int] = {}
    for d in days:
        watched[d.interface] = watched.get(d.interface, 0) + 1
    return [[f"{i} {INTERFACES.get(i, '')}", watched[i], counts.get(i, 0)] for i in sorted(watched)]


def mark_far_behind(ws: Worksheet, first_row: int = 2) -> None:
    for row in ws.iter_rows(min_row=first_row):
        if row[len(DEPT_COLUMNS) - 1].value == "远低于序时进度":
            for cell in row:
                cell.font = _RED


def mark_statuses(ws: Worksheet, first_row: int = 2) -> None:
    """Red where time progress runs ahead of completion (低于序时进度 / 零采购)."""
    status_col = len(PRODUCT_COLUMNS)
    for row in ws.iter_rows(min_row=first_row):
        if row[status_col - 1].value in (Status.BEHIND.value, Status.ZERO.value):
            for cell in row:
                cell.font = _RED


def completion_chart(wb: Workbook, summaries: Sequence[ProgrammeSummary], title: str) -> Worksheet:
    """完成进度 against 序时进度 per programme, as a clustered bar chart."""
    ws = wb.create_sheet("图表")
    table(ws, [("批次名称", None), ("总体完成进度", PCT), ("序时进度", PCT)],
          [[s.programme, s.completion, s.time_progress] for s in summaries])
    chart = BarChart()
    chart.type, chart.title = "bar", title
    chart.y_axis.title, chart.y_axis.number_format = "进度", "0%"
    chart.add_data(Reference(ws, min_col=2, max_col=3, min_row=1, max_row=len(summaries) + 1), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(summaries) + 1))
    chart.height, chart.width = max(7.5, 1.2 * len(summaries) + 4), 18
    ws.add_chart(chart, "E2")
    return ws
