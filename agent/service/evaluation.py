"""``vbp-agent evaluate`` and the figures ``status`` shows: every monitoring rule as of a day, the
progress table and 网采率, computed from the store and printed, never stored.

Audits and the regulator's questions are about past days: ``--as-of DAY`` computes what the
evaluation job would have found at the end of that day, with the data the store holds now.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from agent.domain.findings import Finding
from agent.domain.online_rate import rate_lines
from agent.domain.progress import ProductProgress
from agent.domain.reporting import programme_summaries
from agent.jobs.evaluate import Assessment, as_of_moment, assess
from agent.jobs.figures import online_rate_table, year_to_date_shares
from agent.monitoring_config import MonitoringConfig
from agent.ports import MonitoringInputs
from agent.runtime import Runtime

SEVERITY_ZH = {"critical": "严重", "warning": "警告", "info": "提示"}


def assess_day(rt: Runtime, inputs: MonitoringInputs, day: date | None) -> Assessment:
    """The evaluation as of the end of ``day`` (now when it is today or not given); reads only."""
    now = rt.clock.now()
    return assess(rt.store, inputs, rt.calendar, as_of_moment(day or now.date(), now), rt.config.monitoring)


def _cell(text: str, width: int, right: bool = False) -> str:
    """``text`` padded to ``width`` terminal columns (a Chinese character takes two), cut if longer."""
    out, used = "", 0
    for ch in text:
        w = 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        if used + w > width:
            break
        out, used = out + ch, used + w
    pad = " " * (width - used)
    return pad + out if right else out + pad


PROGRESS_COLUMNS = (("批次", 24, False), ("产品", 20, False), ("约定量", 10, True), ("已使用", 10, True),
                    ("完成进度", 9, True), ("序时进度", 9, True), ("按验收", 8, True))


def progress_table(progress: list[ProductProgress]) -> list[str]:
    """One line per product-year: agreed, used, completion against 序时进度 (and by acceptance), status."""
    def row(cells: list[str]) -> str:
        return "  " + " ".join(_cell(c, w, right) for c, (_n, w, right) in zip(cells, PROGRESS_COLUMNS, strict=True))

    lines = [row([name for name, _w, _r in PROGRESS_COLUMNS]) + "  状态"]
    for p in progress:
        accepted = f"{p.accepted_completion:.1%}" if p.accepted_completion is not None else "-"
        lines.append(row([p.product.programme, p.product.name, f"{p.product.agreed_qty:,.0f}", f"{p.used:,.0f}",
                          f"{p.completion:.1%}", f"{p.time_progress:.1%}", accepted]) + f"  {p.status}")
    return lines if progress else ["  （无执行中的协议年度）"]


def programme_lines(inputs: MonitoringInputs, rt: Runtime, progress: list[ProductProgress]) -> list[str]:
    """Per programme and agreement year: 序时进度, completion and the bureau's product counts."""
    mcfg: MonitoringConfig = rt.config.monitoring
    shares = year_to_date_shares(inputs, progress, inputs.item_links())
    return [f"  {s.programme}（{s.start:%Y-%m-%d} 至 {s.end:%Y-%m-%d}）序时进度 {s.time_progress:.1%}，完成进度 {s.completion:.1%}；"
            f"签约 {s.signed}，零采购 {s.zero}，低于序时进度 {s.behind}，超量 {s.over}，正常 {s.normal}"
            for s in programme_summaries(progress, shares, mcfg.progress_rules(), rt.calendar)] or ["  （无执行中的协议年度）"]


def online_rate_block(inputs: MonitoringInputs, rt: Runtime, day: date) -> list[str]:
    lines = rate_lines(online_rate_table(inputs, day, rt.config.monitoring))
    return ["网采率（按验收入库金额）:", *(f"  {line}" for line in lines or ["（该期间无验收入库记录）"])]


def findings_lines(found: list[Finding]) -> list[str]:
    order = sorted(found, key=lambda f: (-f.severity.rank, f.rule, f.subject))
    return [f"  [{SEVERITY_ZH.get(str(f.severity), str(f.severity))}] {f.title}" for f in order] or ["  （无）"]


def counts_line(found: list[Finding]) -> str:
    n = {s: sum(1 for f in found if str(f.severity) == s) for s in SEVERITY_ZH}
    return f"严重 {n['critical']}, 警告 {n['warning']}, 提示 {n['info']}"


def render_evaluation(rt: Runtime, inputs: MonitoringInputs, day: date | None) -> str:
    """``vbp-agent evaluate``: the progress table, 网采率 and every finding as of the day."""
    a = assess_day(rt, inputs, day)
    as_of = a.now.date()
    lines = [f"医院 {rt.config.hospital.code} {rt.config.hospital.name}　统计截至 {as_of.isoformat()}"
             f"（{a.now:%H:%M}；只读计算，状态库未改动）", "", "协议进度 progress:", *progress_table(a.progress), "",
             *online_rate_block(inputs, rt, as_of), "", f"发现 findings: {counts_line(a.found)}", *findings_lines(a.found)]
    return "\n".join(lines)
