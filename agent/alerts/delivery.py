"""Draining the outbox through the senders, one receiver at a time.

A message is sent outside any transaction and recorded after; a crash between the two sends it
once more on restart (at most one duplicate). A transient failure (network, 5xx, rate limit) is
retried with backoff; a permanent one (bad key, bad signature, keyword rejected) quarantines the
message, stops that receiver's queue and raises a local critical finding until a person fixes it
and ``vbp-agent notify test`` succeeds.
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


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    quarantined: int = 0
    deferred: int = 0  # held back by a token bucket
    stopped: list[str] = field(default_factory=list)


def _stopped_finding(name: str, exc: NotifyError, now: datetime) -> Finding:
    code = getattr(exc, "code", None) or "-"
    return Finding(
        rule=STOPPED_RULE, subject=name, severity=Severity.CRITICAL,
        title=f"通知渠道“{name}”停止发送（错误码 {code}）", observed_at=now,
        values={"receiver": name, "error": str(exc)[:200]},
        labels={"kind": "notify"},
        evidence={"action": f"请检查“{name}”的机器人密钥、签名密钥或关键词设置，改好后运行 vbp-agent notify test {name} 恢复发送。"},
    )


def _failed(store: Any, item: outbox.OutboxItem, name: str, exc: NotifyError, now: datetime, max_attempts: int, report: DrainReport) -> None:
    """Record a failure: retry later, give up on this message, or stop the receiver (permanent)."""
    hospital = store.hospital_code
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
                _failed(store, item, name, exc, clock.now(), cfg.alerts.max_attempts, report)
                break
            with store.begin() as conn:
                outbox.mark_sent(conn, item.id, clock.now(), response=redact(answer))
                repo.set_receiver_state(conn, hospital, name, "ok", clock.now(), last_ok_at=clock.now(), last_error=None, vendor_code=None)
            if prior is not None and prior.state != "ok":
                log.info("receiver back", receiver=name)
                prior = None
            report.sent += 1
    return report


def resume_receiver(store: Any, name: str, now: datetime) -> int:
    """Start a stopped receiver again: its quarantined messages go back in the queue. Returns how many."""
    hospital = store.hospital_code
    with store.begin() as conn:
        requeued = repo.requeue_quarantined(conn, hospital, name, now)
        repo.set_receiver_state(conn, hospital, name, "ok", now, last_ok_at=now, last_error=None, vendor_code=None)
        repo.raise_finding(conn, hospital, Finding(STOPPED_RULE, name, Severity.CRITICAL, "", now), now, active=False)
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
