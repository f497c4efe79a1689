"""``vbp-agent status``: what /metrics says, for a person (Chinese labels where staff read; the
jobs as an aligned table)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from agent.alerts.delivery import status_lines
from agent.cli.table import table
from agent.domain.deadlines import CLOCK_NAMES
from agent.jobs.figures import progress_of
from agent.ports import MonitoringInputs
from agent.runtime import Runtime
from agent.service.evaluation import assess_day, counts_line, findings_lines, online_rate_block, programme_lines
from agent.store import outbox, service
from agent.store import platform as platform_repo
from agent.store.findings import active_by_rule


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "从未"
    secs = int((now - then).total_seconds())
    if secs < 120:
        return f"{secs} 秒前"
    if secs < 7200:
        return f"{secs // 60} 分钟前"
    if secs < 172800:
        return f"{secs // 3600} 小时前"
    return f"{secs // 86400} 天前"


def render_status(rt: Runtime, inputs: MonitoringInputs | None = None, day: date | None = None) -> str:
    """What runs and what waits, then progress per programme and 网采率 (from ``inputs``); with
    ``day``, only the figures and the findings as they stood at the end of that day (computed,
    nothing stored), since jobs, the link and the outbox have no past in the store."""
    if day is not None and inputs is not None:
        return _as_of(rt, inputs, day)
    now = rt.clock.now()
    hosp = rt.store.hospital_code
    lines = [f"医院 {rt.config.hospital.code} {rt.config.hospital.name}",
             "状态库 state store: " + ", ".join(f"{k} v{v}" for k, v in sorted(rt.store.versions().items()))]
    with rt.store.read() as conn:
        jobs = service.job_healths(conn, hosp)
        depth = outbox.depth(conn, hosp)
        counts = service.open_findings_by_severity(conn, hosp)
        link = platform_repo.link_state(conn, hosp)
        oldest = service.oldest_unconfirmed_acceptance(conn, hosp)
        clocks = active_by_rule(conn, hosp, CLOCK_NAMES)
    lines.append("")
    lines.append("任务 jobs:")
    if not jobs:
        lines.append("  (尚未运行 no run yet)")
    if jobs:
        lines += table(("任务", "状态", "上次成功", "连续失败", "最近错误"),
                       [(j.job, "正常" if j.state == "up" else "故障", _ago(now, j.last_success_at), j.failures,
                         "" if j.state == "up" else f"{j.last_error_class}: {(j.last_error or '')[:120]}") for j in jobs],
                       right={3}, indent="  ")
    if rt.config.platform is not None or link is not None:
        lines.extend(["", *_link_lines(now, link, depth, oldest)])
    lines.append("")
    lines.append("待发送 outbox: " + (", ".join(f"{ch} {n}" for ch, n in sorted(depth.items())) or "0"))
    lines.append(
        f"当前发现 findings: 严重 {counts.get('critical', 0)}, 警告 {counts.get('warning', 0)}, 提示 {counts.get('info', 0)}"
    )
    lines.append("时限 clocks: " + ("；".join(f"{CLOCK_NAMES[r]} {n}" + (f"（超时 {c}）" if c else "")
                                             for r, (n, c) in sorted(clocks.items())) or "无"))
    receivers = status_lines(rt.store, rt.config)
    if receivers:
        lines.extend(["", "接收人 receivers:", *(f"  {line}" for line in receivers)])
    if inputs is not None:
        today = now.date()
        progress = progress_of(inputs, inputs.product_years(today, today), today, rt.config.monitoring.progress_rules(),
                               rt.calendar)
        lines.extend(["", "协议进度 progress:", *programme_lines(inputs, rt, progress), *online_rate_block(inputs, rt, today)])
    return "\n".join(lines)


def _as_of(rt: Runtime, inputs: MonitoringInputs, day: date) -> str:
    a = assess_day(rt, inputs, day)
    return "\n".join([
        f"医院 {rt.config.hospital.code} {rt.config.hospital.name}",
        f"统计截至 {a.now.date().isoformat()}（--as-of：按状态库现有数据只读计算，未改动状态库；任务、平台连接与待发送只有当前状态，见不带 --as-of 的 status）",
        "", "协议进度 progress:", *programme_lines(inputs, rt, a.progress), *online_rate_block(inputs, rt, a.now.date()),
        "", f"当日发现 findings: {counts_line(a.found)}", *findings_lines(a.found)])


def _local(now: datetime, at: datetime) -> datetime:
    """A stored instant in the zone of ``now`` (the hospital's)."""
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(now.tzinfo)


def _link_lines(now: datetime, link: platform_repo.LinkState | None, depth: dict[str, int],
                oldest: datetime | None) -> list[str]:
    """The platform link: up, or down since when, held until when, and what waits behind it."""
    held = {ch.removeprefix("platform:"): n for ch, n in depth.items() if ch.startswith("platform:")}
    waiting = f"到货确认 {held.get('confirm', 0)} 条，数据上报 {held.get('report', 0)} 条"
    if oldest is not None:
        waiting += f"，最早一笔验收于 {_ago(now, oldest)}"
    if link is None or link.state == "up":
        since = "" if link is None else f"（自 {_local(now, link.changed_at):%Y-%m-%d %H:%M}）"
        return [f"平台连接 platform link: 正常{since}", f"  待确认 waiting: {waiting}"]
    lines = [f"平台连接 platform link: 中断 DOWN 自 {_local(now, link.changed_at):%Y-%m-%d %H:%M}（{_ago(now, link.changed_at)}），"
             f"连续失败 {link.failures} 次"]
    if link.hold_until is not None and _local(now, link.hold_until) > now:
        lines.append(f"  暂停发送至 held until {_local(now, link.hold_until):%Y-%m-%d %H:%M:%S}")
    if link.last_error:
        lines.append(f"  最近错误 last error: {link.last_error[:160]}")
    lines.append(f"  积压 held: {waiting}")
    return lines
