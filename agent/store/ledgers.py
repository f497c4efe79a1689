"""The platform's orders (采购订单) and bills (结算单), and the hospital's off-platform filings
(线下采购备案) and exempt items: what the distributor, payment and filing clocks read.

Orders and bills are upserted by their platform id (reading one twice changes nothing); times are
aware datetimes, quantities and amounts decimal text, as the platform tables keep them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from agent.store.schema.catalogue import item_mappings as im
from agent.store.schema.ingest import local_items as li
from agent.store.schema.ingest import receipts as rc
from agent.store.schema.platform import item_exemptions as ex
from agent.store.schema.platform import offplatform_filings as of
from agent.store.schema.platform import platform_bills as pb
from agent.store.schema.platform import platform_orders as po

EXEMPT_REASONS = {"narcotic": "麻醉药品", "psychotropic": "精神药品", "preparation": "医疗机构制剂"}


@dataclass(frozen=True)
class OrderRecord:
    """One order line (采购订单明细) as the platform listed it."""

    order_id: str
    ordered_at: datetime
    synced_at: datetime
    order_code: str | None = None
    product_code: str | None = None
    product_name: str | None = None
    distributor_code: str | None = None
    distributor_name: str | None = None
    quantity: str | None = None
    price: str | None = None
    listed_price: str | None = None
    responded_at: datetime | None = None
    delivered_quantity: str | None = None
    delivered_at: datetime | None = None
    platform_updated_at: str | None = None


@dataclass(frozen=True)
class BillRecord:
    """One distributor's bill (结算单) and the hospital's check and payment."""

    bill_id: str
    amount: str
    accepted_at: datetime
    synced_at: datetime
    distributor_code: str | None = None
    distributor_name: str | None = None
    issued_at: datetime | None = None
    checked_at: datetime | None = None
    paid_at: datetime | None = None
    platform_updated_at: str | None = None


@dataclass(frozen=True)
class OffPlatformLine:
    """An accepted off-platform receipt line (线下采购) and its filing (备案), if recorded."""

    line_id: str
    item_code: str
    item_name: str | None
    quantity: str
    unit_price: str | None
    supplier: str | None
    accepted_at: datetime
    reference: str | None
    filed_by: str | None
    filed_at: datetime | None
    emergency: bool


def _record(cls: Any, row: Any) -> Any:
    m = row._mapping
    return cls(**{f.name: m[f.name] for f in fields(cls)})


def _upsert(conn: Connection, table: Any, hospital: str, key_col: str, values: dict[str, Any]) -> None:
    key = (table.c.hospital_code == hospital) & (table.c[key_col] == values[key_col])
    rest = {k: v for k, v in values.items() if k != key_col}
    if conn.execute(select(table.c[key_col]).where(key)).first():
        conn.execute(table.update().where(key).values(**rest))
    else:
        conn.execute(table.insert().values(hospital_code=hospital, **values))


def save_order(conn: Connection, hospital: str, order: OrderRecord) -> None:
    _upsert(conn, po, hospital, "order_id", {f.name: getattr(order, f.name) for f in fields(order)})


def save_bill(conn: Connection, hospital: str, bill: BillRecord) -> None:
    _upsert(conn, pb, hospital, "bill_id", {f.name: getattr(bill, f.name) for f in fields(bill)})


def orders_since(conn: Connection, hospital: str, since: datetime) -> list[OrderRecord]:
    """Order lines placed since ``since``, oldest first."""
    rows = conn.execute(select(po).where(po.c.hospital_code == hospital, po.c.ordered_at >= since)
                        .order_by(po.c.ordered_at, po.c.order_id)).all()
    return [_record(OrderRecord, r) for r in rows]


def listed_prices(conn: Connection, hospital: str, since: datetime) -> dict[str, float]:
    """platform product code -> the listed price (挂网价) of its latest order line since ``since``."""
    rows = conn.execute(select(po.c.product_code, po.c.listed_price)
                        .where(po.c.hospital_code == hospital, po.c.ordered_at >= since, po.c.listed_price.is_not(None),
                               po.c.product_code.is_not(None))
                        .order_by(po.c.ordered_at, po.c.order_id)).all()
    return {code: float(price) for code, price in rows}


def open_bills(conn: Connection, hospital: str, since: datetime) -> list[BillRecord]:
    """Bills not yet paid or not yet checked, for goods accepted since ``since``."""
    rows = conn.execute(select(pb).where(pb.c.hospital_code == hospital, pb.c.accepted_at >= since,
                                         (pb.c.paid_at.is_(None)) | (pb.c.checked_at.is_(None)))
                        .order_by(pb.c.accepted_at, pb.c.bill_id)).all()
    return [_record(BillRecord, r) for r in rows]


# -- off-platform purchases ---------------------------------------------------------------------

def off_platform_lines(conn: Connection, hospital: str, since: datetime, items: set[str] | None = None) -> list[OffPlatformLine]:
    """Accepted, not deleted off-platform receipt lines since ``since`` (of ``items`` when given),
    with their filing; exempt items are left out."""
    exempt = select(ex.c.item_code).where(ex.c.hospital_code == hospital)
    his_name = (select(func.max(li.c.name)).where(li.c.hospital_code == rc.c.hospital_code, li.c.code == rc.c.item_code)
                .scalar_subquery())
    mapped_name = (select(im.c.item_name).where(im.c.hospital_code == rc.c.hospital_code, im.c.item_code == rc.c.item_code)
                   .scalar_subquery())
    name = func.coalesce(his_name, mapped_name)
    q = (select(rc.c.line_id, rc.c.item_code, name.label("item_name"), rc.c.quantity, rc.c.unit_price, rc.c.distributor,
                rc.c.accepted_at, of.c.reference, of.c.filed_by, of.c.filed_at, of.c.emergency)
         .select_from(rc.join(of, and_(of.c.hospital_code == rc.c.hospital_code, of.c.receipt_line_id == rc.c.line_id),
                              isouter=True))
         .where(rc.c.hospital_code == hospital, rc.c.on_platform.is_(False), rc.c.deleted.is_(False),
                rc.c.accepted_at.is_not(None), rc.c.accepted_at >= since, rc.c.item_code.not_in(exempt))
         .order_by(rc.c.accepted_at, rc.c.line_id))
    out = []
    for r in conn.execute(q).all():
        if items is not None and r.item_code not in items:
            continue
        out.append(OffPlatformLine(r.line_id, r.item_code, r.item_name, str(r.quantity),
                                   None if r.unit_price is None else str(r.unit_price), r.distributor, r.accepted_at,
                                   r.reference, r.filed_by, r.filed_at, bool(r.emergency)))
    return out


def off_platform_line_exists(conn: Connection, hospital: str, line_id: str) -> bool:
    return conn.execute(select(rc.c.line_id).where(rc.c.hospital_code == hospital, rc.c.line_id == line_id,
                                                   rc.c.on_platform.is_(False))).first() is not None


def record_filing(conn: Connection, hospital: str, line_id: str, *, reference: str | None, filed_by: str | None,
                  filed_at: datetime | None, emergency: bool, now: datetime) -> None:
    """Record (or correct) the filing of an off-platform line; ``filed_at`` None marks an emergency
    purchase that is still to be filed."""
    _upsert(conn, of, hospital, "receipt_line_id", {"receipt_line_id": line_id, "reference": reference,
                                                    "filed_by": filed_by, "filed_at": filed_at,
                                                    "emergency": int(emergency), "recorded_at": now})


def set_exemption(conn: Connection, hospital: str, item_code: str, reason: str, source: str, now: datetime) -> None:
    _upsert(conn, ex, hospital, "item_code", {"item_code": item_code, "reason": reason, "source": source,
                                              "recorded_at": now})


def exempt_items(conn: Connection, hospital: str) -> dict[str, str]:
    """item code -> reason, for every exempt item."""
    return {code: reason for code, reason in conn.execute(
        select(ex.c.item_code, ex.c.reason).where(ex.c.hospital_code == hospital))}
