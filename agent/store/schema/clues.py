"""Clues of supplier misconduct recorded by staff (短缺 / 违约线索 登记): the types the clocks cannot
see (未签带量合同, 不按中选清单供应, 未提供伴随服务, 中选产品质量问题), or any type by hand."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from agent.store.ddl import create_tables
from agent.store.types import AwareDateTime, metadata

COMPONENT = "clues"

staff_clues = Table(
    "staff_clues",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hospital_code", String(32), nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM the clue belongs to
    Column("supplier", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # 配送企业 | 生产企业
    Column("clue_type", String(32), nullable=False),
    Column("product", String(200)),
    Column("detail", Text, nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", AwareDateTime, nullable=False),
    Index("ix_staff_clues_month", "hospital_code", "month"),
)


def _v1(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [staff_clues])


MIGRATIONS = [_v1]
