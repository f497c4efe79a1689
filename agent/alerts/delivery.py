"""Draining the outbox through the senders, one receiver at a time.

A message is sent outside any transaction and recorded after; a crash between the two sends it
once more on restart (at most one duplicate). What happens after a failure depends on what the
vendor's answer is about (``SendFailed.scope``):

- transient (network, 5xx, rate limit, an unknown code): retried with backoff, in order;
- message (this message refused on its own: too long, a bad field): that message is set aside
  with the vendor's words, a finding says so, and the queue goes on;
- robot (bad key, signature or clock, keyword, IP, robot removed): the message is quarantined,
  the receiver's queue stops and a critical finding stays until a person fixes it and
  ``vbp-agent notify test`` succeeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.domain.findings import Finding, Severity
from agent.errors import NotifyError
from agent.logging import get_logger, redact
from agent.store import alerts as repo
from agent.store import outbox

log = get_logger("agent.notify")
STOPPED_RULE = "notify_receiver_stopped"
REFUSED_RULE = "notify_message_refused"
CLOCK_CODES = {"310000", "19021"}  # DingTalk and Feishu refuse a timestamp an hour off their clock


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    quarantined: int = 0
    set_aside: int = 0  # refused on their own; the queue went on
    deferred: int = 0  # held back by a token bucket
    stopped: list[str] = field(default_factory=list)


def _scope(exc: NotifyError) -> str:
    return str(getattr(exc, "scope", "transient" if exc.transient else "robot"))


def _stopped_finding(name: str, exc: NotifyError, now: datetime) -> Finding:
    code = getattr(exc, "code", None) or "-"
    clock = "本机系统时钟是否准确（NTP 时间同步；钉钉、飞书拒收与其时钟相差一小时以上的签名）"
    checks = f"{clock}，以及机器人密钥、签名密钥、关键词（集采）和 IP 白名单设置" if code in CLOCK_CODES else \
        f"机器人密钥、签名密钥、关键词（集采）和 IP 白名单设置，以及{clock}"
    return Finding(
        rule=STOPPED_RULE, subject=name, severity=Severity.CRITICAL,
        title=f"通知渠道“{name}”停止发送（错误码 {code}）", observed_at=now,
        values={"receiver": name, "error": str(exc)[:200]},
        labels={"kind": "notify"},
        evidence={"action": f"请信息科检查“{name}”的{checks}；改好后由信息科向“{name}”发一条测试消息，成功即恢复发送。"},
    )


def _refused_finding(name: str, item: outbox.OutboxItem, exc: NotifyError, now: datetime) -> Finding:
    code = getattr(exc, "code", None) or "-"
    return Finding(
        rule=REFUSED_RULE, subject=name, severity=Severity.WARNING,
        title=f"通知渠道“{name}”拒收了一条消息（错误码 {code}）", observed_at=now,
        values={"receiver": name, "error": str(exc)[:200], "message": str(item.payload.get("title", ""))[:100]},
        labels={"kind": "notify"},
        evidence={"action": f"这条消息已搁置，其余消息照常发送；被拒原因见上（厂商原话）。相关预警请在控制台“预警”页查看；"
                            f"请信息科处理后向“{name}”发一条测试消息，清除此提示。"},
    )


def _failed(store: Any, item: outbox.OutboxItem, name: str, exc: NotifyError, now: datetime, max_attempts: int, report: DrainReport) -> bool:
    """Record a failure: retry later, set this message aside, or stop the receiver. True when the
    receiver's queue may go on (the message was set aside)."""
    hospital = store.hospital_code
    scope = _scope(exc)
    if scope == "message":
        with store.begin() as conn:
            repo.set_aside(conn, item.id, f"refused: {exc}")
            repo.raise_finding(conn, hospital, _refused_finding(name, item, exc, now), now)
        report.set_aside += 1
        log.warning("message set aside", receiver=name, error=str(exc), error_class=type(exc).__name__)
        return True
    with store.begin() as conn:
        prior = repo.receiver_states(conn, hospital).get(name)
        if exc.permanent:
            outbox.quarantine(conn, item.id, now, str(exc))
            repo.set_receiver_state(conn, hospital, name, "stopped", now, last_error=str(exc)[:500], vendor_code=getattr(exc, "code", None))
            repo.raise_finding(conn, hospital, _stopped_finding(name, exc, now), now)
            report.quarantined += 1
            report.stopped.append(name)
        elif item.attempts + 1 >= max_attempts:
            outbox.quarantine(conn, item.id, now, f"gave up after {item.attempts + 1} attempts: {exc}")
            report.quarantined += 1
        else:
            outbox.mark_retry(conn, item.id, now, str(exc), item.attempts, getattr(exc, "retry_after_s", None))
            report.retried += 1
            if prior is None or prior.state == "ok":
                repo.set_receiver_state(conn, hospital, name, "failing", now, last_error=str(exc)[:500], vendor_code=getattr(exc, "code", None))
    if exc.permanent:
        log.error("receiver stopped", receiver=name, error=str(exc), error_class=type(exc).__name__)
    elif prior is None or prior.state == "ok":
        log.warning("receiver failing", receiver=name, error=str(exc), error_class=type(exc).__name__)
    return False


