"""The yearly report due 15 January (加强集采监管工作落实情况报告, 001 附件2): the template's four
text sections outlined and prefilled with the year's figures, and its tables filled."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from agent.domain.deadlines import CLOCK_NAMES
from agent.domain.findings import Finding
from agent.domain.reporting import SUMMARY_NOTES, AnnualReport
from agent.reports.tables import (
    GROUP_COLUMNS,
    PRODUCT_COLUMNS,
    SUMMARY_COLUMNS,
    completion_chart,
    group_rows,
    mark_statuses,
    notes,
    product_rows,
    summary_rows,
    table,
)

RULE_NAMES = {
    "progress_zero": "中选产品零采购", "progress_behind": "完成进度低于序时进度", "progress_over": "超约定采购量",
    "non_winning_rise": "非中选产品使用量上升", "prescriber_concentration": "处方集中（内部）",
    "usage_net_negative": "用量数据有误（退药多于发药）",
    "progress_year_end": "协议年度即将结束", "measures_drift": "按验收与按使用完成进度相差过大", **CLOCK_NAMES,
    "annual_report_due": "年度报告报送提醒", "dept_behind": "科室低于分配进度", "insurance_upload": "医保进销存未按时上传",
}
TODO = "（请填写）"
CLOCK_COLUMNS = [("事项", None), ("次数", None), ("其中超时", None), ("对象", None), ("说明", None), ("时间", None)]


def clock_rows(findings: list[Finding]) -> list[list[object]]:
    """One summary row per clock (times seen, of which breached), then one row per finding."""
    rows: list[list[object]] = []
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule, []).append(f)
    for rule, found in sorted(by_rule.items()):
        breached = sum(1 for f in found if f.values.get("breached") or f.labels.get("clock") == "breach")
        rows.append([RULE_NAMES.get(rule, rule), len(found), breached, "", "", ""])
    for f in sorted(findings, key=lambda f: (f.rule, f.observed_at, f.subject)):
        rows.append([RULE_NAMES.get(f.rule, f.rule), "", "", f.subject, f.title, f.observed_at.strftime("%Y-%m-%d %H:%M")])
    return rows


def outline(report: AnnualReport) -> list[tuple[str, str]]:
    """(style, text) lines of the report body: h = heading, p = paragraph."""
    signed = sum(s.signed for s in report.programmes)
    zero = sum(s.zero for s in report.programmes)
    behind = sum(s.behind for s in report.programmes)
    over = sum(s.over for s in report.programmes)
    wq = sum(g.winning_qty for g in report.year_shares)
    nq = sum(g.non_winning_qty for g in report.year_shares)
    na = sum(g.non_winning_amount for g in report.year_shares)
    share = f"{wq / (wq + nq):.2%}" if wq + nq else "—"
    counts = Counter(f.rule for f in report.findings)
    clocks = "；".join(f"{RULE_NAMES.get(r, r)} {n} 次" for r, n in sorted(counts.items())) or "未发现超时或不达标情况"
    lines = [
        ("t", f"加强集采监管工作落实情况报告（{report.year}年度）"),
        ("p", f"{report.hospital_name}（{report.hospital_code}）　于{report.year + 1}年1月15日前报送"
              + (f"　统计截至 {report.as_of.isoformat()}" if report.as_of else "")),
        ("h", "一、总体进展"),
        ("p", f"本年度执行集采批次 {len(report.programmes)} 个，签约产品（协议年度）{signed} 个；其中零采购 {zero} 个、"
              f"低于序时进度 {behind} 个、超量采购 {over} 个。同通用名中选产品使用量占比 {share}，"
              f"非中选产品采购量 {nq:,.0f}（最小包装单位），金额 {na:,.2f} 元。详见“执行情况汇总”等表。"),
        ("p", TODO),
        ("h", "二、具体工作落实情况"),
        ("p", "1. 约定采购量完成情况：" + "；".join(f"{s.programme} 完成 {s.completion:.1%}（序时进度 {s.time_progress:.1%}）"
                                            for s in report.programmes)),
        ("p", f"2. 中选产品优先使用与非中选产品管理：同通用名中选产品使用量占比 {share}。{TODO}"),
        ("p", f"3. 网采率、到货确认、回款、线下采购备案等时限：{clocks}。{TODO}"),
        ("p", f"4. 报量：{TODO}"),
        ("h", "三、存在的问题"),
    ]
    problems = [p for p in report.products if p.status.value in ("零采购", "低于序时进度")]
    for i, p in enumerate(problems[:10], start=1):
        lines.append(("p", f"{i}. {p.product.name}（{p.product.programme}）{p.status.value}：完成 {p.completion:.1%}，"
                           f"序时进度 {p.time_progress:.1%}"))
    lines += [("p", f"{len(problems[:10]) + 1}. {TODO}"), ("h", "四、下一步打算"), ("p", f"1. {TODO}"),
              ("p", f"2. {TODO}"), ("p", ""), ("p", "单位落款（盖章）"), ("p", "　　年　　月　　日")]
    return lines


def write_annual(report: AnnualReport, path: Path | str) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "年度报告"
    ws.column_dimensions["A"].width = 110
    for i, (style, text) in enumerate(outline(report), start=1):
        cell = ws.cell(i, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if style in ("t", "h"):
            cell.font = Font(bold=True, size=16 if style == "t" else 12)
    summary = wb.create_sheet("执行情况汇总")
    table(summary, SUMMARY_COLUMNS, summary_rows(report.programmes))
    notes(summary, SUMMARY_NOTES, first_row=len(report.programmes) + 3)
    detail = wb.create_sheet("产品明细")
    table(detail, PRODUCT_COLUMNS, product_rows(report.products))
    mark_statuses(detail)
    table(wb.create_sheet("一院一档（年度）"), GROUP_COLUMNS, group_rows(report.year_shares, report.products))
    table(wb.create_sheet("时限与合规"), CLOCK_COLUMNS, clock_rows(report.findings))
    completion_chart(wb, report.programmes, f"{report.year}年度 完成进度与序时进度")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
