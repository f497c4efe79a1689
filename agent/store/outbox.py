"""The outbox: everything that leaves the hospital (platform calls, notifications) goes through it.

Rows are enqueued in the same transaction as the data that caused them, with an idempotency key;
a drainer claims due rows, sends them, and records ``sent`` or schedules a retry with exponential
backoff and jitter (honouring a server's Retry-After up to a cap), or quarantines a permanent
failure with the remote side's own message. Payloads are signed at send time, never here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from agent.store.schema.core import outbox

BASE_DELAY_S = 30.0
MAX_DELAY_S = 3600.0
RETRY_AFTER_CAP_S = 6 * 3600.0


@dataclass(frozen=True)
class OutboxItem:
    id: int
    channel: str
    idem_key: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


def enqueue(conn: Connection, hospital: str, channel: str, idem_key: str, payload: dict[str, Any], now: datetime) -> bool:
    """Queue a message once per (channel, idem_key). Returns False when it was already queued."""
    values = dict(
        hospital_code=hospital, channel=channel, idem_key=idem_key, payload=payload, status="pending",
        attempts=0, created_at=now, next_try_at=now,
    )
    dialect = conn.dialect.name
    stmt: sqlite.Insert | postgresql.Insert
    if dialect == "sqlite":
        stmt = sqlite.insert(outbox).values(**values).on_conflict_do_nothing()
    elif dialect == "postgresql":
        stmt = postgresql.insert(outbox).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - the store runs on SQLite or PostgreSQL only
        raise NotImplementedError(dialect)
    return conn.execute(stmt.returning(outbox.c.id)).first() is not None


def due(conn: Connection, hospital: str, channel: str | None, now: datetime, limit: int = 100) -> list[OutboxItem]:
    """Pending rows whose time has come, oldest first."""
    cond = and_(outbox.c.hospital_code == hospital, outbox.c.status == "pending", outbox.c.next_try_at <= now)
    if channel is not None:
        cond = and_(cond, outbox.c.channel.like(channel.replace("*", "%")) if "*" in channel else outbox.c.channel == channel)
    rows = conn.execute(select(outbox).where(cond).order_by(outbox.c.next_try_at, outbox.c.id).limit(limit)).all()
    return [OutboxItem(r.id, r.channel, r.idem_key, r.payload, r.attempts, r.created_at) for r in rows]


def mark_sent(conn: Connection, item_id: int, now: datetime, response: Any = None) -> None:
    conn.execute(
        update(outbox).where(outbox.c.id == item_id).values(
            status="sent", sent_at=now, attempts=outbox.c.attempts + 1, response=response, last_error=None
        )
    )


def backoff(attempts: int, retry_after_s: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds until the next try: exponential with full jitter, or the server's Retry-After (capped)."""
    if retry_after_s is not None and retry_after_s >= 0:
        return min(retry_after_s, RETRY_AFTER_CAP_S)
    ceiling = min(MAX_DELAY_S, BASE_DELAY_S * (2 ** min(attempts, 16)))
    r = (rng or random).random()
    return ceiling / 2 + r * ceiling / 2


def mark_retry(conn: Connection, item_id: int, now: datetime, error: str, attempts: int, retry_after_s: float | None = None) -> datetime:
    when = now + timedelta(seconds=backoff(attempts, retry_after_s))
    conn.execute(
        update(outbox).where(outbox.c.id == item_id).values(
            attempts=outbox.c.attempts + 1, next_try_at=when, last_error=error[:2000]
        )
    )
    return when


def quarantine(conn: Connection, item_id: int, now: datetime, error: str, response: Any = None) -> None:
    conn.execute(
        update(outbox).where(outbox.c.id == item_id).values(
            status="quarantined", attempts=outbox.c.attempts + 1, last_error=error[:2000], response=response, sent_at=None
        )
    )


def depth(conn: Connection, hospital: str, channel_prefix: str = "") -> dict[str, int]:
    """Pending rows per channel."""
    stmt = (
        select(outbox.c.channel, func.count())
        .where(outbox.c.hospital_code == hospital, outbox.c.status == "pending", outbox.c.channel.startswith(channel_prefix))
        .group_by(outbox.c.channel)
    )
    return {ch: n for ch, n in conn.execute(stmt).all()}


def pending_item(conn: Connection, hospital: str, channel: str, idem_key: str) -> OutboxItem | None:
    """The message queued under (channel, idem_key), if it is still pending."""
    r = conn.execute(select(outbox).where(
        outbox.c.hospital_code == hospital, outbox.c.channel == channel, outbox.c.idem_key == idem_key,
        outbox.c.status == "pending")).first()
    return OutboxItem(r.id, r.channel, r.idem_key, r.payload, r.attempts, r.created_at) if r is not None else None


def replace_payload(conn: Connection, item_id: int, payload: dict[str, Any]) -> None:
    """A pending message's new payload (it is signed when sent, so nothing stale leaves)."""
    conn.execute(update(outbox).where(outbox.c.id == item_id).values(payload=payload))


def mark_sent_many(conn: Connection, item_ids: list[int], now: datetime, response: Any = None) -> None:
    """What ``mark_sent`` does, for a whole batch in one statement (the drain's hot path)."""
    if not item_ids:
        return
    conn.execute(update(outbox).where(outbox.c.id.in_(item_ids)).values(
        status="sent", sent_at=now, attempts=outbox.c.attempts + 1, response=response, last_error=None))
