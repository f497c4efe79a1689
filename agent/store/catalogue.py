"""The catalogue tables: programmes with their agreement years, winning products, agreed volumes,
generic groups, and the record of each import; and what the other areas ask the catalogue.

Writes: upserts are select-then-write inside the caller's transaction, so a re-imported file
updates rows in place and never duplicates them. Reads, each taking an open connection and a hospital:

- ``agreement_year_for``: the agreement year (协议年度) covering a day for a product, across
  successive programmes and renewals;
- ``winning_products``, ``agreed_volumes``: the lists, with their agreement years;
- ``generic_groups``: each group's winning products and the mapped local items competing with them
  (the local items' mappings themselves live in ``agent.store.mappings``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from agent.domain.catalogue import AgreementYear, GenericGroup, Kind, Level, Programme, WinningProduct
from agent.domain.normalise import parse_generic
from agent.store.mappings import ACCEPTED, mapped_item  # ACCEPTED is also asked for here (monitoring)
from agent.store.schema.catalogue import agreed_volumes as av
from agent.store.schema.catalogue import agreement_years as ay
from agent.store.schema.catalogue import consumable_values, imports
from agent.store.schema.catalogue import generic_groups as gg
from agent.store.schema.catalogue import item_mappings as im
from agent.store.schema.catalogue import programmes as pg
from agent.store.schema.catalogue import winning_products as wp

PRODUCT_FIELDS = ("kind", "generic_name", "dosage_form", "spec", "pack", "smallest_unit", "manufacturer",
                  "national_code", "price", "category", "group_key")


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


# -- programmes and agreement years ------------------------------------------------------------

def load_programme(conn: Connection, hospital: str, name: str) -> Programme | None:
    row = conn.execute(select(pg).where(and_(pg.c.hospital_code == hospital, pg.c.name == name))).mappings().first()
    if row is None:
        return None
    return Programme(row["name"], Kind(row["kind"]), Level(row["level"]), row["cycle_start"], row["cycle_end"],
                     tuple(date.fromisoformat(d) for d in row["extensions"]))


def save_programme(conn: Connection, hospital: str, p: Programme, now: datetime) -> None:
    """Insert or update a programme and rewrite its agreement years (协议年度)."""
    values = dict(kind=p.kind.value, level=p.level.value, cycle_start=p.cycle_start, cycle_end=p.cycle_end,
                  extensions=[d.isoformat() for d in p.extensions], updated_at=now)
    where = and_(pg.c.hospital_code == hospital, pg.c.name == p.name)
    if conn.execute(select(pg.c.name).where(where)).first():
        conn.execute(update(pg).where(where).values(**values))
    else:
        conn.execute(insert(pg).values(hospital_code=hospital, name=p.name, **values))
    conn.execute(delete(ay).where(and_(ay.c.hospital_code == hospital, ay.c.programme == p.name)))
    for y in p.agreement_years():
        conn.execute(insert(ay).values(hospital_code=hospital, programme=p.name, number=y.number,
                                       start_day=y.start, end_day=y.end))


def programmes(conn: Connection, hospital: str) -> list[Any]:
    names = conn.execute(select(pg.c.name).where(pg.c.hospital_code == hospital).order_by(pg.c.name)).scalars()
    return [load_programme(conn, hospital, n) for n in names]


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


# -- winning products and generic groups -------------------------------------------------------

def product_of(r: Any) -> WinningProduct:
    return WinningProduct(
        generic_name=r["generic_name"], dosage_form=r["dosage_form"], spec=r["spec"], manufacturer=r["manufacturer"],
        kind=Kind(r["kind"]), pack=_dec(r["pack"]), smallest_unit=r["smallest_unit"], national_code=r["national_code"],
        price=_dec(r["price"]), category=r["category"], registration_no=r.get("registration_no"))


def _dec(v: Any) -> Decimal | None:
    return None if v is None else Decimal(v).normalize()


def product_values(p: WinningProduct) -> dict[str, Any]:
    return dict(kind=p.kind.value, generic_name=p.generic_name, dosage_form=p.dosage_form, spec=p.spec, pack=p.pack,
                smallest_unit=p.smallest_unit, manufacturer=p.manufacturer, national_code=p.national_code,
                price=p.price, category=p.category, group_key=p.group_key, registration_no=p.registration_no)


def same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def norm(v: Any) -> Any:
        return Decimal(v).normalize() if isinstance(v, (Decimal, int, float)) and not isinstance(v, bool) else v

    return all(norm(old.get(k)) == norm(v) for k, v in new.items())


def existing_products(conn: Connection, hospital: str, programme: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute(select(wp).where(and_(wp.c.hospital_code == hospital, wp.c.programme == programme)))
    return {r["product_key"]: dict(r) for r in rows.mappings()}


def load_products(conn: Connection, hospital: str) -> list[WinningProduct]:
    """Every winning product of the hospital, one per product key (the latest import wins)."""
    rows = conn.execute(select(wp).where(wp.c.hospital_code == hospital).order_by(wp.c.updated_at, wp.c.id)).mappings()
    by_key: dict[str, WinningProduct] = {}
    for r in rows:
        by_key[r["product_key"]] = product_of(r)
    return list(by_key.values())


def product_groups(conn: Connection, hospital: str) -> dict[str, str]:
    """The generic group of every winning product key of the hospital."""
    return {r[0]: r[1] for r in conn.execute(select(wp.c.product_key, wp.c.group_key).where(wp.c.hospital_code == hospital))}


def winning_products(conn: Connection, hospital: str, programme: str | None = None) -> list[WinningProductRow]:
    q = select(wp).where(wp.c.hospital_code == hospital)
    if programme is not None:
        q = q.where(wp.c.programme == programme)
    rows = conn.execute(q.order_by(wp.c.programme, wp.c.id)).mappings()
    return [WinningProductRow(r["programme"], r["product_key"], r["group_key"], product_of(r)) for r in rows]


@dataclass(frozen=True)
class ProductLabel:
    """What a page shows of a winning product: its names, its group and programme."""

    product_key: str
    programme: str
    group_key: str
    generic_name: str
    spec: str | None
    manufacturer: str
    smallest_unit: str | None
    national_code: str | None


def product_labels(conn: Connection, hospital: str, product_key: str | None = None) -> dict[str, ProductLabel]:
    """Every winning product's label by key (or the one asked for): the console's tables."""
    q = select(wp.c.product_key, wp.c.programme, wp.c.group_key, wp.c.generic_name, wp.c.spec, wp.c.manufacturer,
               wp.c.smallest_unit, wp.c.national_code).where(wp.c.hospital_code == hospital)
    if product_key is not None:
        q = q.where(wp.c.product_key == product_key)
    return {r[0]: ProductLabel(*r) for r in conn.execute(q)}


def upsert_product(conn: Connection, hospital: str, programme: str, p: WinningProduct, ref: str, import_id: int,
                   now: datetime, old: dict[str, Any] | None) -> str:
    """'inserted', 'updated' or 'unchanged'."""
    values = product_values(p)
    if old is not None and same(old, values):
        return "unchanged"
    values.update(source_ref=ref, import_id=import_id, updated_at=now)
    if old is None:
        conn.execute(insert(wp).values(hospital_code=hospital, programme=programme, product_key=p.product_key, **values))
        upsert_group(conn, hospital, p, now)
        return "inserted"
    conn.execute(update(wp).where(wp.c.id == old["id"]).values(**values))
    upsert_group(conn, hospital, p, now)
    return "updated"


def remove_products(conn: Connection, hospital: str, programme: str, keys: list[str]) -> int:
    """Remove a programme's products (and their agreed volumes) that its new list no longer holds."""
    for key in keys:
        conn.execute(delete(av).where(and_(av.c.hospital_code == hospital, av.c.programme == programme,
                                           av.c.product_key == key)))
        conn.execute(delete(wp).where(and_(wp.c.hospital_code == hospital, wp.c.programme == programme,
                                           wp.c.product_key == key)))
    return len(keys)


