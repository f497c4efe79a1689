"""Writing the catalogue tables: programmes with their agreement years, products, volumes, groups,
and the record of each import. Upserts are select-then-write inside the caller's transaction, so
a re-imported file updates rows in place and never duplicates them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from agent.domain.catalogue import Kind, Level, Programme, WinningProduct
from agent.domain.normalise import parse_generic
from agent.store.schema.catalogue import (
    agreed_volumes,
    agreement_years,
    generic_groups,
    imports,
    programmes,
    winning_products,
)

PRODUCT_FIELDS = ("kind", "generic_name", "dosage_form", "spec", "pack", "smallest_unit", "manufacturer",
                  "national_code", "price", "category", "group_key")


def load_programme(conn: Connection, hospital: str, name: str) -> Programme | None:
    row = conn.execute(select(programmes).where(and_(programmes.c.hospital_code == hospital,
                                                     programmes.c.name == name))).mappings().first()
    if row is None:
        return None
    return Programme(row["name"], Kind(row["kind"]), Level(row["level"]), row["cycle_start"], row["cycle_end"],
                     tuple(date.fromisoformat(d) for d in row["extensions"]))


def save_programme(conn: Connection, hospital: str, p: Programme, now: datetime) -> None:
    """Insert or update a programme and rewrite its agreement years (协议年度)."""
    values = dict(kind=p.kind.value, level=p.level.value, cycle_start=p.cycle_start, cycle_end=p.cycle_end,
                  extensions=[d.isoformat() for d in p.extensions], updated_at=now)
    where = and_(programmes.c.hospital_code == hospital, programmes.c.name == p.name)
    if conn.execute(select(programmes.c.name).where(where)).first():
        conn.execute(update(programmes).where(where).values(**values))
    else:
        conn.execute(insert(programmes).values(hospital_code=hospital, name=p.name, **values))
    conn.execute(delete(agreement_years).where(and_(agreement_years.c.hospital_code == hospital,
                                                    agreement_years.c.programme == p.name)))
    for y in p.agreement_years():
        conn.execute(insert(agreement_years).values(hospital_code=hospital, programme=p.name, number=y.number,
                                                    start_day=y.start, end_day=y.end))


def product_values(p: WinningProduct) -> dict[str, Any]:
    return dict(kind=p.kind.value, generic_name=p.generic_name, dosage_form=p.dosage_form, spec=p.spec, pack=p.pack,
                smallest_unit=p.smallest_unit, manufacturer=p.manufacturer, national_code=p.national_code,
                price=p.price, category=p.category, group_key=p.group_key)


def existing_products(conn: Connection, hospital: str, programme: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute(select(winning_products).where(and_(winning_products.c.hospital_code == hospital,
                                                            winning_products.c.programme == programme)))
    return {r["product_key"]: dict(r) for r in rows.mappings()}


def same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def norm(v: Any) -> Any:
        return Decimal(v).normalize() if isinstance(v, (Decimal, int, float)) and not isinstance(v, bool) else v

    return all(norm(old.get(k)) == norm(v) for k, v in new.items())


def upsert_product(conn: Connection, hospital: str, programme: str, p: WinningProduct, ref: str, import_id: int,
                   now: datetime, old: dict[str, Any] | None) -> str:
    """'inserted', 'updated' or 'unchanged'."""
    values = product_values(p)
    if old is not None and same(old, values):
        return "unchanged"
    values.update(source_ref=ref, import_id=import_id, updated_at=now)
    if old is None:
        conn.execute(insert(winning_products).values(hospital_code=hospital, programme=programme,
                                                     product_key=p.product_key, **values))
        upsert_group(conn, hospital, p, now)
        return "inserted"
    conn.execute(update(winning_products).where(winning_products.c.id == old["id"]).values(**values))
    upsert_group(conn, hospital, p, now)
    return "updated"


def remove_products(conn: Connection, hospital: str, programme: str, keys: list[str]) -> int:
    """Remove a programme's products (and their agreed volumes) that its new list no longer holds."""
    for key in keys:
        conn.execute(delete(agreed_volumes).where(and_(agreed_volumes.c.hospital_code == hospital,
                                                       agreed_volumes.c.programme == programme,
                                                       agreed_volumes.c.product_key == key)))
        conn.execute(delete(winning_products).where(and_(winning_products.c.hospital_code == hospital,
                                                         winning_products.c.programme == programme,
                                                         winning_products.c.product_key == key)))
    return len(keys)


def upsert_group(conn: Connection, hospital: str, p: WinningProduct, now: datetime) -> None:
    where = and_(generic_groups.c.hospital_code == hospital, generic_groups.c.group_key == p.group_key)
    if conn.execute(select(generic_groups.c.group_key).where(where)).first():
        return
    g = parse_generic(p.generic_name, p.dosage_form)
    name = p.category if p.kind == Kind.CONSUMABLE and p.category else (g.full or p.generic_name)
    conn.execute(insert(generic_groups).values(hospital_code=hospital, group_key=p.group_key, kind=p.kind.value,
                                               generic_name=name, dosage_form=g.form, updated_at=now))


def upsert_volume(conn: Connection, hospital: str, programme: str, year: int, product_key: str,
                  values: dict[str, Any], now: datetime) -> str:
    where = and_(agreed_volumes.c.hospital_code == hospital, agreed_volumes.c.programme == programme,
                 agreed_volumes.c.year == year, agreed_volumes.c.product_key == product_key)
    old = conn.execute(select(agreed_volumes).where(where)).mappings().first()
    compare = {k: values[k] for k in ("quantity", "source_quantity", "source_unit", "factor")}
    if old is not None and same(dict(old), compare):
        return "unchanged"
    if old is None:
        conn.execute(insert(agreed_volumes).values(hospital_code=hospital, programme=programme, year=year,
                                                   product_key=product_key, updated_at=now, **values))
        return "inserted"
    conn.execute(update(agreed_volumes).where(where).values(updated_at=now, **values))
    return "updated"


def record_import(conn: Connection, hospital: str, *, what: str, file_name: str, sha256: str, now: datetime,
                  programme: str | None = None, year: int | None = None, rows_read: int = 0,
                  errors: list[dict[str, Any]] | None = None) -> int:
    """Start an import record; ``finish_import`` writes its counts."""
    result = conn.execute(insert(imports).values(
        hospital_code=hospital, what=what, programme=programme, year=year, file_name=file_name, sha256=sha256,
        imported_at=now, rows_read=rows_read, rows_rejected=len(errors or []), inserted=0, updated=0, unchanged=0,
        errors=errors or []))
    return int(result.inserted_primary_key[0])


def finish_import(conn: Connection, import_id: int, counts: dict[str, int]) -> None:
    conn.execute(update(imports).where(imports.c.id == import_id).values(
        inserted=counts.get("inserted", 0), updated=counts.get("updated", 0), unchanged=counts.get("unchanged", 0)))


def import_history(conn: Connection, hospital: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(imports).where(imports.c.hospital_code == hospital).order_by(imports.c.id))
    return [dict(r) for r in rows.mappings()]
