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

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta

from agent.clock import Clock
from agent.domain.model import BadRow, Receipt
from agent.domain.validate import KNOWN_UNITS, receipt_problem
from agent.ports import ReceiptCursor, ReceiptSource
from agent.store import Store, Tx, quarantine, receipts

OnStored = Callable[[Tx, list[Receipt]], None]


@dataclass
class ReceiptStats:
    read: int = 0
    stored: int = 0  # new or changed lines
    unchanged: int = 0
    deleted: int = 0
    bad: int = 0
    pages: int = 0


def _id_key(line_id: str | None) -> tuple[int, int | str]:
    text = line_id or ""
    return (0, int(text)) if text.isdigit() else (1, text)


def _after(a: ReceiptCursor, b: ReceiptCursor) -> bool:
    if b.changed_at is None:
        return a.changed_at is not None
    if a.changed_at is None:
        return False
    return (a.changed_at, _id_key(a.line_id)) > (b.changed_at, _id_key(b.line_id))


def ingest_receipts(store: Store, source: ReceiptSource, clock: Clock, *, settle_lag: timedelta = timedelta(minutes=2),
                    lookback: timedelta = timedelta(hours=24), page_size: int = 1000,
                    known_units: Collection[str] = KNOWN_UNITS, on_stored: OnStored | None = None) -> ReceiptStats:
    """One poll. ``on_stored(conn, receipts)`` runs inside each page's transaction with the lines just
    stored or changed (the platform enqueues arrival confirmations 到货确认 there, atomically)."""
    hc, name = store.hospital_code, source.name
    source_now = source.source_now()
    until = source_now - settle_lag
    with store.read() as conn:
        mark = receipts.load_cursor(conn, hc, name)
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
                                                                       for n in ["changed_at", *receipts.CONTENT]}, row.changed_at))
            else:
                good.append(row)
                seen.add(row.line_id)
        seen.update(b.key for b in bad)
        complete = len(page) < page_size
        now = clock.now()
        with store.begin() as conn:
            changed, unchanged = receipts.store_lines(conn, hc, name, good, now)
            stats.bad += quarantine.record(conn, hc, name, bad, now)
            if complete and rescan_from is not None:
                changed += receipts.mark_vanished(conn, hc, name, rescan_from, until, seen, now)
            if _after(last, mark):
                mark = last
                receipts.save_cursor(conn, hc, name, mark, now)
            if on_stored is not None and changed:
                on_stored(conn, changed)
        stats.stored += len(changed)
        stats.unchanged += unchanged
        stats.deleted += sum(1 for r in changed if r.deleted)
        pos = last
        if complete:
            return stats
