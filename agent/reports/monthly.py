"""The monthly 带量执行报表 and the 一院一档 monthly metrics, as one xlsx ready to hand in."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from agent.domain.reporting import SUMMARY_NOTES, MonthlyReport
from agent.reports.tables import (
    DEPT_COLUMNS,
    GROUP_COLUMNS,
    ONLINE_RATE_COLUMNS,
    PRODUCT_COLUMNS,
    SUMMARY_COLUMNS,
    UPLOAD_COLUMNS,
    completion_chart,
    dept_rows,
    group_rows,
    insurance_counts,
    insurance_rows,
    mark_far_behind,
    mark_statuses,
    notes,
    online_rate_rows,
    product_rows,
    summary_rows,
    table,
)


def write_monthly(report: MonthlyReport, path: Path | str) -> Path:
    """Sheets: 带量执行报表 (per programme), 产品明细 (per product), 科室分配进度 (per department of a
    confirmed split, when there is one), 一院一档 (per generic group), 图表."""
    wb = Workbook()
    ws = wb.active
    ws.title = "带量执行报表"
    ws.cell(1, 1, f"{report.hospital_name}（{report.hospital_code}）带量执行报表 {report.month}").font = Font(bold=True, size=14)
    ws.cell(2, 1, f"统计截至 {report.as_of.isoformat()}；完成进度按使用量（最小包装单位）计；验收完成进度按平台采购的验收入库量计（平台口径）")
    table(ws, SUMMARY_COLUMNS, summary_rows(report.programmes), first_row=3)
    below = 3 + len(report.programmes) + 2  # the definitions, then 网采率 under them
    notes(ws, SUMMARY_NOTES, first_row=below)
    if report.online_rates:  # 网采率 beside the month's: the agreement year and the calendar year to date
        row = below + len(SUMMARY_NOTES) + 1
        ws.cell(row, 1, f"网采率（按验收入库金额，平台采购金额 ÷ 验收入库总金额，统计截至 {report.as_of.isoformat()}）").font = Font(bold=True)
        table(ws, ONLINE_RATE_COLUMNS, online_rate_rows(report.online_rates), first_row=row + 1)
        ws.freeze_panes = "B4"

    detail = wb.create_sheet("产品明细")
    table(detail, PRODUCT_COLUMNS, product_rows(report.products))
    mark_statuses(detail)
    if report.departments:
        depts = wb.create_sheet("科室分配进度")
        table(depts, DEPT_COLUMNS, dept_rows(report.departments, report.department_names))
        mark_far_behind(depts)

    if report.uploads:
        up = wb.create_sheet("进销存上传")
        up.cell(1, 1, f"医保进销存上传（3503 采购、3505 销售）{report.month}：未按时上传的业务日").font = Font(bold=True)
        table(up, [("接口", None), ("应上传业务日数", None), ("未按时上传天数", None)], insurance_counts(report.uploads), first_row=2)
        table(up, UPLOAD_COLUMNS, insurance_rows(report.uploads), first_row=len(set(d.interface for d in report.uploads)) + 4)

    archive = wb.create_sheet("一院一档")
    archive.cell(1, 1, f"一院一档 月度监测指标 {report.month}（采购量、金额为本月数）").font = Font(bold=True)
    table(archive, GROUP_COLUMNS, group_rows(report.month_shares, report.products, report.year_shares), first_row=2)

    completion_chart(wb, report.programmes, f"完成进度与序时进度 {report.month}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
