"""What staff do to alerts, from the CLI (``vbp-agent alerts ack|silence|unsilence``) and the console
alike: acknowledge (确认) one alert, silence (屏蔽) the alerts whose labels match, end a silence."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from agent.domain.alerting import INACTIVE, Alert, acknowledge
from agent.errors import ConfigError, DataError
from agent.store import alerts as repo


def parse_matchers(pairs: list[str]) -> dict[str, str]:
    """``label=value`` pairs (globs allowed in the value) as matchers; ConfigError naming a bad one."""
    out = {}
    for p in pairs:
        if "=" not in p or not p.split("=", 1)[0].strip():
            raise ConfigError(f"--match {p!r}: write it as label=value, e.g. rule=behind_schedule or department=心内科")
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def ack_alert(store: Any, key: str, by: str, hours: float, note: str, now: datetime) -> Alert:
    """Acknowledge an open alert (no repeats and no escalation while acknowledged), for ``hours``
    (0: until it resolves). DataError when there is no open alert of that key."""
    if not by.strip():
        raise DataError("确认人不能为空")
    with store.begin() as conn:
        a = repo.load_alerts(conn, store.hospital_code, [key]).get(key)
        if a is None or a.status == INACTIVE:
            raise DataError(f"no open alert '{key}': see vbp-agent alerts list")
        until = now + timedelta(hours=hours) if hours > 0 else None
        repo.save_alert(conn, store.hospital_code, acknowledge(a, by.strip(), now, until), now, note=note or None)
    return a


def silence(store: Any, matchers: dict[str, str], hours: float, by: str, comment: str, now: datetime) -> int:
    """Silence alerts whose labels match, from now for ``hours``; returns the silence's number."""
    if not matchers:
        raise DataError("屏蔽至少需要一个匹配条件（标签=值）")
    if hours <= 0:
        raise DataError("屏蔽时长必须大于0小时")
    if not by.strip() or not comment.strip():
        raise DataError("屏蔽需要填写操作人和原因")
    with store.begin() as conn:
        return repo.add_silence(conn, store.hospital_code, matchers, now, now + timedelta(hours=hours), by.strip(),
                                comment.strip(), now)


def unsilence(store: Any, silence_id: int, now: datetime) -> None:
    """End a current silence now; DataError when there is none of that number."""
    with store.begin() as conn:
        if not repo.end_silence(conn, store.hospital_code, silence_id, now):
            raise DataError(f"no current silence #{silence_id}: see vbp-agent alerts silences")
