"""Core tables: schema versions, cursors, the outbox, findings and job health."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text, UniqueConstraint

from agent.store.ddl import add_column, create_tables
from agent.store.types import AwareDateTime, Json, metadata

COMPONENT = "core"

schema_version = Table(
    "schema_version",
    metadata,
    Column("component", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", AwareDateTime, nullable=False),
)

cursors = Table(
    "cursors",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("value", Json, nullable=False),
    Column("updated_at", AwareDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hospital_code", String(32), nullable=False),
    Column("channel", String(64), nullable=False),  # e.g. notify:pharmacy, platform:confirm
    Column("idem_key", String(200), nullable=False),
    Column("payload", Json, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),  # pending|sent|quarantined
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", AwareDateTime, nullable=False),
    Column("next_try_at", AwareDateTime, nullable=False),
    Column("sent_at", AwareDateTime),
    Column("last_error", Text),
    Column("response", Json),
    UniqueConstraint("hospital_code", "channel", "idem_key"),
    Index("ix_outbox_due", "status", "channel", "next_try_at"),
)

findings = Table(
    "findings",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("rule", String(64), primary_key=True),
    Column("subject", String(200), primary_key=True),
    Column("severity", String(16), nullable=False),  # info|warning|critical
    Column("title", Text, nullable=False),
    Column("values", Json, nullable=False),
    Column("evidence", Json, nullable=False),
    Column("labels", Json, nullable=False),
    Column("observed_at", AwareDateTime, nullable=False),
    Column("active", Integer, nullable=False, default=1),
    Column("updated_at", AwareDateTime, nullable=False),
)

job_health = Table(
    "job_health",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("job", String(100), primary_key=True),
    Column("state", String(16), nullable=False),  # up|down
    Column("last_success_at", AwareDateTime),
    Column("last_failure_at", AwareDateTime),
    Column("last_error_class", String(100)),
    Column("last_error", Text),
    Column("failures", Integer, nullable=False, default=0),
    Column("runs", Integer, nullable=False, default=0),
    Column("last_duration_s", Float),
)


def _v1(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [schema_version, cursors, outbox, findings], without={"outbox": ["response"]})


def _v2(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [job_health])
    add_column(conn, outbox, "response")


MIGRATIONS = [_v1, _v2]
