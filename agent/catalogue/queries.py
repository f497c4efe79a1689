"""What the other areas ask the catalogue. Each function takes an open connection and a hospital.

- ``agreement_year_for``: the agreement year (协议年度) covering a day for a product, across
  successive programmes and renewals;
- ``winning_products``, ``agreed_volumes``: the lists, with their agreement years;
- ``generic_groups``: each group's winning products and the mapped local items competing with them;
- ``item_factors`` / ``items_without_factor``: smallest units per HIS unit, None when unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, select

from agent.catalogue.mapping import product_of
from agent.catalogue.repo import load_programme
from agent.domain.catalogue import AgreementYear, GenericGroup, WinningProduct
from agent.store.schema.catalogue import (
    agreed_volumes as av,
)
from agent.store.schema.catalogue import (
    agreement_years as ay,
)
from agent.store.schema.catalogue import (
    generic_groups as gg,
)
from agent.store.schema.catalogue import (
    item_mappings as im,
)
from agent.store.schema.catalogue import (
    programmes as pg,
)
from agent.store.schema.catalogue import (
    winning_products as wp,
)

ACCEPTED = ("auto", "reviewed", "manual")


@dataclass(frozen=True)
class WinningProductRow:
    programme: str
    product_key: str
    group_key: str
    product: WinningProduct


@dataclass(frozen=True)
class AgreedVolumeRow:
    programme: str
    year: AgreementYear
    product_key: str
    quantity: Decimal  # smallest units
    product: WinningProduct


def agreement_years(conn: Connection, hospital: str, programme: str | None = None) -> list[AgreementYear]:
    q = select(ay).where(ay.c.hospital_code == hospital)
    if programme is not None:
        q = q.where(ay.c.programme == programme)
    rows = conn.execute(q.order_by(ay.c.programme, ay.c.number)).mappings()
    return [AgreementYear(r["programme"], r["number"], r["start_day"], r["end_day"]) for r in rows]


def agreement_year_for(conn: Connection, hospital: str, product_key: str, day: date) -> AgreementYear | None:
    """The agreement year covering ``day`` among the programmes listing the product; the programme
    that started last wins when a renewal overlaps its predecessor."""
    q = (select(ay).join(wp, and_(wp.c.hospital_code == ay.c.hospital_code, wp.c.programme == ay.c.programme))
         .where(and_(ay.c.hospital_code == hospital, wp.c.product_key == product_key,
                     ay.c.start_day <= day, ay.c.end_day >= day))
         .order_by(ay.c.start_day.desc()))
    r = conn.execute(q).mappings().first()
    return None if r is None else AgreementYear(r["programme"], r["number"], r["start_day"], r["end_day"])


def winning_products(conn: Connection, hospital: str, programme: str | None = None) -> list[WinningProductRow]:
    q = select(wp).where(wp.c.hospital_code == hospital)
    if programme is not None:
        q = q.where(wp.c.programme == programme)
    rows = conn.execute(q.order_by(wp.c.programme, wp.c.id)).mappings()
    return [WinningProductRow(r["programme"], r["product_key"], r["group_key"], product_of(r)) for r in rows]


def agreed_volumes(conn: Connection, hospital: str, on_day: date) -> list[AgreedVolumeRow]:
    """Agreed volumes of the agreement years that cover ``on_day``."""
    q = (select(av, ay.c.start_day, ay.c.end_day, *[wp.c[k] for k in _PRODUCT_COLS])
         .join(ay, and_(ay.c.hospital_code == av.c.hospital_code, ay.c.programme == av.c.programme,
                        ay.c.number == av.c.year))
         .join(wp, and_(wp.c.hospital_code == av.c.hospital_code, wp.c.programme == av.c.programme,
                        wp.c.product_key == av.c.product_key))
         .where(and_(av.c.hospital_code == hospital, ay.c.start_day <= on_day, ay.c.end_day >= on_day))
         .order_by(av.c.programme, av.c.product_key))
    out = []
    for r in conn.execute(q).mappings():
        year = AgreementYear(r["programme"], r["year"], r["start_day"], r["end_day"])
        out.append(AgreedVolumeRow(r["programme"], year, r["product_key"], Decimal(r["quantity"]).normalize(), product_of(r)))
    return out


_PRODUCT_COLS = ("generic_name", "dosage_form", "spec", "manufacturer", "kind", "pack", "smallest_unit",
                 "national_code", "price", "category")


def generic_groups(conn: Connection, hospital: str) -> list[GenericGroup]:
    """Each generic group with its winning products and its accepted local items.

    A local item dict: code, name, product_key (None for a non-winning item), winning (bool),
    factor (Decimal or None: unknown, listed, never guessed), his_unit, status.
    """
    groups = {r["group_key"]: GenericGroup(r["group_key"], r["generic_name"], r["dosage_form"], r["kind"])
              for r in conn.execute(select(gg).where(gg.c.hospital_code == hospital).order_by(gg.c.group_key)).mappings()}
    seen: set[tuple[str, str]] = set()
    for r in conn.execute(select(wp).where(wp.c.hospital_code == hospital).order_by(wp.c.id)).mappings():
        if r["group_key"] in groups and (r["group_key"], r["product_key"]) not in seen:
            seen.add((r["group_key"], r["product_key"]))
            groups[r["group_key"]].winning.append({"product_key": r["product_key"], "programme": r["programme"],
                                                   "product": product_of(r)})
    for r in conn.execute(select(im).where(and_(im.c.hospital_code == hospital, im.c.status.in_(ACCEPTED),
                                                im.c.group_key.is_not(None))).order_by(im.c.item_code)).mappings():
        if r["group_key"] in groups:
            groups[r["group_key"]].local_items.append(_item(r))
    return list(groups.values())


def _item(r: Any) -> dict[str, Any]:
    return {"code": r["item_code"], "name": r["item_name"], "product_key": r["product_key"],
            "winning": r["product_key"] is not None, "factor": None if r["factor"] is None else Decimal(r["factor"]).normalize(),
            "his_unit": (r["item"] or {}).get("his_unit"), "status": r["status"]}


def item_mappings(conn: Connection, hospital: str) -> dict[str, dict[str, Any]]:
    """Every local item's mapping (any status), by item code."""
    rows = conn.execute(select(im).where(im.c.hospital_code == hospital).order_by(im.c.item_code)).mappings()
    return {r["item_code"]: {**_item(r), "group_key": r["group_key"], "confidence": r["confidence"],
                             "reason": r["reason"], "candidates": r["candidates"]} for r in rows}


def item_factors(conn: Connection, hospital: str) -> dict[str, Decimal | None]:
    """Smallest units per HIS unit for each accepted local item; None means unknown."""
    rows = conn.execute(select(im.c.item_code, im.c.factor).where(and_(im.c.hospital_code == hospital,
                                                                        im.c.status.in_(ACCEPTED))))
    return {code: (None if f is None else Decimal(f).normalize()) for code, f in rows}


def items_without_factor(conn: Connection, hospital: str) -> list[dict[str, Any]]:
    """Accepted VBP-relevant local items whose factor is unknown: to list, never to guess."""
    rows = conn.execute(select(im).where(and_(im.c.hospital_code == hospital, im.c.status.in_(ACCEPTED),
                                              im.c.group_key.is_not(None), im.c.factor.is_(None)))
                        .order_by(im.c.item_code)).mappings()
    return [_item(r) for r in rows]


def programmes(conn: Connection, hospital: str) -> list[Any]:
    names = conn.execute(select(pg.c.name).where(pg.c.hospital_code == hospital).order_by(pg.c.name)).scalars()
    return [load_programme(conn, hospital, n) for n in names]
