"""``vbp-agent status``: what /metrics says, for a person (Chinese labels where staff read)."""

from __future__ import annotations

from datetime import datetime

from agent.alerts.delivery import status_lines
from agent.runtime import Runtime
from agent.store import outbox, service


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


def render_status(rt: Runtime) -> str:
    now = rt.clock.now()
    hosp = rt.store.hospital_code
    lines = [f"医院 {rt.config.hospital.code} {rt.config.hospital.name}",
             "状态库 state store: " + ", ".join(f"{k} v{v}" for k, v in sorted(rt.store.versions().items()))]
    with rt.store.read() as conn:
        jobs = service.job_healths(conn, hosp)
        depth = outbox.depth(conn, hosp)
        counts = service.open_findings_by_severity(conn, hosp)
    lines.append("")
    lines.append("任务 jobs:")
    if not jobs:
        lines.append("  (尚未运行 no run yet)")
    for j in jobs:
        mark = "正常" if j.state == "up" else "故障"
        tail = "" if j.state == "up" else f"  {j.last_error_class}: {(j.last_error or '')[:120]}"
        lines.append(f"  {j.job:28} {mark}  上次成功 {_ago(now, j.last_success_at)}  连续失败 {j.failures}{tail}")
    lines.append("")
    lines.append("待发送 outbox: " + (", ".join(f"{ch} {n}" for ch, n in sorted(depth.items())) or "0"))
    lines.append(
        f"当前发现 findings: 严重 {counts.get('critical', 0)}, 警告 {counts.get('warning', 0)}, 提示 {counts.get('info', 0)}"
    )
    receivers = status_lines(rt.store, rt.config)
    if receivers:
        lines.extend(["", "接收人 receivers:", *(f"  {line}" for line in receivers)])
    return "\n".join(lines)
