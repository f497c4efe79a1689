"""One pass of the lifecycle over the store: findings in, notices routed to receivers out.

State is read and written in the caller's transaction, so a restart between passes neither
repeats a firing notice nor forgets a resolution.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent.alerts.routing import deliveries, policy_for
from agent.domain.alerting import Alert, Notice, decide, observe, silenced_by
from agent.domain.findings import Finding
from agent.store import Tx
from agent.store import alerts as repo


def _strongest(findings: list[Finding]) -> dict[str, Finding]:
    by_key: dict[str, Finding] = {}
    for f in findings:
        old = by_key.get(f.key)
        if old is None or f.severity.rank > old.severity.rank:
            by_key[f.key] = f
    return by_key


def apply_findings(conn: Tx, hospital: str, cfg: Any, now: datetime, findings: list[Finding]) -> list[Notice]:
    """Advance every known key and every finding's key; queue the notices for their receivers."""
    by_key = _strongest(findings)
    states = repo.load_alerts(conn, hospital)
    current = repo.silences(conn, hospital, now)
    notices: list[Notice] = []
    for key in sorted(set(by_key) | set(states)):
        f = by_key.get(key)
        before = states.get(key) or Alert(key=key, rule=f.rule, subject=f.subject)  # type: ignore[union-attr]
        seen = observe(before, f, now, policy_for(cfg.alerts, cfg.routes, before))
        after, due = decide(seen, now, policy_for(cfg.alerts, cfg.routes, seen), silenced_by(current, seen, now))
        if after != before or key not in states:
            repo.save_alert(conn, hospital, after, now)
        notices += due
    queue_notices(conn, hospital, cfg, notices)
    repo.forget_quiet(conn, hospital, now)
    return notices


def queue_notices(conn: Tx, hospital: str, cfg: Any, notices: list[Notice]) -> int:
    return repo.add_notices(conn, hospital, [(d.receiver, d.group_key, n) for n in notices for d in deliveries(cfg.routes, n)])