def upsert_group(conn: Connection, hospital: str, p: WinningProduct, now: datetime) -> None:
    where = and_(gg.c.hospital_code == hospital, gg.c.group_key == p.group_key)
    if conn.execute(select(gg.c.group_key).where(where)).first():
        return
    g = parse_generic(p.generic_name, p.dosage_form)
    name = p.category if p.kind == Kind.CONSUMABLE and p.category else (g.full or p.generic_name)
    conn.execute(insert(gg).values(hospital_code=hospital, group_key=p.group_key, kind=p.kind.value,
                                   generic_name=name, dosage_form=g.form, updated_at=now))


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
            groups[r["group_key"]].local_items.append(mapped_item(r))
    return list(groups.values())


# -- agreed volumes ----------------------------------------------------------------------------

_PRODUCT_COLS = ("generic_name", "dosage_form", "spec", "manufacturer", "kind", "pack", "smallest_unit",
                 "national_code", "price", "category")


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


def agreed_volume(conn: Connection, hospital: str, programme: str, year: int, product_key: str) -> dict[str, Any] | None:
    """One product's agreed volume row for an agreement year, None when there is none."""
    old = conn.execute(select(av).where(and_(av.c.hospital_code == hospital, av.c.programme == programme,
                                              av.c.year == year, av.c.product_key == product_key))).mappings().first()
    return None if old is None else dict(old)


