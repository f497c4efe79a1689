"""The platform's findings in the core ``findings`` table (written with ``agent.store.findings``)."""

from __future__ import annotations

from sqlalchemy import Connection, select

from agent.store.schema.core import findings as findings_table


def active_findings(conn: Connection, hospital: str, rule_prefix: str = "platform.") -> list[dict]:
    rows = conn.execute(
        select(findings_table).where(findings_table.c.hospital_code == hospital, findings_table.c.active == 1,
                                     findings_table.c.rule.startswith(rule_prefix))
        .order_by(findings_table.c.rule, findings_table.c.subject)
    ).mappings().all()
    return [dict(r) for r in rows]
