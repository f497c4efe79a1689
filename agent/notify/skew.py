"""This server's clock against the robots' and the platform's (``vbp-agent check``).

DingTalk (310000) and Feishu (19021) refuse a signature whose timestamp is more than an hour off
their own clock, so a server clock that drifts (no NTP on a hospital's intranet is common) stops
the alerts with an error that looks like a wrong secret. Every HTTP answer carries a ``Date``
header; comparing it with our clock finds the drift before a vendor refuses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from agent.notify import SENDERS

WARN_AFTER = timedelta(minutes=5)  # the vendors allow an hour; say so long before that
ROBOT_TYPES = ("wecom", "dingtalk", "feishu")


def targets(cfg: Any) -> dict[str, str]:
    """The base addresses to ask for the time: each chat robot's vendor, and the platform. Never a
    URL that holds a key (a webhook's URL may)."""
    out: dict[str, str] = {}
    for name, rcfg in cfg.receivers.items():
        if rcfg.type in ROBOT_TYPES:
            out[f"通知渠道“{name}”"] = rcfg.api_base or SENDERS[rcfg.type].default_api
    if getattr(cfg, "platform", None) is not None:
        out["省平台"] = cfg.platform.base_url
    return out


def remote_time(client: httpx.Client, url: str, timeout_s: float = 5.0) -> datetime | None:
    """The ``Date`` of any answer from ``url``, or None when it cannot be reached or has none."""
    try:
        resp = client.head(url, timeout=timeout_s)
        at = parsedate_to_datetime(resp.headers["Date"])
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return None


def _amount(delta: timedelta) -> str:
    s = int(abs(delta.total_seconds()))
    return f"{s // 3600}小时{s % 3600 // 60}分钟" if s >= 3600 else f"{s // 60}分钟{s % 60}秒"


def clock_warnings(cfg: Any, now: datetime, client: httpx.Client | None = None) -> list[str]:
    """One line per server whose clock differs from ours by more than ``WARN_AFTER``."""
    own = client is None
    client = client or httpx.Client(follow_redirects=False)
    lines = []
    try:
        for who, url in targets(cfg).items():
            theirs = remote_time(client, url)
            if theirs is None:
                continue
            delta = now - theirs
            if abs(delta) > WARN_AFTER:
                way = "快" if delta > timedelta(0) else "慢"
                lines.append(f"警告: 本机时钟比{who}的服务器{way}{_amount(delta)}。钉钉、飞书拒收与其时钟相差一小时以上的签名"
                             f"（错误码 310000、19021），省平台也可能拒收。请检查 NTP 时间同步。")
    finally:
        if own:
            client.close()
    return lines
