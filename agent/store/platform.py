"""The platform's tables: delivery lines (配送单明细), receipt matches, arrival confirmations (到货确认)
and the link's own state, plus the delivery cursor and the platform's findings.

Quantities are stored as decimal text (exact on every backend): writers take ``Decimal`` and the
records read back keep the stored text, as the callers show it. A confirmation is queued with its
outbox row in the caller's transaction (``queue_confirmation``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from agent.domain.model import Receipt
from agent.store import outbox
from agent.store.schema.core import cursors
from agent.store.schema.core import findings as findings_table
from agent.store.schema.ingest import receipts as rc
from agent.store.schema.platform import platform_confirmations as pc
from agent.store.schema.platform import platform_delivery_lines as pdl
from agent.store.schema.platform import platform_link as link_table
from agent.store.schema.platform import platform_receipts as pr

CURSOR_SOURCE, CURSOR_NAME = "platform", "deliveries"


@dataclass(frozen=True)
class DeliveryRecord:
    """One delivery line as the platform listed it."""

    delivery_id: str
    product_code: str
    quantity: str
    synced_at: datetime
    order_id: str | None = None
    order_code: str | None = None
    product_name: str | None = None
    lot: str | None = None
    expiry: str | None = None
    shipped_at: datetime | None = None
    distributor_code: str | None = None
    platform_updated_at: str | None = None


@dataclass(frozen=True)
class ReceiptStatus:
    """How a receipt line stands: its match status, quantity and delivery line."""

    status: str
    quantity: str
    delivery_id: str | None


@dataclass(frozen=True)
class ReceiptRecord:
    """One accepted receipt line and how it was matched to a delivery line."""

    receipt_line_id: str
    item_code: str
    quantity: str
    lot: str | None
    accepted_at: datetime
    delivery_id: str | None
    status: str
    method: str | None
    confidence: float | None
    detail: Any
    updated_at: datetime


@dataclass(frozen=True)
class Confirmation:
    """One arrival confirmation (到货确认), its state mirrored from the outbox."""

    delivery_id: str
    receipt_line_id: str
    idem_key: str
    quantity: str
    shipped_quantity: str | None
    accepted_at: datetime
    state: str
    enqueued_at: datetime
    confirmed_at: datetime | None
    attempts: int
    platform_message: str | None


@dataclass(frozen=True)
class LinkState:
    """The link as a whole: up, or down and held until ``hold_until``."""

    state: str
    failures: int
    hold_until: datetime | None
    last_error: str | None
    changed_at: datetime


def _record(cls: Any, row: Any) -> Any:
    m = row._mapping
    return cls(**{f.name: m[f.name] for f in fields(cls)})


def _text(quantity: Decimal | None) -> str | None:
    return str(quantity) if quantity is not None else None


# -- delivery lines and their cursor ------------------------------------------------------------

def open_lines(conn: Connection, hospital: str, products: Iterable[str]) -> list[DeliveryRecord]:
    """Delivery lines of these products that no confirmation has taken yet."""
    taken = select(pc.c.delivery_id).where(pc.c.hospital_code == hospital)
    rows = conn.execute(
        select(pdl).where(pdl.c.hospital_code == hospital, pdl.c.product_code.in_(sorted(products)),
                          pdl.c.delivery_id.not_in(taken))
    ).all()
    return [_record(DeliveryRecord, r) for r in rows]


def delivery_line(conn: Connection, hospital: str, delivery_id: str) -> DeliveryRecord | None:
    row = conn.execute(select(pdl).where(pdl.c.hospital_code == hospital, pdl.c.delivery_id == delivery_id)).first()
    return _record(DeliveryRecord, row) if row else None


def save_delivery_line(conn: Connection, hospital: str, line: DeliveryRecord) -> None:
    """Insert or replace the line (keyed by delivery id): reading a line twice changes nothing."""
    values = {f.name: getattr(line, f.name) for f in fields(line) if f.name != "delivery_id"}
    key = (pdl.c.hospital_code == hospital) & (pdl.c.delivery_id == line.delivery_id)
    if conn.execute(select(pdl.c.delivery_id).where(key)).first():
        conn.execute(pdl.update().where(key).values(**values))
    else:
        conn.execute(pdl.insert().values(hospital_code=hospital, delivery_id=line.delivery_id, **values))


def delivery_cursor(conn: Connection, hospital: str, name: str = CURSOR_NAME) -> dict[str, Any]:
    """A pulled list's keyset cursor (``updated``, ``id``), empty before the first sync; ``name`` is
    the list (``deliveries``, ``orders``, ``bills``)."""
    row = conn.execute(select(cursors.c.value).where(
        cursors.c.hospital_code == hospital, cursors.c.source == CURSOR_SOURCE, cursors.c.name == name)).first()
    return dict(row.value) if row else {}


def save_delivery_cursor(conn: Connection, hospital: str, value: dict[str, Any], now: datetime,
                         name: str = CURSOR_NAME) -> None:
    key = (cursors.c.hospital_code == hospital) & (cursors.c.source == CURSOR_SOURCE) & (cursors.c.name == name)
    if conn.execute(select(cursors.c.name).where(key)).first():
        conn.execute(cursors.update().where(key).values(value=value, updated_at=now))
    else:
        conn.execute(cursors.insert().values(hospital_code=hospital, source=CURSOR_SOURCE, name=name, value=value,
                                             updated_at=now))


# -- receipt matches ----------------------------------------------------------------------------

def stored_receipt(conn: Connection, hospital: str, receipt_line_id: str) -> ReceiptStatus | None:
    row = conn.execute(select(pr.c.status, pr.c.quantity, pr.c.delivery_id).where(
        pr.c.hospital_code == hospital, pr.c.receipt_line_id == receipt_line_id)).first()
    return ReceiptStatus(row.status, row.quantity, row.delivery_id) if row is not None else None


def save_receipt(conn: Connection, hospital: str, r: Receipt, *, delivery_id: str | None, status: str,
                 method: str | None, confidence: float, detail: dict[str, Any], now: datetime, exists: bool) -> None:
    """Record how ``r`` was matched (insert, or update when ``exists``)."""
    values = dict(item_code=r.item_code, quantity=str(r.quantity), lot=r.lot, accepted_at=r.accepted_at,
                  delivery_id=delivery_id, status=status, method=method, confidence=confidence, detail=detail,
                  updated_at=now)
    key = (pr.c.hospital_code == hospital) & (pr.c.receipt_line_id == r.line_id)
    if exists:
        conn.execute(pr.update().where(key).values(**values))
    else:
        conn.execute(pr.insert().values(hospital_code=hospital, receipt_line_id=r.line_id, **values))


def update_receipt(conn: Connection, hospital: str, receipt_line_id: str, now: datetime, *, status: str | None = None,
                   quantity: Decimal | None = None) -> None:
    """Set the status and/or the quantity of a stored receipt line."""
    values: dict[str, Any] = {}
    if status is not None:
        values["status"] = status
    if quantity is not None:
        values["quantity"] = str(quantity)
    conn.execute(pr.update().where(pr.c.hospital_code == hospital, pr.c.receipt_line_id == receipt_line_id)
                 .values(**values, updated_at=now))


def unmatched_receipts(conn: Connection, hospital: str) -> list[ReceiptRecord]:
    """Receipts still waiting for a delivery line, oldest acceptance first."""
    rows = conn.execute(select(pr).where(pr.c.hospital_code == hospital, pr.c.status == "unmatched")
                        .order_by(pr.c.accepted_at, pr.c.receipt_line_id)).all()
    return [_record(ReceiptRecord, r) for r in rows]


def waiting_receipts(conn: Connection, hospital: str, accepted_by: datetime) -> list[ReceiptRecord]:
    """Receipts accepted by ``accepted_by`` with no confirmation (unmatched or in conflict)."""
    rows = conn.execute(select(pr).where(pr.c.hospital_code == hospital, pr.c.status.in_(("unmatched", "conflict")),
                                         pr.c.accepted_at <= accepted_by).order_by(pr.c.accepted_at)).all()
    return [_record(ReceiptRecord, r) for r in rows]


def receipts_never_confirmed(conn: Connection, hospital: str, since: datetime | None = None) -> list[Receipt]:
    """Accepted on-platform warehouse lines (the ingestion's ``receipts``) that never matched a
    delivery line: never tried (older than the automatic age limit) or still unmatched; oldest first."""
    taken = select(pr.c.receipt_line_id).where(pr.c.hospital_code == hospital, pr.c.status != "unmatched")
    stmt = select(rc).where(rc.c.hospital_code == hospital, rc.c.accepted_at.is_not(None), rc.c.deleted.is_(False),
                            rc.c.on_platform.is_(True), rc.c.quantity > 0, rc.c.line_id.not_in(taken))
    if since is not None:
        stmt = stmt.where(rc.c.accepted_at >= since)
    rows = conn.execute(stmt.order_by(rc.c.accepted_at, rc.c.line_id)).all()
    return [Receipt(**{f.name: getattr(r, f.name) for f in fields(Receipt)} | {"quantity": _exact(Decimal(r.quantity))})
            for r in rows]


def _exact(q: Decimal) -> Decimal:
    """10.0000 as stored reads back as 10, 2.5000 as 2.5: the quantity the warehouse wrote."""
    return q.quantize(Decimal(1)) if q == q.to_integral_value() else q.normalize()


# -- confirmations ------------------------------------------------------------------------------

def queue_confirmation(conn: Connection, hospital: str, channel: str, idem_key: str, payload: dict[str, Any], *,
                       delivery_id: str, receipt_line_id: str, quantity: Decimal, shipped_quantity: Decimal | None,
                       accepted_at: datetime, now: datetime) -> bool:
    """Queue the message in the outbox and record the confirmation (state ``queued``); False when
    the message was already queued (then nothing is recorded)."""
    if not outbox.enqueue(conn, hospital, channel, idem_key, payload, now):
        return False
    conn.execute(pc.insert().values(
        hospital_code=hospital, delivery_id=delivery_id, receipt_line_id=receipt_line_id, idem_key=idem_key,
        quantity=str(quantity), shipped_quantity=_text(shipped_quantity),
        accepted_at=accepted_at, state="queued", enqueued_at=now, attempts=0,
    ))
    return True


def confirmation(conn: Connection, hospital: str, delivery_id: str) -> Confirmation | None:
    row = conn.execute(select(pc).where(pc.c.hospital_code == hospital, pc.c.delivery_id == delivery_id)).first()
    return _record(Confirmation, row) if row is not None else None


def confirmation_owner(conn: Connection, hospital: str, delivery_id: str) -> str | None:
    """The receipt line whose confirmation took this delivery line, if any."""
    return conn.execute(select(pc.c.receipt_line_id).where(
        pc.c.hospital_code == hospital, pc.c.delivery_id == delivery_id)).scalar()


def confirmations(conn: Connection, hospital: str, state: str | None = None, limit: int = 50) -> list[Confirmation]:
    """The latest confirmations (by acceptance time), of one state or all."""
    stmt = select(pc).where(pc.c.hospital_code == hospital)
    if state:
        stmt = stmt.where(pc.c.state == state)
    return [_record(Confirmation, r) for r in conn.execute(stmt.order_by(pc.c.accepted_at.desc()).limit(limit)).all()]


def waiting_confirmations(conn: Connection, hospital: str, accepted_by: datetime) -> list[Confirmation]:
    """Confirmations of acceptances made by ``accepted_by`` that the platform has not accepted yet."""
    rows = conn.execute(select(pc).where(pc.c.hospital_code == hospital, pc.c.state.in_(("queued", "quarantined")),
                                         pc.c.accepted_at <= accepted_by).order_by(pc.c.accepted_at)).all()
    return [_record(Confirmation, r) for r in rows]


def correct_confirmation(conn: Connection, hospital: str, delivery_id: str, quantity: Decimal) -> None:
    """A queued confirmation takes the warehouse's new accepted quantity."""
    conn.execute(pc.update().where((pc.c.hospital_code == hospital) & (pc.c.delivery_id == delivery_id))
                 .values(quantity=str(quantity)))


def stop_confirmation(conn: Connection, hospital: str, delivery_id: str, state: str, message: str) -> None:
    """A confirmation that will not be sent (``withdrawn`` or ``quarantined``), with the reason."""
    conn.execute(pc.update().where((pc.c.hospital_code == hospital) & (pc.c.delivery_id == delivery_id))
                 .values(state=state, platform_message=message))


def record_answer(conn: Connection, hospital: str, delivery_id: str, *, state: str, confirmed_at: datetime | None = None,
                  platform_message: str | None = None) -> None:
    """One more attempt, answered: the confirmation's new state (and its time or the platform's words)."""
    values: dict[str, Any] = {"state": state}
    if confirmed_at is not None:
        values["confirmed_at"] = confirmed_at
    if platform_message is not None:
        values["platform_message"] = platform_message
    conn.execute(pc.update().where(pc.c.hospital_code == hospital, pc.c.delivery_id == delivery_id)
                 .values(attempts=pc.c.attempts + 1, **values))


def mark_confirmed(conn: Connection, hospital: str, delivery_ids: list[str], now: datetime) -> None:
    """Confirmations the platform accepted, a whole batch in one statement."""
    if not delivery_ids:
        return
    conn.execute(pc.update().where(pc.c.hospital_code == hospital, pc.c.delivery_id.in_(delivery_ids))
                 .values(attempts=pc.c.attempts + 1, state="confirmed", confirmed_at=now))


# -- the link -----------------------------------------------------------------------------------

def link_state(conn: Connection, hospital: str) -> LinkState | None:
    row = conn.execute(select(link_table).where(link_table.c.hospital_code == hospital)).first()
    return _record(LinkState, row) if row is not None else None


def link_down(conn: Connection, hospital: str, previous: LinkState | None, *, failures: int, hold_until: datetime,
              error: str, now: datetime) -> None:
    """Hold the link until ``hold_until``; ``changed_at`` moves only when it goes down."""
    values = dict(state="down", failures=failures, hold_until=hold_until, last_error=error[:2000])
    if previous is None:
        conn.execute(link_table.insert().values(hospital_code=hospital, changed_at=now, **values))
    else:
        conn.execute(link_table.update().where(link_table.c.hospital_code == hospital)
                     .values(**values, **({} if previous.state == "down" else {"changed_at": now})))


def link_up(conn: Connection, hospital: str, now: datetime) -> None:
    conn.execute(link_table.update().where(link_table.c.hospital_code == hospital)
                 .values(state="up", failures=0, hold_until=None, last_error=None, changed_at=now))


# -- findings -----------------------------------------------------------------------------------

def active_findings(conn: Connection, hospital: str, rule_prefix: str = "platform.") -> list[dict[str, Any]]:
    """The platform's active findings (rows of the core ``findings`` table), by rule and subject."""
    rows = conn.execute(
        select(findings_table).where(findings_table.c.hospital_code == hospital, findings_table.c.active == 1,
                                     findings_table.c.rule.startswith(rule_prefix))
        .order_by(findings_table.c.rule, findings_table.c.subject)
    ).mappings().all()
    return [dict(r) for r in rows]
