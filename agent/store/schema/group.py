"""A hospital group's view: each agent's daily programme figures, so that one store shared by a group's
agents can be read side by side without recomputing any hospital with another's configuration."""

from __future__ import annotations

from sqlalchemy import Column, Date, String, Table

from agent.store.ddl import create_tables
from agent.store.types import AwareDateTime, Json, metadata

COMPONENT = "group"

# One row per hospital, programme (agreement year) and day: ProgrammeSummary's figures as of that day.
programme_snapshots = Table(
    "programme_snapshots",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("hospital_name", String(200), nullable=False),
    Column("programme", String(200), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("figures", Json, nullable=False),
    Column("computed_at", AwareDateTime, nullable=False),
)


def _v1(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [programme_snapshots])


MIGRATIONS = [_v1]
