"""Deadline safety: arrival confirmation (到货确认) is due 24 hours after acceptance (seed 000).

A receipt accepted ``late_after_h`` (20) hours ago whose confirmation the platform has not yet
accepted raises a critical finding, early enough for a person to confirm by hand. The finding is
resolved once the platform accepts the confirmation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agent.domain.findings import Finding, Severity
from agent.store import Tx
from agent.store import platform as repo
from agent.store.findings import write_findings

RULE_LATE = "platform.confirm_late"
DEADLINE = timedelta(hours=24)


def _late(subject: str, delivery_id: str | None, accepted_at: datetime, state: str, now: datetime,
          message: str | None = None) -> Finding:
    due = accepted_at + DEADLINE
    left_h = round((due - now).total_seconds() / 3600, 1)
    what = f"配送单 {delivery_id}" if delivery_id else f"入库记录 {subject}（未匹配配送单）"
    when = f"剩余 {left_h} 小时" if left_h > 0 else f"已超时 {-left_h} 小时"
    return Finding(
        rule=RULE_LATE, subject=subject, severity=Severity.CRITICAL, observed_at=now,
        title=f"{what} 验收后尚未完成平台到货确认，24小时时限{when}，请立即人工确认",
        values={"hours_left": left_h, "state": state},
        evidence={"accepted_at": accepted_at.isoformat(), "due_at": due.isoformat(), "delivery_id": delivery_id,
                  "platform_message": message},
        labels={"area": "platform", "kind": "arrival_confirmation"},
    )


def late_confirmations(conn: Tx, hospital: str, now: datetime, late_after_h: float = 20.0) -> list[Finding]:
    """Critical findings for every acceptance older than ``late_after_h`` not yet confirmed."""
    cutoff = now - timedelta(hours=late_after_h)
    found = [
        _late(r.receipt_line_id, r.delivery_id, r.accepted_at, r.state, now, r.platform_message)
        for r in repo.waiting_confirmations(conn, hospital, cutoff)
    ]
    found += [
        _late(r.receipt_line_id, None, r.accepted_at, r.status, now)
        for r in repo.waiting_receipts(conn, hospital, cutoff)
    ]
    return found


def check_deadlines(conn: Tx, hospital: str, now: datetime, late_after_h: float = 20.0) -> list[Finding]:
    """Write the late findings, resolve those whose confirmation went through; returns the late ones."""
    found = late_confirmations(conn, hospital, now, late_after_h)
    write_findings(conn, hospital, found, now, replace_rules=(RULE_LATE,))
    return found
