"""Warehouse receipt lines (入库明细) in the store, and the keyset cursor they are read by.

One row per source line (its natural key), replaced when the line is edited (its content hash
changes) and marked deleted when the source no longer has it. The cursor ``(changed_at, line_id)``
lives in the core ``cursors`` table under the name ``receipts``. Everything here runs inside the
caller's transaction: a page's lines, its quarantined rows, the cursor and the outbox rows commit
together.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields
from datetime import datetime

from sqlalchemy import Connection, and_, select, update

from agent.domain.model import Receipt
from agent.ports import ReceiptCursor
from agent.store.schema.core import cursors
from agent.store.schema.ingest import receipts

CURSOR = "receipts"
CONTENT = [f.name for f in fields(Receipt) if f.name != "changed_at"]  # what a line's content hash covers


def content_hash(r: Receipt) -> str:
    """The line's fingerprint; a field added later (``pack_factor``) counts only when set, so lines
    stored before it existed do not all read as changed (and re-queue their confirmations)."""
    names = CONTENT if r.pack_factor is not None else [n for n in CONTENT if n != "pack_factor"]
    return hashlib.sha256("\x1f".join(str(getattr(r, n)) for n in names).encode()).hexdigest()


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


def store_lines(conn: Connection, hospital: str, source: str, lines: list[Receipt], now: datetime) -> tuple[list[Receipt], int]:
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
        values = {n: getattr(r, n) for n in CONTENT}
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


def mark_vanished(conn: Connection, hospital: str, source: str, since: datetime, until: datetime, seen: set[str],
                  now: datetime) -> list[Receipt]:
    """Lines stored with changed_at in the re-scanned range that the source no longer has: deleted there.
    Marks them deleted and returns them (as deleted lines)."""
    rows = conn.execute(select(receipts).where(and_(
        receipts.c.hospital_code == hospital, receipts.c.source == source, receipts.c.deleted.is_(False),
        receipts.c.changed_at >= since, receipts.c.changed_at <= until))).all()
    gone = []
    for row in rows:
        if row.line_id in seen:
            continue
        r = Receipt(**{n: getattr(row, n) for n in ["changed_at", *CONTENT]} | {"deleted": True})
        conn.execute(update(receipts).where(and_(receipts.c.hospital_code == hospital, receipts.c.source == source,
                                                 receipts.c.line_id == row.line_id)).values(
            deleted=True, content_hash=content_hash(r), updated_at=now))
        gone.append(r)
    return gone
