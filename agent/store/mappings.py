"""The 对码 table ``item_mappings``: one row per (hospital, local item code), written by the mapping
run, the manual overrides and the pharmacist's review, read by the other areas.

A mapping row is handed out as a plain dict of its columns; ``mapped_item`` is the short form the
other areas read (code, name, product_key, winning, factor, his_unit, status).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from agent.store.schema.catalogue import item_mappings as im

ACCEPTED = ("auto", "reviewed", "manual")


def mapped_item(r: Any) -> dict[str, Any]:
    """A mapping row as a local item: code, name, product_key (None for a non-winning item), winning
    (bool), factor (Decimal or None: unknown, listed, never guessed), his_unit, status."""
    return {"code": r["item_code"], "name": r["item_name"], "product_key": r["product_key"],
            "winning": r["product_key"] is not None, "factor": None if r["factor"] is None else Decimal(r["factor"]).normalize(),
            "his_unit": (r["item"] or {}).get("his_unit"), "status": r["status"]}


def item_mappings(conn: Connection, hospital: str) -> dict[str, dict[str, Any]]:
    """Every local item's mapping (any status), by item code."""
    rows = conn.execute(select(im).where(im.c.hospital_code == hospital).order_by(im.c.item_code)).mappings()
    return {r["item_code"]: {**mapped_item(r), "group_key": r["group_key"], "confidence": r["confidence"],
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
    return [mapped_item(r) for r in rows]


def mapping_rows(conn: Connection, hospital: str) -> list[dict[str, Any]]:
    """Every mapping row of the hospital with all its columns (unordered)."""
    return [dict(r) for r in conn.execute(select(im).where(im.c.hospital_code == hospital)).mappings()]


def mapping_row(conn: Connection, hospital: str, item_code: str) -> dict[str, Any] | None:
    """One item's mapping row with all its columns, or None."""
    r = conn.execute(select(im).where(im.c.hospital_code == hospital, im.c.item_code == item_code)).mappings().first()
    return None if r is None else dict(r)


def mapping_rows_of(conn: Connection, hospital: str, status: str) -> list[dict[str, Any]]:
    """The mapping rows of one status (``review``: the console's queue), by item code."""
    rows = conn.execute(select(im).where(im.c.hospital_code == hospital, im.c.status == status).order_by(im.c.item_code))
    return [dict(r) for r in rows.mappings()]


def winning_items(conn: Connection, hospital: str) -> dict[str, str]:
    """Local item code -> winning product key, for the items mapped to one (any status)."""
    rows = conn.execute(select(im.c.item_code, im.c.product_key).where(im.c.hospital_code == hospital,
                                                                         im.c.product_key.is_not(None)))
    return dict(rows.all())


def mapping_states(conn: Connection, hospital: str) -> dict[str, dict[str, Any]]:
    """Each mapped item's status and factor, by item code: what a mapping run must not overwrite."""
    rows = conn.execute(select(im.c.item_code, im.c.status, im.c.factor).where(im.c.hospital_code == hospital))
    return {r["item_code"]: dict(r) for r in rows.mappings()}


def insert_mapping(conn: Connection, hospital: str, item_code: str, values: dict[str, Any]) -> None:
    conn.execute(insert(im).values(hospital_code=hospital, item_code=item_code, **values))


def update_mapping(conn: Connection, hospital: str, item_code: str, values: dict[str, Any]) -> None:
    conn.execute(update(im).where(and_(im.c.hospital_code == hospital, im.c.item_code == item_code)).values(**values))


def group_members(conn: Connection, hospital: str, group_key: str) -> list[dict[str, Any]]:
    """Every local item whose mapping (any status) names the group, by item code."""
    rows = conn.execute(select(im).where(and_(im.c.hospital_code == hospital, im.c.group_key == group_key))
                        .order_by(im.c.item_code)).mappings()
    return [dict(r) for r in rows]


def grouped_items(conn: Connection, hospital: str) -> list[dict[str, Any]]:
    """Accepted mappings that put an item in a group, with all their columns, by item code."""
    rows = conn.execute(select(im).where(and_(im.c.hospital_code == hospital, im.c.status.in_(ACCEPTED),
                                              im.c.group_key.is_not(None))).order_by(im.c.item_code)).mappings()
    return [dict(r) for r in rows]
