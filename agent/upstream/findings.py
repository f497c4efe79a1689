"""Writing the platform's findings into the core ``findings`` table (active until resolved)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, and_, select, update

from agent.domain.findings import Finding
from agent.store.schema.core import findings as findings_table


def write_findings(conn: Connection, hospital: str, found: Iterable[Finding], now: datetime) -> int:
    """Insert or refresh each finding (keyed by hospital, rule, subject); returns how many."""
    n = 0
    for f in found:
        key = and_(findings_table.c.hospital_code == hospital, findings_table.c.rule == f.rule,
                   findings_table.c.subject == f.subject)
        values = dict(severity=str(f.severity), title=f.title, values=f.values, evidence=f.evidence,
                      labels=f.labels, observed_at=f.observed_at, active=1, updated_at=now)
        exists = conn.execute(select(findings_table.c.rule).where(key)).first()
        if exists:
            conn.execute(update(findings_table).where(key).values(**values))
        else:
            conn.execute(findings_table.insert().values(hospital_code=hospital, rule=f.rule, subject=f.subject, **values))
        n += 1
    return n


def resolve_finding(conn: Connection, hospital: str, rule: str, subject: str, now: datetime) -> None:
    conn.execute(
        update(findings_table)
        .where(findings_table.c.hospital_code == hospital, findings_table.c.rule == rule,
               findings_table.c.subject == subject, findings_table.c.active == 1)
        .values(active=0, updated_at=now)
    )


def active_findings(conn: Connection, hospital: str, rule_prefix: str = "platform.") -> list[dict]:
    rows = conn.execute(
        select(findings_table).where(findings_table.c.hospital_code == hospital, findings_table.c.active == 1,
                                     findings_table.c.rule.startswith(rule_prefix))
        .order_by(findings_table.c.rule, findings_table.c.subject)
    ).mappings().all()
    return [dict(r) for r in rows]
