"""Ingestion tables: daily usage, the item and department dictionaries, receipts, quarantine, backfill progress.

``usage_daily`` holds absolute per-day aggregates (replaced when a day is re-read);
``usage_days`` records, per day read, the source's row count and quantity sum (reconciliation
compares them) and when it was read. ``local_items`` is the HIS item dictionary (药品字典) as the
ItemSource last read it; the catalogue's 对码 reads it. ``local_departments`` is the HIS department
dictionary (科室字典), so staff read 心血管内科 rather than 0101. ``receipts`` holds warehouse receipt
lines (入库明细), one row per source line, replaced when the line is edited.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, Integer, MetaData, Numeric, String, Table, Text, UniqueConstraint

from agent.store.ddl import add_column, create_tables
from agent.store.types import AwareDateTime, Json, metadata

COMPONENT = "ingest"

Qty = Numeric(18, 4, asdecimal=True)

usage_daily = Table(
    "usage_daily",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("item_code", String(64), primary_key=True),
    Column("dept_code", String(64), primary_key=True),
    Column("setting", String(16), primary_key=True),  # outpatient | inpatient | emergency | other
    Column("prescriber_code", String(64), primary_key=True, default=""),  # "" when not configured
    Column("quantity", Qty, nullable=False),  # HIS unit, net of returns
    Column("amount", Qty, nullable=False),
    Column("lines", Integer, nullable=False),
    Column("read_at", AwareDateTime, nullable=False),
    sqlite_with_rowid=False,  # v6: the primary key's B-tree is the table (see _v6)
)

usage_days = Table(
    "usage_days",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("lines", Integer, nullable=False),  # source rows behind the day, as read
    Column("quantity", Qty, nullable=False),
    Column("groups", Integer, nullable=False),  # aggregate rows stored
    Column("read_at", AwareDateTime, nullable=False),
    Column("written", String(32)),  # a token new with each write of the day (v7): its stamp changes even when
    # what was read did not (the same moment, the same totals, rows in another department)
)

local_items = Table(
    "local_items",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("code", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("generic_name", Text),
    Column("dosage_form", String(64)),
    Column("spec", Text),
    Column("manufacturer", Text),
    Column("his_unit", String(32)),
    Column("pack_factor", Qty),
    Column("national_code", String(32)),
    Column("price", Qty),
    Column("kind", String(16), nullable=False),
    Column("read_at", AwareDateTime, nullable=False),
    Column("registration_no", String(100)),  # consumables: 注册证号 (v5)
)

local_departments = Table(
    "local_departments",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("code", String(64), primary_key=True),  # as usage_daily.dept_code
    Column("name", Text, nullable=False),
    Column("read_at", AwareDateTime, nullable=False),
)

receipts = Table(
    "receipts",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("line_id", String(64), primary_key=True),
    Column("changed_at", AwareDateTime, nullable=False),
    Column("item_code", String(64), nullable=False),
    Column("quantity", Qty, nullable=False),
    Column("unit", String(32)),
    Column("lot", String(64)),
    Column("expiry", Date),
    Column("distributor", Text),
    Column("accepted_at", AwareDateTime),
    Column("delivery_id", String(64)),
    Column("order_id", String(64)),
    Column("invoice_no", String(64)),
    Column("unit_price", Qty),
    Column("on_platform", Boolean, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("delivery_note_no", String(64)),
    Column("receipt_no", String(64)),
    Column("pack_factor", Qty),  # smallest units per unit of the line, when the warehouse records it
    Column("content_hash", String(64), nullable=False),
    Column("first_seen_at", AwareDateTime, nullable=False),
    Column("updated_at", AwareDateTime, nullable=False),
    Index("ix_receipts_accepted", "hospital_code", "accepted_at"),
    Index("ix_receipts_changed", "hospital_code", "source", "changed_at"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hospital_code", String(32), nullable=False),
    Column("source", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # usage | receipt | item | department
    Column("row_key", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Json, nullable=False),
    Column("first_seen_at", AwareDateTime, nullable=False),
    Column("last_seen_at", AwareDateTime, nullable=False),
    Column("seen", Integer, nullable=False, default=1),
    UniqueConstraint("hospital_code", "source", "kind", "row_key"),
)

backfill_runs = Table(
    "backfill_runs",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("day_from", Date, primary_key=True),
    Column("day_to", Date, primary_key=True),
    Column("next_day", Date, nullable=False),  # the first day not yet read
    Column("rows", Integer, nullable=False, default=0),
    Column("started_at", AwareDateTime, nullable=False),
    Column("finished_at", AwareDateTime),
)


def _v1(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [usage_daily, usage_days, local_items, receipts, quarantine, backfill_runs],
                  with_rowid=["usage_daily"])


def _v2(conn) -> None:  # type: ignore[no-untyped-def]
    """Drop ``ix_usage_daily_item_day`` (hospital, item, day). Every window a backfill or poll
    writes is day-major, so an item-major index took an insert in nearly every one of its leaf
    pages per window: measured, 35-45% of a year's backfill. Readers go through the primary key,
    which starts (hospital, source, day): read a day range, group or filter by item."""
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_usage_daily_item_day")


def _v3(conn) -> None:  # type: ignore[no-untyped-def]
    """Add ``local_departments``: the department dictionary (科室字典) the items job copies."""
    create_tables(conn, [local_departments])


def _v4(conn) -> None:  # type: ignore[no-untyped-def]
    """Add ``receipts.pack_factor``: a warehouse that records each line in its own unit may give the
    line's own factor to the smallest unit (issue #18)."""
    add_column(conn, receipts, "pack_factor")


def _v5(conn) -> None:  # type: ignore[no-untyped-def]
    """Add ``local_items.registration_no``: a consumable's 注册证号, which 对码 matches on."""
    add_column(conn, local_items, "registration_no")


def _v6(conn) -> None:  # type: ignore[no-untyped-def]
    """SQLite: ``usage_daily`` becomes a ``WITHOUT ROWID`` table, stored in its primary key's
    B-tree. As a rowid table every insert wrote two B-trees (the rows by rowid, and the
    seven-column primary key index holding every key a second time); now one, half the size,
    and a day range read by primary key reads the rows themselves. Measured in bench-ingest: the
    backfill's inserts (see the README's #23 figures). The table is created anew, filled from
    the old one, which is dropped, and renamed (no view, trigger or foreign key names it).
    PostgreSQL keeps its heap and primary key index: nothing to do."""
    if conn.dialect.name != "sqlite":
        return
    ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'usage_daily'").scalar()
    if ddl is None or "WITHOUT ROWID" in ddl.upper():
        return
    new = usage_daily.to_metadata(MetaData(), name="usage_daily_v6")
    new.create(conn)
    cols = ", ".join(c.name for c in usage_daily.columns)
    conn.exec_driver_sql(f"INSERT INTO usage_daily_v6 ({cols}) SELECT {cols} FROM usage_daily")
    conn.exec_driver_sql("DROP TABLE usage_daily")
    conn.exec_driver_sql("ALTER TABLE usage_daily_v6 RENAME TO usage_daily")


def _v7(conn) -> None:  # type: ignore[no-untyped-def]
    """Add ``usage_days.written``: a token each write of a day draws anew, for the kept series' stamps."""
    add_column(conn, usage_days, "written")


MIGRATIONS = [_v1, _v2, _v3, _v4, _v5, _v6, _v7]
