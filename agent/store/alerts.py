"""The alerts aggregate: lifecycle state per key, silences and acknowledgements, notices waiting for
their group, the notification log, and each receiver's state (stopped after a robot-level error;
a message the vendor refuses on its own is set aside, and the queue goes on).

The JSON forms of an alert (``alert_to_json`` / ``alert_from_json``) are the store's: a notice
waiting for its group keeps its alert in that form.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from agent.domain.alerting import INACTIVE, Alert, Notice
from agent.domain.findings import Finding, Severity
from agent.store.findings import resolve_finding, write_findings
from agent.store.outbox import OutboxItem
from agent.store.schema.alerts import (
    alert_groups,
    alert_notices,
    alert_silences,
    alert_state,
    notification_log,
    receiver_state,
)
from agent.store.schema.core import findings as findings_table
from agent.store.schema.core import outbox as outbox_table

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


def firing_counts(conn: Connection, hospital: str) -> dict[str, int]:
    """How many alerts are firing, per severity (the daemon's ``vbp_alerts_firing`` gauge)."""
    rows = conn.execute(
        select(alert_state.c.severity, func.count())
        .where(alert_state.c.hospital_code == hospital, alert_state.c.status == "firing")
        .group_by(alert_state.c.severity)
    ).all()
    return {sev: int(n) for sev, n in rows}


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


# -- notices waiting for their group (分组), the groups' flush counts, the notification log ----------


@dataclass(frozen=True)
class WaitingNotice:
    """A notice routed to ``receiver``, waiting in its group until the group is due."""

    id: int
    receiver: str
    group_key: str
    alert_key: str
    kind: str
    severity: str
    created_at: datetime
    payload: dict[str, Any]

    def notice(self) -> Notice:
        return Notice(self.kind, alert_from_json(self.payload["alert"]), datetime.fromisoformat(self.payload["at"]))


@dataclass(frozen=True)
class GroupState:
    last_flush_at: datetime
    flushes: int


@dataclass(frozen=True)
class LoggedNotice:
    """One line of the notification log: a notice about ``alert_key`` queued for ``receiver``."""

    receiver: str
    alert_key: str
    kind: str
    idem_key: str
    queued_at: datetime


def add_notices(conn: Connection, hospital: str, routed: Iterable[tuple[str, str, Notice]]) -> int:
    """Queue notices, each as ``(receiver, group_key, notice)``, to wait for their group. Returns how many."""
    rows = [
        dict(
            hospital_code=hospital, receiver=receiver, group_key=group_key, alert_key=n.alert.key, kind=n.kind,
            severity=n.alert.severity, payload={"alert": alert_to_json(n.alert), "at": n.at.isoformat()}, created_at=n.at,
        )
        for receiver, group_key, n in routed
    ]
    if rows:
        conn.execute(alert_notices.insert(), rows)
    return len(rows)


def waiting_notices(conn: Connection, hospital: str) -> list[WaitingNotice]:
    """Every notice waiting for its group, in the order they were queued."""
    rows = conn.execute(select(alert_notices).where(alert_notices.c.hospital_code == hospital).order_by(alert_notices.c.id)).all()
    return [
        WaitingNotice(r.id, r.receiver, r.group_key, r.alert_key, r.kind, r.severity, r.created_at, r.payload)
        for r in rows
    ]


def group_states(conn: Connection, hospital: str) -> dict[tuple[str, str], GroupState]:
    """When each (receiver, group) last became a message, and how many it has become."""
    return {
        (g.receiver, g.group_key): GroupState(g.last_flush_at, g.flushes)
        for g in conn.execute(select(alert_groups).where(alert_groups.c.hospital_code == hospital))
    }


def record_flush(
    conn: Connection, hospital: str, receiver: str, group_key: str, sent: list[WaitingNotice], idem: str, now: datetime,
    prior: GroupState | None,
) -> None:
    """A group became a message: its notices leave the queue for the log, and the group counts one more flush."""
    conn.execute(delete(alert_notices).where(alert_notices.c.id.in_([r.id for r in sent])))
    conn.execute(notification_log.insert(), [
        dict(hospital_code=hospital, receiver=receiver, alert_key=r.alert_key, kind=r.kind, idem_key=idem, queued_at=now)
        for r in sent
    ])
    if prior is None:
        conn.execute(alert_groups.insert().values(hospital_code=hospital, receiver=receiver, group_key=group_key, last_flush_at=now, flushes=1))
    else:
        conn.execute(alert_groups.update().where(
            (alert_groups.c.hospital_code == hospital) & (alert_groups.c.receiver == receiver) & (alert_groups.c.group_key == group_key)
        ).values(last_flush_at=now, flushes=prior.flushes + 1))


def notifications_of(conn: Connection, hospital: str, alert_key: str) -> list[LoggedNotice]:
    """The notices queued about one alert, oldest first (``alerts show``)."""
    log = notification_log
    rows = conn.execute(select(log).where(log.c.hospital_code == hospital, log.c.alert_key == alert_key).order_by(log.c.id)).all()
    return [LoggedNotice(r.receiver, r.alert_key, r.kind, r.idem_key, r.queued_at) for r in rows]


# -- receivers: their state and their queue in the outbox ------------------------------------------


@dataclass(frozen=True)
class ReceiverState:
    """``state`` is ok, failing or stopped (a robot-level error: nothing is sent until ``notify test``)."""

    receiver: str
    state: str
    since: datetime
    last_ok_at: datetime | None
    last_error: str | None
    vendor_code: str | None


def _channel(receiver: str) -> str:
    return f"notify:{receiver}"


def receiver_states(conn: Connection, hospital: str) -> dict[str, ReceiverState]:
    rows = conn.execute(select(receiver_state).where(receiver_state.c.hospital_code == hospital))
    return {r.receiver: ReceiverState(r.receiver, r.state, r.since, r.last_ok_at, r.last_error, r.vendor_code) for r in rows}


def set_receiver_state(conn: Connection, hospital: str, name: str, state: str, now: datetime, **extra: Any) -> None:
    """Set a receiver's state (``since`` is set when its first state is written); ``extra``: last_ok_at, last_error, vendor_code."""
    cond = (receiver_state.c.hospital_code == hospital) & (receiver_state.c.receiver == name)
    if conn.execute(select(receiver_state.c.state).where(cond)).first() is None:
        conn.execute(receiver_state.insert().values(hospital_code=hospital, receiver=name, state=state, since=now, **extra))
    else:
        conn.execute(receiver_state.update().where(cond).values(state=state, **extra))


def queue_head(conn: Connection, hospital: str, name: str, now: datetime, limit: int) -> list[OutboxItem]:
    """The receiver's pending messages in the order they were queued, up to the first one not yet
    due: a message waiting for its retry holds back the ones behind it (a resolved notice never
    overtakes its firing notice)."""
    rows = conn.execute(
        select(outbox_table)
        .where(outbox_table.c.hospital_code == hospital, outbox_table.c.channel == _channel(name), outbox_table.c.status == "pending")
        .order_by(outbox_table.c.id).limit(limit)
    ).all()
    head = []
    for r in rows:
        if r.next_try_at > now:
            break
        head.append(OutboxItem(r.id, r.channel, r.idem_key, r.payload, r.attempts, r.created_at))
    return head


SET_ASIDE = "set_aside"  # a message the vendor refused on its own (too long, a bad field): never resent


def set_aside(conn: Connection, item_id: int, error: str) -> None:
    """Take one refused message out of its receiver's queue, with the vendor's words; the rest go on.
    Unlike a quarantined message, it is not queued again when the receiver is resumed."""
    conn.execute(
        update(outbox_table).where(outbox_table.c.id == item_id)
        .values(status=SET_ASIDE, attempts=outbox_table.c.attempts + 1, last_error=error[:2000], sent_at=None)
    )


def requeue_quarantined(conn: Connection, hospital: str, name: str, now: datetime) -> int:
    """Put the receiver's quarantined messages (held when it stopped) back in its queue, due now.
    Messages set aside on their own stay aside. Returns how many."""
    res = conn.execute(
        update(outbox_table)
        .where(outbox_table.c.hospital_code == hospital, outbox_table.c.channel == _channel(name), outbox_table.c.status == "quarantined")
        .values(status="pending", next_try_at=now, attempts=0)
    )
    return res.rowcount