def first_year_quantities(conn: Connection, hospital: str, programme: str) -> dict[str, Decimal]:
    """The agreed quantity (smallest units) of each product in the programme's first agreement year."""
    rows = conn.execute(select(av.c.product_key, av.c.quantity).where(and_(
        av.c.hospital_code == hospital, av.c.programme == programme, av.c.year == 1)))
    return {k: Decimal(q).normalize() for k, q in rows}


def upsert_volume(conn: Connection, hospital: str, programme: str, year: int, product_key: str,
                  values: dict[str, Any], now: datetime) -> str:
    where = and_(av.c.hospital_code == hospital, av.c.programme == programme,
                 av.c.year == year, av.c.product_key == product_key)
    old = conn.execute(select(av).where(where)).mappings().first()
    compare = {k: values[k] for k in ("quantity", "source_quantity", "source_unit", "factor")}
    if old is not None and same(dict(old), compare):
        return "unchanged"
    if old is None:
        conn.execute(insert(av).values(hospital_code=hospital, programme=programme, year=year,
                                       product_key=product_key, updated_at=now, **values))
        return "inserted"
    conn.execute(update(av).where(where).values(updated_at=now, **values))
    return "updated"


# -- the record of each import -----------------------------------------------------------------

def record_import(conn: Connection, hospital: str, *, what: str, file_name: str, sha256: str, now: datetime,
                  programme: str | None = None, year: int | None = None, rows_read: int = 0,
                  errors: list[dict[str, Any]] | None = None) -> int:
    """Start an import record; ``finish_import`` writes its counts."""
    result = conn.execute(insert(imports).values(
        hospital_code=hospital, what=what, programme=programme, year=year, file_name=file_name, sha256=sha256,
        imported_at=now, rows_read=rows_read, rows_rejected=len(errors or []), inserted=0, updated=0, unchanged=0,
        errors=errors or []))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def finish_import(conn: Connection, import_id: int, counts: dict[str, int]) -> None:
    conn.execute(update(imports).where(imports.c.id == import_id).values(
        inserted=counts.get("inserted", 0), updated=counts.get("updated", 0), unchanged=counts.get("unchanged", 0)))


def import_history(conn: Connection, hospital: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(imports).where(imports.c.hospital_code == hospital).order_by(imports.c.id))
    return [dict(r) for r in rows.mappings()]


# -- 高值/低值 of consumables (reviewed) ------------------------------------------------------

def consumable_overrides(conn: Connection, hospital: str) -> dict[str, dict[str, Any]]:
    """Item code -> the pharmacist's decision (value high|low, decided_by, decided_at, note)."""
    t = consumable_values
    rows = conn.execute(select(t).where(t.c.hospital_code == hospital)).mappings()
    return {r["item_code"]: dict(r) for r in rows}


def set_consumable_value(conn: Connection, hospital: str, item_code: str, value: str | None, by: str, now: datetime,
                         note: str | None = None) -> None:
    """Record (or, with ``value`` None, withdraw) a pharmacist's 高值/低值 decision for one item."""
    t = consumable_values
    conn.execute(delete(t).where(and_(t.c.hospital_code == hospital, t.c.item_code == item_code)))
    if value is not None:
        conn.execute(insert(t).values(hospital_code=hospital, item_code=item_code, value=value, decided_by=by,
                                      decided_at=now, note=note))
