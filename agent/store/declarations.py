"""报量 (volume declarations): what the hospital declared per winning product of a programme, and
the figures it is checked against (last year's agreed volume, its own history: the purchases it
accepted over the last year, or its usage where the warehouse has no receipts of the product)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, func, select

from agent.store.catalogue import ACCEPTED
from agent.store.schema.catalogue import agreed_volumes as av
from agent.store.schema.catalogue import item_mappings as im
from agent.store.schema.catalogue import volume_declarations as vd
from agent.store.schema.catalogue import winning_products as wp
from agent.store.schema.ingest import local_items as li
from agent.store.schema.ingest import receipts as rc
from agent.store.schema.ingest import usage_daily as ud


@dataclass(frozen=True)
class Declaration:
    programme: str
    product_key: str
    name: str
    quantity: Decimal
    reason: str | None
    last_agreed: Decimal | None  # the latest agreement year's agreed volume (约定采购量)


def save_declaration(conn: Connection, hospital: str, programme: str, product_key: str, values: dict[str, Any]) -> None:
    key = and_(vd.c.hospital_code == hospital, vd.c.programme == programme, vd.c.product_key == product_key)
    if conn.execute(select(vd.c.product_key).where(key)).first():
        conn.execute(vd.update().where(key).values(**values))
    else:
        conn.execute(vd.insert().values(hospital_code=hospital, programme=programme, product_key=product_key, **values))


def declarations(conn: Connection, hospital: str) -> list[Declaration]:
    latest = (select(av.c.programme, av.c.product_key, func.max(av.c.year).label("year"))
              .where(av.c.hospital_code == hospital).group_by(av.c.programme, av.c.product_key).subquery())
    agreed = (select(av.c.programme, av.c.product_key, av.c.quantity)
              .join(latest, and_(latest.c.programme == av.c.programme, latest.c.product_key == av.c.product_key,
                                 latest.c.year == av.c.year))
              .where(av.c.hospital_code == hospital).subquery())
    names = (select(wp.c.product_key, func.max(wp.c.generic_name).label("name"))
             .where(wp.c.hospital_code == hospital).group_by(wp.c.product_key).subquery())
    q = (select(vd.c.programme, vd.c.product_key, names.c.name, vd.c.quantity, vd.c.reason, agreed.c.quantity.label("agreed"))
         .select_from(vd.join(names, names.c.product_key == vd.c.product_key, isouter=True)
                      .join(agreed, and_(agreed.c.programme == vd.c.programme, agreed.c.product_key == vd.c.product_key),
                            isouter=True))
         .where(vd.c.hospital_code == hospital).order_by(vd.c.programme, vd.c.product_key))
    return [Declaration(r.programme, r.product_key, r.name or r.product_key, Decimal(r.quantity), r.reason,
                        None if r.agreed is None else Decimal(r.agreed)) for r in conn.execute(q)]


def usage_history(conn: Connection, hospital: str, sources: list[str], first: date, last: date) -> dict[str, Decimal]:
    """product key -> usage in smallest units over [first, last] of the items mapped to it (items
    without a known factor are left out)."""
    q = (select(im.c.product_key, func.sum(ud.c.quantity * im.c.factor))
         .select_from(ud.join(im, and_(im.c.hospital_code == ud.c.hospital_code, im.c.item_code == ud.c.item_code)))
         .where(ud.c.hospital_code == hospital, ud.c.source.in_(sources), ud.c.day >= first, ud.c.day <= last,
                im.c.status.in_(ACCEPTED), im.c.product_key.is_not(None), im.c.factor.is_not(None))
         .group_by(im.c.product_key))
    return {key: Decimal(total or 0) for key, total in conn.execute(q)}


def declared_since(conn: Connection, hospital: str, since: datetime) -> bool:
    """Whether any declaration was imported since ``since``."""
    return conn.execute(select(vd.c.product_key).where(vd.c.hospital_code == hospital, vd.c.imported_at >= since)
                        .limit(1)).first() is not None


def purchase_history(conn: Connection, hospital: str, since: datetime, until: datetime) -> dict[str, Decimal]:
    """product key -> accepted purchases (验收入库, on and off the platform) in smallest units over
    [since, until) of the items mapped to it; a line in another unit than the HIS unit is left out."""
    his_unit = (select(func.max(li.c.his_unit)).where(li.c.hospital_code == rc.c.hospital_code, li.c.code == rc.c.item_code)
                .scalar_subquery())
    q = (select(im.c.product_key, func.sum(rc.c.quantity * im.c.factor))
         .select_from(rc.join(im, and_(im.c.hospital_code == rc.c.hospital_code, im.c.item_code == rc.c.item_code)))
         .where(rc.c.hospital_code == hospital, rc.c.deleted.is_(False), rc.c.accepted_at >= since, rc.c.accepted_at < until,
                im.c.status.in_(ACCEPTED), im.c.product_key.is_not(None), im.c.factor.is_not(None),
                rc.c.unit.is_(None) | his_unit.is_(None) | (rc.c.unit == his_unit))
         .group_by(im.c.product_key))
    return {key: Decimal(total or 0) for key, total in conn.execute(q)}
