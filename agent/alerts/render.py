"""Short Chinese messages for pharmacy and procurement staff: what, how much, since when, what to do.

Markdown kept to what every robot shows (bold, line breaks); a sender strips it for text robots
(``agent.notify.markdown.plain``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import PurePosixPath
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
    "quantity": "数量", "pending": "待办数", "receiver": "接收方", "error": "错误", "message": "消息",
    "accepted_on": "验收日期", "ordered_on": "下单日期", "deadline": "截止日期", "supplier": "配送企业",
    "observed": "近期用量", "expected": "平时用量", "effect": "增幅",
    "baseline_share": "平时非中选占比", "current_share": "近期非中选占比", "window_days": "近几日(天)",
    "window_end": "截至", "agreed": "约定采购量", "hours_left": "距24小时时限(小时)", "state": "状态",
    "planned": "计划报量", "last_year": "上年实际", "history": "历史采购量", "rate": "网采率", "floor": "要求下限",
    "on_platform_amount": "平台采购金额", "total_amount": "验收入库总金额", "explained": "已书面说明",
    "confirmed_quantity": "平台已确认数量", "warehouse_quantity": "库房数量",
    "since": "零使用始于", "weekly_before": "此前每周用量", "quiet_days": "零使用天数", "expected_dispensings": "按此前水平应有处方",
    "stopped_products": "停用的非中选品种",
    "code": "错误码", "start": "开始", "due": "截止", "time_used": "已用时限", "breached": "已超时", "confidence": "匹配度",
    "accepted_completion": "按验收完成进度", "accepted": "已验收量", "drift": "验收减使用",
    "unconvertible_lines": "单位无法换算行数", "cell": "上升所在", "departments": "主要科室",
    "prescriber": "医生(HIS编码)", "prescriber_share": "该医生非中选占比", "dept_share": "科室其他医生非中选占比", "as_of": "截至",
    "year_end": "协议年度结束", "daily_needed": "需日均用量", "weekly_needed": "需每周用量",
    "projected_completion": "按目前速度年底完成", "allocated": "科室分配量", "business_day": "业务日期", "interface": "医保接口",
    "status": "状态", "workdays_left": "剩余工作日", "year": "年度", "draft": "草稿",
    "unit_price": "单价(元)", "winning_price": "中选价(元)", "listed_price": "挂网价(元)", "sale_price": "销售价(元)",
    "lines": "入库明细", "off_platform": "线下采购", "span_net": "合计净用量", "issued": "发药量", "days": "天数",
}
EVIDENCE_CN = {
    **VALUE_CN, "cells": "上升所在", "prescribers": "主要医生(HIS编码)", "items": "主要品种", "platform_message": "平台原话",
    "suppliers": "配送企业", "clue_type": "线索类型", "item_code": "品种编码", "dept_code": "科室编码", "dept": "科室编码",
    "dept_name": "科室", "span_days": "核对天数", "negative_days": "退药多于发药的日期", "non_winning": "非中选用量",
    "total": "总用量", "others_non_winning": "其他医生非中选用量", "others_total": "其他医生总用量",
    "accepted_at": "验收时间", "due_at": "确认时限", "delivery_id": "配送单号", "lot": "批号", "reason": "未匹配原因",
    "candidates": "候选配送单", "written_report": "书面报告草稿",
}
# What staff do not read: the statistics behind a rise (its title and 情况 say it in words) and internals.
STATISTICS = frozenset({"p_value", "q_value", "window_end", "week_expected", "effect"})
INTERNAL = frozenset({"action", "summary", "payload", "rows", "use"})
HIDDEN = STATISTICS | INTERNAL
NO_CONSOLE = "详情请打开药学部集采控制台查看（控制台地址请问信息科）。"
DEFAULT_ACTION = {
    "critical": "请药学部今天核查处理，处理后在控制台确认。",
    "warning": "请相关科室和药学部本周内核查。",
    "info": "知悉即可。",
}
_RATIO_WORDS = ("progress", "share", "rate", "completion", "gap", "rise", "ratio", "effect", "time_used")
_ALWAYS_RATIO = {"effect", "completion", "time_progress", "accepted_completion", "drift", "projected_completion"}
_MONEY_WORDS = ("price", "amount")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


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
    """A value as staff read it: a ratio in per cent, a quantity rounded with thousands separators
    (money to the fen), a moment as 11月23日 09:00."""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, Decimal):
        v = float(v)
    if isinstance(v, float) and (name in _ALWAYS_RATIO or any(w in name for w in _RATIO_WORDS) and -2 <= v <= 2):
        return f"{v * 100:.1f}%"
    if isinstance(v, float) and any(w in name for w in _MONEY_WORDS):
        return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4f}".rstrip("0").rstrip(".")
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}".rstrip("0").rstrip(".")
    if isinstance(v, int):
        return str(v) if name == "year" else f"{v:,}"
    if isinstance(v, str) and v.startswith("/"):  # a file on the agent's server: its name (the console's 报表 page has it)
        return PurePosixPath(v).name
    if isinstance(v, str) and _ISO_MOMENT.match(v):
        try:
            t = datetime.fromisoformat(v)
        except ValueError:
            return v
        return f"{t.month}月{t.day}日 {t:%H:%M}"
    return "-" if v is None else str(v)


def usage_words(values: dict[str, Any]) -> str | None:
    """A rise as staff say it: ``近7日 1,320，平时约 505，约 2.6 倍`` (None when it is not a rise)."""
    observed, expected, days = values.get("observed"), values.get("expected"), values.get("window_days")
    if not isinstance(observed, (int, float)) or not isinstance(expected, (int, float)):
        return None
    recent = f"近{days}日" if isinstance(days, int) else "近期"
    if expected <= 0:
        return f"{recent} {observed:,.0f}，平时几乎不用（新出现）"
    return f"{recent} {observed:,.0f}，平时约 {expected:,.0f}，约 {observed / expected:.1f} 倍"


def shown_values(values: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text) of the values staff read, in order: a rise in words first, then the rest; no
    statistics, nothing internal, nothing nested."""
    words = usage_words(values)
    out = [("全组非中选", words)] if words else []
    skip = HIDDEN | ({"observed", "expected", "window_days"} if words else set())
    out += [(VALUE_CN.get(k, k), _value(k, v)) for k, v in values.items()
            if k not in skip and v is not None and not isinstance(v, (dict, list))]
    return out


