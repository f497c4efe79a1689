"""The ``quarantine`` table (隔离): source rows that failed validation, recorded once per row and
counted on repeats, inside the caller's transaction; ``listing`` for ``vbp-agent quarantine list``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select, update

from agent.domain.model import BadRow
from agent.logging import get_logger
from agent.store.schema.ingest import quarantine

log = get_logger("agent.ingest")


def record(conn: Connection, hospital: str, source: str, rows: Iterable[BadRow], now: datetime) -> int:
    """Store bad rows (inside the caller's transaction); returns how many were given."""
    n = 0
    for bad in rows:
        n += 1
        key = bad.key[:200]
        where = and_(quarantine.c.hospital_code == hospital, quarantine.c.source == source,
                     quarantine.c.kind == bad.kind, quarantine.c.row_key == key)
        found = conn.execute(select(quarantine.c.id).where(where)).first()
        if found:
            conn.execute(update(quarantine).where(quarantine.c.id == found.id).values(
                reason=bad.reason, raw=bad.raw, last_seen_at=now, seen=quarantine.c.seen + 1))
        else:
            conn.execute(quarantine.insert().values(
                hospital_code=hospital, source=source, kind=bad.kind, row_key=key, reason=bad.reason, raw=bad.raw,
                first_seen_at=now, last_seen_at=now, seen=1))
    if n:
        log.warning("rows quarantined", source=source, count=n)
    return n


@dataclass(frozen=True)
class Quarantined:
    source: str
    kind: str
    key: str
    reason: str
    raw: dict[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime
    seen: int


def listing(conn: Connection, hospital: str, source: str | None = None, limit: int = 200) -> list[Quarantined]:
    stmt = select(quarantine).where(quarantine.c.hospital_code == hospital)
    if source:
        stmt = stmt.where(quarantine.c.source == source)
    rows = conn.execute(stmt.order_by(quarantine.c.last_seen_at.desc(), quarantine.c.id.desc()).limit(limit)).all()
    return [Quarantined(r.source, r.kind, r.row_key, r.reason, r.raw, r.first_seen_at, r.last_seen_at, r.seen) for r in rows]


def counts(conn: Connection, hospital: str) -> dict[str, tuple[int, datetime | None]]:
    """Per source: rows held in quarantine and when the last one was seen (the console's 数据源)."""
    q = quarantine
    rows = conn.execute(select(q.c.source, func.count(), func.max(q.c.last_seen_at))
                        .where(q.c.hospital_code == hospital).group_by(q.c.source)).all()
    return {src: (int(n), last) for src, n, last in rows}
