"""Catalogue tables: programmes, agreement years, winning products, agreed volumes, generic groups,
local item mappings (对码) and the record of every spreadsheet import."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Date,
    Float,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    insert,
    select,
    update,
)

from agent.domain.catalogue import Kind, WinningProduct
from agent.domain.normalise import parse_generic
from agent.store.ddl import add_column, create_tables
from agent.store.types import AwareDateTime, Json, metadata

COMPONENT = "catalogue"
Qty = Numeric(20, 6)

programmes = Table(
    "programmes",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("kind", String(16), nullable=False),  # drug | consumable
    Column("level", String(16), nullable=False),  # national | provincial | alliance
    Column("cycle_start", Date, nullable=False),
    Column("cycle_end", Date, nullable=False),
    Column("extensions", Json, nullable=False),  # ISO dates, each a new cycle end
    Column("updated_at", AwareDateTime, nullable=False),
)

agreement_years = Table(
    "agreement_years",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("programme", String(200), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("start_day", Date, nullable=False),
    Column("end_day", Date, nullable=False),
)

winning_products = Table(
    "winning_products",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hospital_code", String(32), nullable=False),
    Column("programme", String(200), nullable=False),
    Column("product_key", String(300), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("generic_name", String(200), nullable=False),
    Column("dosage_form", String(100)),
    Column("spec", String(200)),
    Column("pack", Qty),
    Column("smallest_unit", String(16)),
    Column("manufacturer", String(200), nullable=False),
    Column("national_code", String(40)),
    Column("price", Qty),
    Column("category", String(200)),
    Column("group_key", String(300), nullable=False),
    Column("source_ref", String(200)),  # sheet!row of the import that last wrote it
    Column("import_id", Integer),
    Column("updated_at", AwareDateTime, nullable=False),
    Column("registration_no", String(100)),  # consumables: 注册证号 / 备案凭证号 (v4)
    UniqueConstraint("hospital_code", "programme", "product_key"),
    Index("ix_winning_products_group", "hospital_code", "group_key"),
)

agreed_volumes = Table(
    "agreed_volumes",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("programme", String(200), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("product_key", String(300), primary_key=True),
    Column("quantity", Qty, nullable=False),  # smallest units
    Column("source_quantity", Qty),
    Column("source_unit", String(16)),
    Column("factor", Qty),
    Column("source_ref", String(200)),
    Column("import_id", Integer),
    Column("updated_at", AwareDateTime, nullable=False),
)

generic_groups = Table(
    "generic_groups",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("group_key", String(300), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("generic_name", String(200), nullable=False),
    Column("dosage_form", String(100)),
    Column("updated_at", AwareDateTime, nullable=False),
)

item_mappings = Table(
    "item_mappings",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("item_code", String(100), primary_key=True),
    Column("item_name", String(300), nullable=False),
    Column("item", Json, nullable=False),  # the LocalItem as last seen (generic, form, spec, maker, unit...)
    Column("status", String(16), nullable=False),  # auto | review | none | reviewed | manual
    Column("product_key", String(300)),
    Column("group_key", String(300)),
    Column("confidence", Float, nullable=False),
    Column("reason", Text, nullable=False),
    Column("candidates", Json, nullable=False),
    Column("factor", Qty),  # smallest units per HIS unit; NULL = unknown, never guessed
    Column("factor_source", String(16)),  # his | spec | review
    Column("decided_by", String(100)),
    Column("decided_at", AwareDateTime),
    Column("updated_at", AwareDateTime, nullable=False),
    Index("ix_item_mappings_group", "hospital_code", "group_key"),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hospital_code", String(32), nullable=False),
    Column("what", String(16), nullable=False),  # winners | volumes | review
    Column("programme", String(200)),
    Column("year", Integer),
    Column("file_name", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("imported_at", AwareDateTime, nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("inserted", Integer, nullable=False),
    Column("updated", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("errors", Json, nullable=False),
)


def _v1(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [programmes, agreement_years, winning_products, agreed_volumes, generic_groups, item_mappings, imports])


def _v2(conn) -> None:  # type: ignore[no-untyped-def]
    """Regroup winning products with the dosage forms read as HIS and national tables write them.

    Until v2 a 剂型 such as ``片剂(缓释)`` or ``注射剂(粉针)`` lost its bracketed qualifier, so a
    sustained-release tablet was keyed into the plain tablets' group. Each product whose group (and
    so, without a national code, its product key) now reads differently is moved, with its agreed
    volumes and the local items mapped to it as a winning product; its group is created if missing.
    Non-winning items keep their group until the next ``map run`` re-proposes them (decided ones stay).
    """
    now = datetime.now(UTC)
    for r in conn.execute(select(winning_products)).mappings().all():
        p = WinningProduct(generic_name=r["generic_name"], dosage_form=r["dosage_form"], spec=r["spec"],
                           manufacturer=r["manufacturer"], kind=Kind(r["kind"]), national_code=r["national_code"],
                           category=r["category"])
        group, key, hospital, old = p.group_key, p.product_key, r["hospital_code"], r["product_key"]
        if (group, key) == (r["group_key"], old):
            continue
        conn.execute(update(winning_products).where(winning_products.c.id == r["id"]).values(group_key=group, product_key=key))
        conn.execute(update(agreed_volumes).where(and_(agreed_volumes.c.hospital_code == hospital,
                                                       agreed_volumes.c.programme == r["programme"],
                                                       agreed_volumes.c.product_key == old)).values(product_key=key))
        conn.execute(update(item_mappings).where(and_(item_mappings.c.hospital_code == hospital,
                                                      item_mappings.c.product_key == old)).values(product_key=key, group_key=group))
        where = and_(generic_groups.c.hospital_code == hospital, generic_groups.c.group_key == group)
        if conn.execute(select(generic_groups.c.group_key).where(where)).first() is None:
            g = parse_generic(p.generic_name, p.dosage_form)
            conn.execute(insert(generic_groups).values(hospital_code=hospital, group_key=group, kind=p.kind.value,
                                                       generic_name=g.full or p.generic_name, dosage_form=g.form,
                                                       updated_at=now))


# 报量: the volume the hospital declares for a programme's coming cycle or year, with its written
# reason when it is below 80% of history (001).
volume_declarations = Table(
    "volume_declarations",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("programme", String(200), primary_key=True),
    Column("product_key", String(300), primary_key=True),
    Column("quantity", Qty, nullable=False),  # smallest units
    Column("reason", Text),
    Column("source_ref", String(200)),
    Column("imported_at", AwareDateTime, nullable=False),
)


def _v3(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [volume_declarations])


def _v4(conn) -> None:  # type: ignore[no-untyped-def]
    """Consumables (#21): ``winning_products.registration_no`` (注册证号), the reviewed 高值/低值 decisions,
    and a consumable listed with its 27-character code and no class regrouped by the code's class and
    通用名码 (its first 10 characters) instead of its name, as v2 regrouped (drugs are left as they are)."""
    add_column(conn, winning_products, "registration_no")
    create_tables(conn, [consumable_values])
    _v2(conn)


# 高值/低值 of a consumable as a pharmacist decided it (``consumables set``), over the class and price rule.
consumable_values = Table(
    "consumable_values",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("item_code", String(100), primary_key=True),  # the local item (HIS / 物资字典 code)
    Column("value", String(8), nullable=False),  # high | low
    Column("decided_by", String(100), nullable=False),
    Column("decided_at", AwareDateTime, nullable=False),
    Column("note", Text),
)


MIGRATIONS = [_v1, _v2, _v3, _v4]