def facts(a: Alert, limit: int = 4) -> str:
    return "，".join(f"{label} {text}" for label, text in shown_values(a.values)[:limit])


def _about(x: float) -> str:
    """A usage figure as staff say it beside 平时约: whole units, a tenth below ten (平时约 44, not 44.36)."""
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.1f}".rstrip("0").rstrip(".")


def _evidence_line(v: Any) -> str:
    if isinstance(v, dict):
        if isinstance(v.get("text"), str):
            return v["text"]
        if {"current", "expected", "excess"} <= set(v):
            name = f"{v['name']}({v['code']})" if v.get("name") else str(v.get("code", ""))
            share = v.get("share_of_rise")
            return (f"{name}：近期 {_about(float(v['current']))}，平时约 {_about(float(v['expected']))}，"
                    f"多用 {_about(float(v['excess']))}" + (f"（占上升的 {share:.0%}）" if isinstance(share, float) else ""))
        if set(v) == {"day", "net"}:
            return f"{v['day']}：{_value('net', v['net'])}"
        return "，".join(f"{EVIDENCE_CN.get(k, k)} {_value(k, x)}" for k, x in v.items() if k not in HIDDEN and x is not None)
    return _value("", v)


def evidence_lines(evidence: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(label, lines) of a finding's evidence as staff read it: no statistics, nothing internal."""
    out = []
    for k, v in evidence.items():
        if k in HIDDEN or v is None or v == "" or v == []:
            continue
        items = v if isinstance(v, list) else v.splitlines() if isinstance(v, str) else [v]
        out.append((EVIDENCE_CN.get(k, k), [_evidence_line(x) for x in items]))
    return out


def action(a: Alert) -> str:
    for source in (a.values, a.evidence, a.labels):
        text = source.get("action")
        if isinstance(text, str) and text:
            return text
    return DEFAULT_ACTION.get(a.severity, DEFAULT_ACTION["warning"])


def alert_link(console_url: str | None, key: str) -> str | None:
    """The alert's page in the console (``[console] external_url``), or None when none is configured."""
    return f"{console_url}/alert?key={quote(key, safe='')}" if console_url else None


def more_text(console_url: str | None) -> str:
    """The end of a message cut short at its receiver's size limit: where to read all of it."""
    return f"全部内容请在控制台查看：{console_url}/alerts" if console_url else "全部内容请在药学部集采控制台查看（控制台地址请问信息科）。"


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
        lines.append(f"建议：{action(a)}")
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
            "建议：请负责人立即安排处理，并在控制台确认。",
        ]
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
    if not console_url:
        text += "\n" + NO_CONSOLE
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
            lines.append(f"另有 {len(ordered) - limit} 条未列出。")
    lines.append(f"全部预警：{console_url}/alerts" if console_url else NO_CONSOLE)
    return {"title": title, "text": "\n".join(lines), "severity": "info"}


def probe_message(receiver: str, now: datetime, tz: tzinfo, console_url: str | None = None) -> dict[str, str]:
    title = "集采预警测试消息"
    text = f"**{title}**\n这是接收方 {receiver} 的测试消息（{when(now, tz)}），收到说明配置正确，无需处理。"
    if console_url:
        text += f"\n控制台：{console_url}/"
    return {"title": title, "text": text, "severity": "info"}
