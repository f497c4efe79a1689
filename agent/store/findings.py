"""The core ``findings`` table: every area writes its findings here; the alert lifecycle reads them.

One upsert for everyone. ``replace_rules`` makes a write authoritative for those rules: a finding
of those rules that is no longer seen becomes inactive (resolved).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, func, select, update

from agent.domain.findings import Finding, Severity
from agent.store.schema.core import findings as table

_KEY = and_(table.c.hospital_code == bindparam("b_hospital"), table.c.rule == bindparam("b_rule"),
            table.c.subject == bindparam("b_subject"))


def write_findings(conn: Connection, hospital: str, found: Iterable[Finding], now: datetime, *,
                   replace_rules: Iterable[str] | None = None) -> int:
    """Insert or refresh each finding (keyed by hospital, rule, subject); returns how many."""
    found = list(found)
    rules = set(replace_rules or ()) | {f.rule for f in found}
    if not rules:
        return 0
    existing = {(r.rule, r.subject): r.active for r in conn.execute(
        select(table.c.rule, table.c.subject, table.c.active).where(table.c.hospital_code == hospital, table.c.rule.in_(rules)))}
    rows = [{"b_hospital": hospital, "b_rule": f.rule, "b_subject": f.subject, "severity": str(f.severity),
             "title": f.title, "values": f.values, "evidence": f.evidence, "labels": f.labels,
             "observed_at": f.observed_at, "active": 1, "updated_at": now} for f in found]
    old = [r for r in rows if (r["b_rule"], r["b_subject"]) in existing]
    new = [r for r in rows if (r["b_rule"], r["b_subject"]) not in existing]
    if old:
        conn.execute(table.update().where(_KEY), old)
    if new:
        conn.execute(table.insert(), [{"hospital_code": r.pop("b_hospital"), "rule": r.pop("b_rule"),
                                       "subject": r.pop("b_subject"), **r} for r in new])
    if replace_rules is not None:
        seen = {(f.rule, f.subject) for f in found}
        replaced = set(replace_rules)
        gone = [{"b_hospital": hospital, "b_rule": r, "b_subject": s, "active": 0, "updated_at": now}
                for (r, s), active in existing.items() if active and r in replaced and (r, s) not in seen]
        if gone:
            conn.execute(table.update().where(_KEY), gone)
    return len(rows)


def resolve_finding(conn: Connection, hospital: str, rule: str, subject: str, now: datetime) -> None:
    conn.execute(
        update(table)
        .where(table.c.hospital_code == hospital, table.c.rule == rule, table.c.subject == subject, table.c.active == 1)
        .values(active=0, updated_at=now)
    )


def findings_between(conn: Connection, hospital: str, rules: Iterable[str], start: datetime, end: datetime) -> list[Finding]:
    """Findings of ``rules`` last observed in [start, end), active or resolved, oldest first."""
    rows = conn.execute(select(table).where(table.c.hospital_code == hospital, table.c.rule.in_(sorted(set(rules))),
                                            table.c.observed_at >= start, table.c.observed_at < end)
                        .order_by(table.c.observed_at, table.c.rule, table.c.subject)).mappings().all()
    return [Finding(rule=r["rule"], subject=r["subject"], severity=Severity(r["severity"]), title=r["title"],
                    observed_at=r["observed_at"], values=r["values"] or {}, evidence=r["evidence"] or {},
                    labels=r["labels"] or {}) for r in rows]


def active_by_rule(conn: Connection, hospital: str, rules: Iterable[str]) -> dict[str, tuple[int, int]]:
    """rule -> (active findings, of which critical), for the rules that have any."""
    out: dict[str, tuple[int, int]] = {}
    for rule, severity, n in conn.execute(
            select(table.c.rule, table.c.severity, func.count()).where(
                table.c.hospital_code == hospital, table.c.active == 1, table.c.rule.in_(sorted(set(rules))))
            .group_by(table.c.rule, table.c.severity)):
        total, critical = out.get(rule, (0, 0))
        out[rule] = (total + n, critical + (n if severity == "critical" else 0))
    return out
