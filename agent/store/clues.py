"""Staff-recorded clues (schema in ``agent.store.schema.clues``) and the month's evidence the clue
report reads: order lines and off-platform receipt lines, as the clue domain's records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import Connection, insert, select

from agent.domain.clues import OrderLine, ReceiptLine
from agent.store.ledgers import off_platform_lines, orders_since
from agent.store.schema.clues import staff_clues as sc


@dataclass(frozen=True)
class StaffClue:
    id: int
    month: str
    supplier: str
    role: str
    clue_type: str
    product: str | None
    detail: str
    recorded_by: str
    recorded_at: datetime


def add_clue(conn: Connection, hospital: str, month: str, supplier: str, role: str, clue_type: str, detail: str,
             by: str, now: datetime, product: str | None = None) -> int:
    result = conn.execute(insert(sc).values(hospital_code=hospital, month=month, supplier=supplier, role=role,
                                            clue_type=clue_type, product=product, detail=detail, recorded_by=by,
                                            recorded_at=now))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def clues_of_month(conn: Connection, hospital: str, month: str) -> list[StaffClue]:
    rows = conn.execute(select(sc).where(sc.c.hospital_code == hospital, sc.c.month == month)
                        .order_by(sc.c.supplier, sc.c.id)).mappings().all()
    return [StaffClue(r["id"], r["month"], r["supplier"], r["role"], r["clue_type"], r["product"], r["detail"],
                      r["recorded_by"], r["recorded_at"]) for r in rows]


def evidence_lines(conn: Connection, hospital: str, start: datetime,
                   tz: tzinfo) -> tuple[dict[str, OrderLine], dict[str, ReceiptLine]]:
    """Order lines placed and off-platform receipt lines accepted since ``start`` (a month's first
    moment), by their ids, their times in ``tz``."""
    since = start - timedelta(days=1)  # a zone's midnight against the store's UTC

    def local(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(tz)

    orders = {o.order_id: OrderLine(o.order_id, o.ordered_at.astimezone(tz), o.product_name or o.product_code or "",
                                    o.distributor_name or o.distributor_code or "（未知配送企业）", o.quantity, o.price,
                                    local(o.responded_at), o.delivered_quantity, local(o.delivered_at))
              for o in orders_since(conn, hospital, since)}
    receipts = {ln.line_id: ReceiptLine(ln.line_id, ln.item_name or ln.item_code, ln.supplier or "（未记录供应商）",
                                        ln.quantity, ln.unit_price, ln.accepted_at.astimezone(tz))
                for ln in off_platform_lines(conn, hospital, since)}
    return orders, receipts