def drain(store: Any, cfg: Any, clock: Any, senders: dict[str, Any], limit: int = 100) -> DrainReport:
    """Send what is due, receiver by receiver, in queue order; stop a receiver's turn at its first failure."""
    report = DrainReport()
    hospital = store.hospital_code
    with store.read() as conn:
        states = repo.receiver_states(conn, hospital)
    for name, sender in senders.items():
        prior = states.get(name)
        if prior is not None and prior.state == "stopped":
            continue
        with store.read() as conn:
            items = repo.queue_head(conn, hospital, name, clock.now(), limit)
        for i, item in enumerate(items):
            if not sender.bucket.take():
                report.deferred += len(items) - i
                break
            try:
                answer = sender.send(item.payload)
            except NotifyError as exc:
                if _failed(store, item, name, exc, clock.now(), cfg.alerts.max_attempts, report):
                    continue
                break
            with store.begin() as conn:
                outbox.mark_sent(conn, item.id, clock.now(), response=redact(answer))
                repo.set_receiver_state(conn, hospital, name, "ok", clock.now(), last_ok_at=clock.now(), last_error=None, vendor_code=None)
            if prior is not None and prior.state != "ok":
                log.info("receiver back", receiver=name)
                prior = None
            report.sent += 1
    return report


def needs_resume(store: Any, name: str) -> bool:
    """Whether ``notify test`` should resume the receiver: it is stopped, or a refused message's finding is open."""
    with store.read() as conn:
        state = repo.receiver_states(conn, store.hospital_code).get(name)
        refused = any(f.rule == REFUSED_RULE and f.subject == name for f in repo.active_findings(conn, store.hospital_code))
    return refused or (state is not None and state.state == "stopped")


def resume_receiver(store: Any, name: str, now: datetime) -> int:
    """Start a stopped receiver again: its quarantined messages go back in the queue (messages set
    aside on their own stay aside), and its findings clear. Returns how many were queued again."""
    hospital = store.hospital_code
    with store.begin() as conn:
        requeued = repo.requeue_quarantined(conn, hospital, name, now)
        repo.set_receiver_state(conn, hospital, name, "ok", now, last_ok_at=now, last_error=None, vendor_code=None)
        for rule in (STOPPED_RULE, REFUSED_RULE):
            repo.raise_finding(conn, hospital, Finding(rule, name, Severity.CRITICAL, "", now), now, active=False)
    return requeued


def status_lines(store: Any, cfg: Any) -> list[str]:
    """For ``vbp-agent status``: one line per receiver with its state and queue depth."""
    with store.read() as conn:
        states = repo.receiver_states(conn, store.hospital_code)
        depth = outbox.depth(conn, store.hospital_code, "notify:")
    lines = []
    for name, rcfg in cfg.receivers.items():
        s = states.get(name)
        state = s.state if s is not None else "ok"
        line = f"receiver {name} ({rcfg.type}): {state}, {depth.get(f'notify:{name}', 0)} queued"
        if s is not None and s.state != "ok" and s.last_error:
            line += f", since {s.since:%Y-%m-%d %H:%M} UTC: {s.last_error}"
        lines.append(line)
    return lines
