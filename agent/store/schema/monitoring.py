"""Monitoring's own tables: rise-test history (for persistence) and daily progress snapshots
(completion by usage, and by acceptance where the hospital's warehouse receipts give it)."""

from __future__ import annotations

from sqlalchemy import Column, Date, Float, Index, Integer, String, Table

from agent.store.ddl import add_column, create_tables
from agent.store.types import AwareDateTime, metadata

COMPONENT = "monitoring"

rise_history = Table(
    "monitoring_rise_history",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("group_id", String(100), primary_key=True),
    Column("day", Date, primary_key=True),  # the last day of the tested window
    Column("flagged", Integer, nullable=False),
    Column("observed", Float, nullable=False),
    Column("expected", Float, nullable=False),
    Column("p_value", Float, nullable=False),
    Column("q_value", Float, nullable=False),
    Column("evaluated_at", AwareDateTime, nullable=False),
)

progress_snapshots = Table(
    "monitoring_progress",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("product_id", String(100), primary_key=True),
    Column("year_start", Date, primary_key=True),
    Column("as_of", Date, primary_key=True),
    Column("programme", String(200), nullable=False),
    Column("agreed", Float, nullable=False),
    Column("used", Float, nullable=False),
    Column("completion", Float, nullable=False),
    Column("time_progress", Float, nullable=False),
    Column("status", String(16), nullable=False),
    Column("evaluated_at", AwareDateTime, nullable=False),
    Column("accepted", Float),  # 已验收, smallest units; null without receipts for the product's items
    Column("accepted_completion", Float),  # 按验收完成进度
    Index("ix_monitoring_progress_as_of", "hospital_code", "as_of"),
)


def _v1(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [rise_history, progress_snapshots],
                  without={"monitoring_progress": ["accepted", "accepted_completion"]})


def _v2(conn) -> None:  # type: ignore[no-untyped-def]
    """Completion by acceptance (按验收) beside completion by usage."""
    add_column(conn, progress_snapshots, "accepted")
    add_column(conn, progress_snapshots, "accepted_completion")


def _v3(conn) -> None:  # type: ignore[no-untyped-def]
    """Snapshots by day (the console's 总览 and the digest read one day across every product)."""
    for ix in progress_snapshots.indexes:
        ix.create(conn, checkfirst=True)


MIGRATIONS = [_v1, _v2, _v3]
