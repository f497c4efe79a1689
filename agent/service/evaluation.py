"""The figures ``vbp-agent evaluate`` and ``status`` show: every monitoring rule as of a day,
progress per programme and 网采率, computed from the store and printed, never stored (the progress
table itself is printed by the CLI, ``agent.cli.monitor``, which aligns its columns).

Audits and the regulator's questions are about past days: ``--as-of DAY`` computes what the
evaluation job would have found at the end of that day, with the data the store holds now.
"""

from __future__ import annotations

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
