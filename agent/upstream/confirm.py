"""Queueing arrival confirmations (到货确认) in the transaction that stores the receipts.

``enqueue_confirmations`` is the ingestion's ``on_stored`` callback: for each accepted receipt it
finds the delivery line, records the match, and queues one confirmation per delivery line in the
outbox (channel ``platform:confirm``, idempotency key ``confirm:<delivery id>``). Re-reading the
same receipt changes nothing. A short delivery confirms the accepted quantity. A receipt with no
line yet stays ``unmatched`` (a finding for staff) and is tried again after each delivery sync.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from agent.domain.findings import Finding, Severity
from agent.domain.model import Receipt
from agent.store import Tx
from agent.store import platform as repo
from agent.store.findings import resolve_finding, write_findings
from agent.upstream.corrections import apply_correction
from agent.upstream.deadlines import RULE_LATE
from agent.upstream.matching import DeliveryLine, Match, match_receipt, products_of

CHANNEL = "platform:confirm"
RULE_UNMATCHED = "platform.receipt_unmatched"
MAX_AGE = timedelta(days=7)  # the default of [platform] auto_confirm_max_age_days


def idem_key_for(delivery_id: str) -> str:
    return f"confirm:{delivery_id}"


def as_delivery_line(row: repo.DeliveryRecord) -> DeliveryLine:
    return DeliveryLine(row.delivery_id, row.product_code, Decimal(row.quantity), row.lot, row.shipped_at)


def _open_lines(conn: Tx, hospital: str, products: set[str]) -> list[DeliveryLine]:
    return [as_delivery_line(r) for r in repo.open_lines(conn, hospital, products)]


def _known_line(conn: Tx, hospital: str, delivery_id: str) -> dict[str, DeliveryLine]:
    row = repo.delivery_line(conn, hospital, delivery_id)
    return {row.delivery_id: as_delivery_line(row)} if row else {}


def _save_receipt(conn: Tx, hospital: str, r: Receipt, match: Match, status: str, now: datetime,
                  exists: bool) -> None:
    repo.save_receipt(conn, hospital, r, delivery_id=match.delivery_id or r.delivery_id, status=status,
                      method=match.method, confidence=match.confidence,
                      detail={"reason": match.reason, "candidates": match.candidates}, now=now, exists=exists)


def _unmatched_finding(r: Receipt, match: Match, now: datetime) -> Finding:
    return Finding(
        rule=RULE_UNMATCHED, subject=r.line_id, severity=Severity.WARNING, observed_at=now,
        title=f"入库验收记录 {r.line_id}（{r.item_code}，数量 {r.quantity}）未匹配到平台配送单，无法自动到货确认",
        values={"quantity": str(r.quantity), "confidence": match.confidence},
        evidence={"item_code": r.item_code, "lot": r.lot, "accepted_at": r.accepted_at.isoformat() if r.accepted_at else None,
                  "reason": match.reason, "candidates": match.candidates},
        labels={"area": "platform", "kind": "arrival_confirmation"},
    )


def _queue(conn: Tx, hospital: str, r: Receipt, line_id: str, line: DeliveryLine | None, now: datetime) -> bool:
    """Queue one confirmation; the payload also carries the delivery line's product, lot and shipped
    quantity, which a profile such as ``sh_soap`` repeats in its confirmation message."""
    assert r.accepted_at is not None
    key = idem_key_for(line_id)
    shipped = line.quantity if line is not None else None
    payload = {"delivery_id": line_id, "quantity": str(r.quantity), "accepted_at": r.accepted_at.isoformat(),
               "receipt_line_id": r.line_id, "product_code": line.product_code if line is not None else None,
               "lot": (line.lot if line is not None else None) or r.lot,
               "shipped_quantity": str(shipped) if shipped is not None else None}
    record = repo.delivery_line(conn, hospital, line_id)
    if record is not None:  # a profile such as sh_soap repeats the distributor and the delivery barcode
        payload.update(distributor_code=record.distributor_code, order_code=record.order_code)
    return repo.queue_confirmation(conn, hospital, CHANNEL, key, payload, delivery_id=line_id, receipt_line_id=r.line_id,
                                   quantity=r.quantity, shipped_quantity=shipped, accepted_at=r.accepted_at, now=now)


def confirmable(r: Receipt) -> bool:
    return r.accepted_at is not None and not r.deleted and r.on_platform and r.quantity > 0


def enqueue_confirmations(conn: Tx, hospital_code: str, receipts: Sequence[Receipt], now: datetime, *,
                          item_map: Mapping[str, str] | None = None, min_confidence: float = 0.7,
                          max_age: timedelta | None = MAX_AGE) -> int:
    """Match and queue; returns how many confirmations were newly queued. Runs in the caller's transaction.

    A receipt accepted more than ``max_age`` ago (a backfill of history) is neither queued nor flagged
    here: ``vbp-agent platform backlog`` lists it and ``platform confirm --since`` queues it
    (``max_age=None``) once a person has looked.
    """
    item_map = item_map or {}
    queued = 0
    for r in receipts:
        stored = repo.stored_receipt(conn, hospital_code, r.line_id)
        previous = stored.status if stored is not None else None
        if previous == "matched":  # a re-read, or a correction by the warehouse
            apply_correction(conn, hospital_code, r, stored, not confirmable(r), now)
            continue
        if previous in ("unmatched", "conflict") and not confirmable(r):  # voided before it ever matched (a duplicate 入库单)
            repo.update_receipt(conn, hospital_code, r.line_id, now, status="withdrawn")
            for rule in (RULE_UNMATCHED, RULE_LATE):
                resolve_finding(conn, hospital_code, rule, r.line_id, now)
            continue
        if previous in ("conflict", "withdrawn") or not confirmable(r):
            continue
        if max_age is not None and r.accepted_at < now - max_age:  # type: ignore[operator]
            continue
        known = _known_line(conn, hospital_code, r.delivery_id) if r.delivery_id else {}
        lines = [] if r.delivery_id else _open_lines(conn, hospital_code, products_of(r.item_code, item_map))
        match = match_receipt(r, lines, item_map, min_confidence, known)
        if match.delivery_id is not None:
            owner = repo.confirmation_owner(conn, hospital_code, match.delivery_id)
            if owner is not None and owner != r.line_id:
                conflict = Match(None, match.method, match.confidence, f"delivery line already confirmed for receipt {owner}",
                                 [(match.delivery_id, match.confidence)])
                _save_receipt(conn, hospital_code, r, conflict, "conflict", now, previous is not None)
                write_findings(conn, hospital_code, [_unmatched_finding(r, conflict, now)], now)
                continue
            line = known[match.delivery_id] if known else next(
                (ln for ln in lines if ln.delivery_id == match.delivery_id), None)
            queued += _queue(conn, hospital_code, r, match.delivery_id, line, now)
            _save_receipt(conn, hospital_code, r, match, "matched", now, previous is not None)
            if previous == "unmatched":
                resolve_finding(conn, hospital_code, RULE_UNMATCHED, r.line_id, now)
        else:
            _save_receipt(conn, hospital_code, r, match, "unmatched", now, previous is not None)
            write_findings(conn, hospital_code, [_unmatched_finding(r, match, now)], now)
    return queued


def rematch_unmatched(conn: Tx, hospital_code: str, now: datetime, *, item_map: Mapping[str, str] | None = None,
                      min_confidence: float = 0.7, max_age: timedelta | None = MAX_AGE) -> int:
    """Try unmatched receipts again (after a delivery sync); returns how many were queued now."""
    rows = repo.unmatched_receipts(conn, hospital_code)
    receipts = [
        Receipt(line_id=r.receipt_line_id, changed_at=r.accepted_at, item_code=r.item_code, quantity=Decimal(r.quantity),
                unit=None, lot=r.lot, expiry=None, distributor=None, accepted_at=r.accepted_at,
                delivery_id=r.delivery_id)
        for r in rows
    ]
    return enqueue_confirmations(conn, hospital_code, receipts, now, item_map=item_map, min_confidence=min_confidence,
                                 max_age=max_age)


def make_on_stored(hospital_code: str, now: Callable[[], datetime], item_map: Mapping[str, str] | None = None,
                   min_confidence: float = 0.7, max_age: timedelta = MAX_AGE) -> Callable[[Tx, Sequence[Receipt]], int]:
    """The ``on_stored(conn, receipts)`` callback the ingestion calls inside its transaction."""

    def on_stored(conn: Tx, receipts: Sequence[Receipt]) -> int:
        return enqueue_confirmations(conn, hospital_code, receipts, now(), item_map=item_map,
                                     min_confidence=min_confidence, max_age=max_age)

    return on_stored
