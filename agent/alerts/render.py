"""Short Chinese messages for pharmacy and procurement staff: what, how much, since when, what to do.

Markdown kept to what every robot shows (bold, line breaks); a sender strips it for text robots
(``agent.notify.markdown.plain``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import quote

from agent.domain.alerting import Alert, Notice

SEVERITY_CN = {"critical": "严重", "warning": "注意", "info": "提示"}
WEEKDAY_CN = "一二三四五六日"
VALUE_CN = {
    "completion": "完成进度", "completion_rate": "完成进度", "time_progress": "序时进度", "gap": "差距",
    "agreed_volume": "约定采购量", "used": "已用量", "usage": "用量", "remaining": "剩余量",
    "share": "占比", "non_winning_share": "非中选占比", "winning_share": "中选占比", "rise": "增幅",
    "hours_late": "超时(小时)", "hours": "小时", "days_left": "剩余天数", "amount": "金额(元)",
    "quantity": "数量", "pending": "待办数", "receiver": "接收方", "error": "错误",
    "accepted_on": "验收日期", "ordered_on": "下单日期", "deadline": "截止日期", "supplier": "配送企业",
    "observed": "近期用量", "expected": "基线预期", "effect": "增幅", "p_value": "P值", "q_value": "校正后P值",
    "baseline_share": "基线非中选占比", "current_share": "当前非中选占比", "window_days": "统计窗口(天)",
    "window_end": "窗口截止", "agreed": "约定采购量", "hours_left": "距24小时时限(小时)", "state": "状态",
    "planned": "计划报量", "last_year": "上年实际", "history": "历史采购量", "rate": "网采率", "floor": "要求下限",
    "on_platform_amount": "平台采购金额", "confirmed_quantity": "平台已确认数量", "warehouse_quantity": "库房数量",
    "code": "错误码", "start": "开始", "due": "截止", "time_used": "已用时限", "confidence": "匹配置信度",
    "accepted_completion": "按验收完成进度", "accepted": "已验收量", "drift": "验收减使用",
    "unconvertible_lines": "单位无法换算行数", "cell": "上升所在", "departments": "主要科室",
    "prescriber": "医生(HIS编码)", "prescriber_share": "该医生非中选占比", "dept_share": "科室其他医生非中选占比", "as_of": "截至", "year_end": "协议年度结束",
    "allocated": "科室分配量", "business_day": "业务日期", "interface": "医保接口", "status": "状态",
    "workdays_left": "剩余工作日", "year": "年度", "draft": "草稿",
}
DEFAULT_ACTION = {
    "critical": "请药学部今天核查处理，处理后回复确认（vbp-agent alerts ack）。",
    "warning": "请相关科室和药学部本周内核查。",
    "info": "知悉即可。",
}
_RATIO_WORDS = ("progress", "share", "rate", "completion", "gap", "rise", "ratio", "effect")
_ALWAYS_RATIO = {"effect", "completion", "time_progress", "accepted_completion", "drift"}  # a rise of +268% is still a ratio


def when(t: datetime | None, tz: tzinfo) -> str:
    if t is None:
        return "-"
    t = t.astimezone(tz)
    return f"{t.month}月{t.day}日 {t:%H:%M}"


def duration(d: timedelta) -> str:
    minutes = max(0, int(d.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{mins}分钟" if mins else f"{hours}小时"
    return f"{mins}分钟"


def _value(name: str, v: Any) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float) and (name in _ALWAYS_RATIO or any(w in name for w in _RATIO_WORDS) and -2 <= v <= 2):
        return f"{v * 100:.1f}%"
    if isinstance(v, float):
        return f"{v:,.2f}".rstrip("0").rstrip(".")
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def facts(a: Alert, limit: int = 4) -> str:
    shown = [(k, v) for k, v in a.values.items() if k not in ("action", "summary") and not isinstance(v, (dict, list))]
    return "，".join(f"{VALUE_CN.get(k, k)} {_value(k, v)}" for k, v in shown[:limit])


def action(a: Alert) -> str:
    for source in (a.values, a.evidence, a.labels):
        text = source.get("action")
        if isinstance(text, str) and text:
            return text
    return DEFAULT_ACTION.get(a.severity, DEFAULT_ACTION["warning"])


def alert_link(console_url: str | None, key: str) -> str | None:
    """The alert's page in the console (``[console] external_url``), or None when none is configured."""
    return f"{console_url}/alert?key={quote(key, safe='')}" if console_url else None


