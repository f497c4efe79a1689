"""The platform's first day (平台到货确认积压): receipts accepted before the agent was switched on.

The ingestion queues a confirmation automatically only for receipts accepted within
``[platform] auto_confirm_max_age_days`` (7); an older one (a backfill, or weeks of receipts whose
deliveries are still open when a hospital starts) waits for a person. ``backlog`` pairs those
receipts with the open delivery lines exactly as the automatic matching would, changing nothing;
``confirm_backlog`` queues the same pairs after the person has seen them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from agent.domain.model import Receipt
from agent.store import Tx
from agent.store import platform as repo
from agent.upstream.confirm import as_delivery_line, enqueue_confirmations
from agent.upstream.deadlines import DEADLINE
from agent.upstream.matching import DeliveryLine, match_receipt, products_of


@dataclass(frozen=True)
class BacklogLine:
    """An open delivery line matched to a stored receipt that was never confirmed."""

    receipt: Receipt
    delivery_id: str
    product_code: str
    method: str | None
    confidence: float

    @property
    def due(self) -> datetime:
        assert self.receipt.accepted_at is not None
        return self.receipt.accepted_at + DEADLINE

    def late_by(self, now: datetime) -> timedelta:
        """How far past the 24-hour time limit (zero while still within it)."""
        return max(now - self.due, timedelta(0))


@dataclass(frozen=True)
class Backlog:
    lines: list[BacklogLine]
    unmatched: list[Receipt]  # accepted, never confirmed, and no open delivery line fits


def backlog(conn: Tx, hospital: str, *, since: datetime | None = None, item_map: Mapping[str, str] | None = None,
            min_confidence: float = 0.7) -> Backlog:
    """What ``confirm_backlog`` would queue, oldest acceptance first; reads only."""
    item_map = item_map or {}
    taken: set[str] = set()
    found, unmatched = [], []
    for r in repo.receipts_never_confirmed(conn, hospital, since):
        known: dict[str, DeliveryLine] = {}
        lines: list[DeliveryLine] = []
        if r.delivery_id:
            row = repo.delivery_line(conn, hospital, r.delivery_id)
            if row is not None and row.delivery_id not in taken and repo.confirmation_owner(conn, hospital, row.delivery_id) is None:
                known = {row.delivery_id: as_delivery_line(row)}
        else:
            lines = [as_delivery_line(x) for x in repo.open_lines(conn, hospital, products_of(r.item_code, item_map))
                     if x.delivery_id not in taken]
        match = match_receipt(r, lines, item_map, min_confidence, known)
        if match.delivery_id is None or (r.delivery_id and not known):
            unmatched.append(r)
            continue
        taken.add(match.delivery_id)
        product = (known.get(match.delivery_id) or next(ln for ln in lines if ln.delivery_id == match.delivery_id)).product_code
        found.append(BacklogLine(r, match.delivery_id, product, match.method, match.confidence))
    return Backlog(found, unmatched)


def confirm_backlog(conn: Tx, hospital: str, now: datetime, lines: list[BacklogLine], *,
                    item_map: Mapping[str, str] | None = None, min_confidence: float = 0.7) -> int:
    """Queue the confirmations of ``lines`` (a ``backlog`` a person has seen), in the caller's
    transaction; returns how many were queued."""
    return enqueue_confirmations(conn, hospital, [ln.receipt for ln in lines], now, item_map=item_map,
                                 min_confidence=min_confidence, max_age=None)
