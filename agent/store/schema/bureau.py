"""Tables for what the bureau and the pharmacy ask for beyond progress: items marked as
substitutable (可替代产品), the split of agreed volumes across departments (科室分配), the annual
report's draft and sending, and the hospital's 医保 进销存 upload log (3501-3507) as last read."""

from __future__ import annotations

from sqlalchemy import Column, Date, Float, Index, Integer, String, Table, Text

from agent.store.ddl import create_tables
from agent.store.types import AwareDateTime, metadata

COMPONENT = "bureau"

substitutes = Table(
    "bureau_substitutes",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("item_code", String(100), primary_key=True),
    Column("group_key", String(300), nullable=False),  # the generic group it can replace the winning product in
    Column("marked_by", String(100), nullable=False),
    Column("marked_at", AwareDateTime, nullable=False),
)

dept_allocations = Table(
    "bureau_dept_allocations",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("product_key", String(300), primary_key=True),
    Column("year_start", Date, primary_key=True),  # the agreement year (协议年度) it splits
    Column("dept_code", String(100), primary_key=True),
    Column("programme", String(200), nullable=False),
    Column("quantity", Float, nullable=False),  # smallest units
    Column("source", String(16), nullable=False),  # sheet | proposed (from last year's usage shares)
    Column("confirmed_by", String(100)),  # NULL: a proposal nobody confirmed yet
    Column("confirmed_at", AwareDateTime),
    Column("updated_at", AwareDateTime, nullable=False),
)

annual_reports = Table(
    "bureau_annual_reports",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("year", Integer, primary_key=True),  # the year reported on (due 15 January of the next)
    Column("drafted_at", AwareDateTime),
    Column("path", Text),
    Column("sent_at", AwareDateTime),
    Column("sent_by", String(100)),
)

insurance_uploads = Table(
    "bureau_insurance_uploads",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("business_day", Date, primary_key=True),
    Column("interface", String(8), primary_key=True),  # 3501..3507
    Column("attempt", String(64), primary_key=True),  # the log's own id for the call (msgid)
    Column("uploaded_at", AwareDateTime, nullable=False),
    Column("lines", Integer, nullable=False),
    Column("ok", Integer, nullable=False),
    Column("message", Text),
    Column("read_at", AwareDateTime, nullable=False),
    Index("ix_bureau_insurance_uploads_day", "hospital_code", "business_day"),
)


def _v1(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [substitutes, dept_allocations, annual_reports, insurance_uploads])


MIGRATIONS = [_v1]
