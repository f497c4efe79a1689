"""Reading and writing alert state, silences and acknowledgements in the store."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, select

from agent.domain.alerting import INACTIVE, Alert
from agent.store.findings import resolve_finding, write_findings
from agent.domain.findings import Finding, Severity
from agent.store.schema.alerts import alert_silences, alert_state
from agent.store.schema.core import findings as findings_table

_TIMES = ("pending_since", "fired_at", "resolved_at", "last_notified_at", "escalated_at", "ack_at", "ack_until")


def jsonable(value: Any) -> Any:
    """Finding values as JSON: Decimal to float, dates to ISO text, anything else unknown to text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _row_to_alert(r: Any) -> Alert:
    return Alert(
        key=r.key, rule=r.rule, subject=r.subject, severity=r.severity, title=r.title,
        labels=dict(r.labels or {}), values=dict(r.values or {}), evidence=dict(r.evidence or {}),
        status=r.status, announced=bool(r.announced), flapping=bool(r.flapping),
        changes=tuple(datetime.fromisoformat(t) for t in (r.changes or [])),
        ack_by=r.ack_by, **{t: getattr(r, t) for t in _TIMES},
    )


def load_alerts(conn: Connection, hospital: str, keys: list[str] | None = None) -> dict[str, Alert]:
    stmt = select(alert_state).where(alert_state.c.hospital_code == hospital)
    if keys is not None:
        stmt = stmt.where(alert_state.c.key.in_(keys))
    return {r.key: _row_to_alert(r) for r in conn.execute(stmt)}


def save_alert(conn: Connection, hospital: str, a: Alert, now: datetime, note: str | None = None) -> None:
    values = asdict(a)
    values["changes"] = [t.isoformat() for t in a.changes]
    values.update(labels=jsonable(a.labels), values=jsonable(a.values), evidence=jsonable(a.evidence))
    values.update(hospital_code=hospital, updated_at=now)
    if note is not None:
        values["ack_note"] = note
    cond = (alert_state.c.hospital_code == hospital) & (alert_state.c.key == a.key)
    if conn.execute(select(alert_state.c.key).where(cond)).first() is None:
        conn.execute(alert_state.insert().values(**values))
    else:
        values.pop("key"), values.pop("hospital_code")
        conn.execute(alert_state.update().where(cond).values(**values))


def forget_quiet(conn: Connection, hospital: str, now: datetime, keep_resolved: timedelta = timedelta(days=30)) -> None:
    """Drop keys that never fired, and resolved keys after ``keep_resolved`` (``alerts show`` history)."""
    quiet = (alert_state.c.hospital_code == hospital) & (alert_state.c.status == INACTIVE) & alert_state.c.announced.is_(False)
    quiet = quiet & alert_state.c.flapping.is_(False)
    conn.execute(delete(alert_state).where(quiet, alert_state.c.resolved_at.is_(None)))
    conn.execute(delete(alert_state).where(quiet, alert_state.c.resolved_at < now - keep_resolved))


def active_findings(conn: Connection, hospital: str) -> list[Finding]:
    """The active findings other areas keep in the core ``findings`` table."""
    rows = conn.execute(
        select(findings_table).where(findings_table.c.hospital_code == hospital, findings_table.c.active == 1)
    )
    return [
        Finding(
            rule=r.rule, subject=r.subject, severity=Severity(r.severity), title=r.title, observed_at=r.observed_at,
            values=dict(r.values or {}), evidence=dict(r.evidence or {}), labels=dict(r.labels or {}),
        )
        for r in rows
    ]


def raise_finding(conn: Connection, hospital: str, f: Finding, now: datetime, active: bool = True) -> None:
    """Write (or clear) a local finding in the core table, e.g. a receiver stopped by a permanent error."""
    if active:
        write_findings(conn, hospital, [f], now)
    else:
        resolve_finding(conn, hospital, f.rule, f.subject, now)


def silences(conn: Connection, hospital: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """Silences (屏蔽), current ones only when ``now`` is given."""
    stmt = select(alert_silences).where(alert_silences.c.hospital_code == hospital)
    if now is not None:
        stmt = stmt.where(alert_silences.c.ends_at > now)
    return [dict(r._mapping) for r in conn.execute(stmt.order_by(alert_silences.c.id))]


def add_silence(
    conn: Connection, hospital: str, matchers: dict[str, str], starts: datetime, ends: datetime, who: str, comment: str, now: datetime
) -> int:
    res = conn.execute(
        alert_silences.insert().values(
            hospital_code=hospital, matchers=matchers, starts_at=starts, ends_at=ends, created_by=who, comment=comment, created_at=now
        ).returning(alert_silences.c.id)
    )
    return int(res.scalar_one())


def end_silence(conn: Connection, hospital: str, silence_id: int, now: datetime) -> bool:
    res = conn.execute(
        alert_silences.update()
        .where(alert_silences.c.hospital_code == hospital, alert_silences.c.id == silence_id, alert_silences.c.ends_at > now)
        .values(ends_at=now)
    )
    return res.rowcount > 0


def alert_to_json(a: Alert) -> dict[str, Any]:
    data = asdict(a)
    for t in _TIMES:
        data[t] = data[t].isoformat() if data[t] else None
    data["changes"] = [t.isoformat() for t in a.changes]
    return jsonable(data)


def alert_from_json(data: dict[str, Any]) -> Alert:
    d = dict(data)
    for t in _TIMES:
        d[t] = datetime.fromisoformat(d[t]) if d.get(t) else None
    d["changes"] = tuple(datetime.fromisoformat(t) for t in d.get("changes", []))
    return Alert(**d)
