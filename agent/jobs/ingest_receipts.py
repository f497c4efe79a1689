"""Receipt ingestion: warehouse receipt lines (入库明细) read by keyset cursor.

The cursor is ``(changed_at, line_id)``, upper-bounded by the source database's own clock minus a
settle lag, so a row committed late with an older timestamp, or many rows sharing one timestamp
across a page boundary, are never skipped. Every poll re-scans ``lookback`` before the cursor;
lines are deduplicated on their natural key (the source line id) and an edited line replaces its
earlier version. Each page's rows, quarantined rows, the cursor and the caller's ``on_stored``
work commit in one transaction. A line deleted in the source (soft delete flag, or gone from the
re-scanned window) is stored as deleted and reported as changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, select, update

from agent.clock import Clock
from agent.domain.model import BadRow, Receipt
from agent.domain.validate import KNOWN_UNITS, receipt_problem
from agent.jobs import quarantine as quarantine_repo
from agent.ports import ReceiptCursor, ReceiptSource
from agent.store import Store
from agent.store.schema.core import cursors
from agent.store.schema.ingest import receipts

CURSOR = "receipts"
OnStored = Callable[[Connection, list[Receipt]], None]
_CONTENT = [f.name for f in fields(Receipt) if f.name != "changed_at"]


@dataclass
class ReceiptStats:
    read: int = 0
    stored: int = 0  # new or changed lines
    unchanged: int = 0
    deleted: int = 0
    bad: int = 0
    pages: int = 0


def content_hash(r: Receipt) -> str:
    return hashlib.sha256("\x1f".join(str(getattr(r, n)) for n in _CONTENT).encode()).hexdigest()


def load_cursor(conn: Connection, hospital: str, source: str) -> ReceiptCursor:
    row = conn.execute(select(cursors.c.value).where(and_(
        cursors.c.hospital_code == hospital, cursors.c.source == source, cursors.c.name == CURSOR))).first()
    if row is None:
        return ReceiptCursor()
    return ReceiptCursor(datetime.fromisoformat(row.value["changed_at"]), row.value["line_id"])


def save_cursor(conn: Connection, hospital: str, source: str, cur: ReceiptCursor, now: datetime) -> None:
    value = {"changed_at": cur.changed_at.isoformat() if cur.changed_at else None, "line_id": cur.line_id}
    key = and_(cursors.c.hospital_code == hospital, cursors.c.source == source, cursors.c.name == CURSOR)
    if conn.execute(update(cursors).where(key).values(value=value, updated_at=now)).rowcount == 0:
        conn.execute(cursors.insert().values(hospital_code=hospital, source=source, name=CURSOR, value=value, updated_at=now))


def _id_key(line_id: str | None) -> tuple[int, int | str]:
    text = line_id or ""
    return (0, int(text)) if text.isdigit() else (1, text)


def _after(a: ReceiptCursor, b: ReceiptCursor) -> bool:
    if b.changed_at is None:
        return a.changed_at is not None
    if a.changed_at is None:
        return False
    return (a.changed_at, _id_key(a.line_id)) > (b.changed_at, _id_key(b.line_id))


def _store(conn: Connection, hospital: str, source: str, lines: list[Receipt], now: datetime) -> tuple[list[Receipt], int]:
    """Insert new lines, replace changed ones; returns (new or changed lines, unchanged count)."""
    if not lines:
        return [], 0
    latest = {r.line_id: r for r in lines}  # the same line twice in one page: the later version wins
    have = {r.line_id: (r.content_hash, r.changed_at) for r in conn.execute(
        select(receipts.c.line_id, receipts.c.content_hash, receipts.c.changed_at).where(and_(
            receipts.c.hospital_code == hospital, receipts.c.source == source, receipts.c.line_id.in_(list(latest)))))}
    changed, unchanged = [], 0
    for r in latest.values():
        h = content_hash(r)
        values = {n: getattr(r, n) for n in _CONTENT}
        values.update(changed_at=r.changed_at, content_hash=h, updated_at=now)
        if r.line_id not in have:
            conn.execute(receipts.insert().values(hospital_code=hospital, source=source, first_seen_at=now, **values))
            changed.append(r)
        elif have[r.line_id][0] != h:
            conn.execute(update(receipts).where(and_(receipts.c.hospital_code == hospital, receipts.c.source == source,
                                                     receipts.c.line_id == r.line_id)).values(**values))
            changed.append(r)
        else:
            unchanged += 1
            if have[r.line_id][1] == r.changed_at:
                continue
            conn.execute(update(receipts).where(and_(receipts.c.hospital_code == hospital, receipts.c.source == source,
                                                     receipts.c.line_id == r.line_id)).values(changed_at=r.changed_at))
    return changed, unchanged


def _vanished(conn: Connection, hospital: str, source: str, since: datetime, until: datetime, seen: set[str],
              now: datetime) -> list[Receipt]:
    """Lines stored with changed_at in the re-scanned range that the source no longer has: deleted there."""
    rows = conn.execute(select(receipts).where(and_(
        receipts.c.hospital_code == hospital, receipts.c.source == source, receipts.c.deleted.is_(False),
        receipts.c.changed_at >= since, receipts.c.changed_at <= until))).all()
    gone = []
    for row in rows:
        if row.line_id in seen:
            continue
        r = Receipt(**{n: getattr(row, n) for n in ["changed_at", *_CONTENT]} | {"deleted": True})
        conn.execute(update(receipts).where(and_(receipts.c.hospital_code == hospital, receipts.c.source == source,
                                                 receipts.c.line_id == row.line_id)).values(
            deleted=True, content_hash=content_hash(r), updated_at=now))
        gone.append(r)
    return gone


def ingest_receipts(store: Store, source: ReceiptSource, clock: Clock, *, settle_lag: timedelta = timedelta(minutes=2),
                    lookback: timedelta = timedelta(hours=24), page_size: int = 1000,
                    known_units: Collection[str] = KNOWN_UNITS, on_stored: OnStored | None = None) -> ReceiptStats:
    """One poll. ``on_stored(conn, receipts)`` runs inside each page's transaction with the lines just
    stored or changed (the platform enqueues arrival confirmations 到货确认 there, atomically)."""
    hc, name = store.hospital_code, source.name
    source_now = source.source_now()
    until = source_now - settle_lag
    with store.read() as conn:
        mark = load_cursor(conn, hc, name)
    rescan_from = mark.changed_at - lookback if mark.changed_at else None
    pos = ReceiptCursor(rescan_from, None) if rescan_from else ReceiptCursor()
    stats, seen = ReceiptStats(), set()
    while True:
        page = list(source.read_receipts(pos, until, page_size))
        stats.pages += 1
        stats.read += len(page)
        last = pos
        good, bad = [], []
        for row in page:
            if isinstance(row, BadRow):
                bad.append(row)
                if row.changed_at is not None:
                    last = ReceiptCursor(row.changed_at, row.key)
                continue
            last = ReceiptCursor(row.changed_at, row.line_id)
            problem = receipt_problem(row, max(source_now, clock.now()), known_units)
            if problem:
                bad.append(BadRow("receipt", row.line_id, problem, {n: None if getattr(row, n) is None else str(getattr(row, n))
                                                                       for n in ["changed_at", *_CONTENT]}, row.changed_at))
            else:
                good.append(row)
                seen.add(row.line_id)
        seen.update(b.key for b in bad)
        complete = len(page) < page_size
        now = clock.now()
        with store.begin() as conn:
            changed, unchanged = _store(conn, hc, name, good, now)
            stats.bad += quarantine_repo.record(conn, hc, name, bad, now)
            if complete and rescan_from is not None:
                changed += _vanished(conn, hc, name, rescan_from, until, seen, now)
            if _after(last, mark):
                mark = last
                save_cursor(conn, hc, name, mark, now)
            if on_stored is not None and changed:
                on_stored(conn, changed)
        stats.stored += len(changed)
        stats.unchanged += unchanged
        stats.deleted += sum(1 for r in changed if r.deleted)
        pos = last
        if complete:
            return stats