def block(n: Notice, tz: tzinfo, console_url: str | None = None) -> str:
    """The lines about one notice; with the console's address, it ends with the alert's page."""
    a = n.alert
    link = alert_link(console_url, a.key)
    sev = SEVERITY_CN.get(a.severity, a.severity)
    since = a.fired_at or a.pending_since
    lines: list[str]
    if n.kind in ("firing", "repeat"):
        head = "【集采预警】" if n.kind == "firing" else "【集采预警·仍未处理】"
        lines = [f"**{head}{sev}：{a.title}**"]
        if facts(a):
            lines.append(f"情况：{facts(a)}")
        if since and n.at - since >= timedelta(minutes=1):
            lines.append(f"开始：{when(since, tz)}（已持续{duration(n.at - since)}）")
        elif since:
            lines.append(f"开始：{when(since, tz)}")
        lines.append(f"建议：{action(a).replace('（vbp-agent alerts ack）', '') if link else action(a)}")
    elif n.kind == "resolved":
        lasted = f"，持续{duration(a.resolved_at - a.fired_at)}" if a.fired_at and a.resolved_at else ""
        lines = [f"**【集采预警·已恢复】{a.title}**", f"已于 {when(a.resolved_at or n.at, tz)} 恢复正常{lasted}，无需再处理。"]
    elif n.kind == "flapping":
        lines = [
            f"**【集采预警·状态反复】{sev}：{a.title}**",
            f"近期反复出现又消失 {len(a.changes)} 次，暂停逐条通知，状态稳定后再报。",
            "建议：请核对数据来源是否频繁更正。",
        ]
    else:  # escalate
        lines = [
            f"**【集采预警·升级】严重预警{duration(n.at - (a.fired_at or n.at))}无人确认：{a.title}**",
            f"情况：{facts(a) or '-'}",
            f"建议：请负责人立即安排处理，并在控制台确认：{link}" if link else
            f"建议：请负责人立即安排处理，并确认：vbp-agent alerts ack {a.key}",
        ]
        link = None
    if link:
        lines.append(f"详情：{link}")
    return "\n".join(lines)


def _urgency(n: Notice) -> tuple[int, int]:
    return (n.kind != "resolved", {"critical": 2, "warning": 1}.get(n.alert.severity, 0))


def group_message(notices: list[Notice], tz: tzinfo, console_url: str | None = None) -> dict[str, str]:
    """One message for a group of notices: ``title`` (email subject) and markdown ``text``."""
    notices = sorted(notices, key=_urgency, reverse=True)  # critical first, resolved last
    worst = notices[0]
    if len(notices) == 1:
        text = block(notices[0], tz, console_url)
        title = text.splitlines()[0].replace("**", "")
    else:
        counts: dict[str, int] = {}
        for n in notices:
            label = "已恢复" if n.kind == "resolved" else SEVERITY_CN.get(n.alert.severity, "提示")
            counts[label] = counts.get(label, 0) + 1
        summary = "，".join(f"{k}{v}条" for k, v in counts.items())
        title = f"集采预警{len(notices)}条（{summary}）"
        text = "\n\n".join([f"**{title}**", *(block(n, tz, console_url) for n in notices)])
    severity = "info" if worst.kind == "resolved" else worst.alert.severity
    return {"title": title, "text": text, "severity": severity}


def digest_message(open_alerts: list[Alert], headline: str | None, now: datetime, tz: tzinfo, limit: int = 15,
                   console_url: str | None = None) -> dict[str, str]:
    """The morning digest (晨报) on working days: the progress headline and every open alert."""
    local = now.astimezone(tz)
    title = f"集采晨报 {local.month}月{local.day}日（星期{WEEKDAY_CN[local.weekday()]}）"
    lines = [f"**{title}**"]
    if headline:
        lines.append(f"进度：{headline.removeprefix('进度：')}")
    ordered = sorted(open_alerts, key=lambda a: (-{"critical": 2, "warning": 1}.get(a.severity, 0), a.fired_at or now))
    if not ordered:
        lines.append("目前没有未处理的预警。")
    else:
        lines.append(f"未处理预警 {len(ordered)} 条：")
        for i, a in enumerate(ordered[:limit], 1):
            ack = f"，{a.ack_by}已确认" if a.acknowledged(now) else ""
            lines.append(f"{i}. [{SEVERITY_CN.get(a.severity, a.severity)}] {a.title}（自{when(a.fired_at, tz)}{ack}）")
        if len(ordered) > limit:
            lines.append(f"另有 {len(ordered) - limit} 条，" + (f"请在控制台查看：{console_url}/alerts" if console_url
                                                                else "请运行 vbp-agent alerts list 查看。"))
    return {"title": title, "text": "\n".join(lines), "severity": "info"}


def probe_message(receiver: str, now: datetime, tz: tzinfo) -> dict[str, str]:
    title = "集采预警测试消息"
    text = f"**{title}**\n这是接收方 {receiver} 的测试消息（{when(now, tz)}），收到说明配置正确，无需处理。"
    return {"title": title, "text": text, "severity": "info"}
