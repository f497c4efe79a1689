"""Console tables: local accounts with roles, login sessions, and the audit log of every write
made through the console (操作记录)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from agent.store.ddl import create_tables
from agent.store.types import AwareDateTime, Json, metadata

COMPONENT = "console"

console_users = Table(
    "console_users",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("username", String(64), primary_key=True),
    Column("display_name", String(100), nullable=False),
    Column("role", String(16), nullable=False),  # viewer | pharmacist | admin
    Column("password_hash", String(300), nullable=False),  # scrypt$n$r$p$salt$hash, never the password
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", AwareDateTime, nullable=False),
    Column("updated_at", AwareDateTime, nullable=False),
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the cookie's token: a stolen table opens nothing
    Column("hospital_code", String(32), nullable=False),
    Column("username", String(64), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", AwareDateTime, nullable=False),
    Column("expires_at", AwareDateTime, nullable=False),
    Index("ix_console_sessions_user", "hospital_code", "username"),
)

console_audit = Table(
    "console_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hospital_code", String(32), nullable=False),
    Column("at", AwareDateTime, nullable=False),
    Column("username", String(64), nullable=False),
    Column("action", String(32), nullable=False),  # login | ack | silence | unsilence | review | report | users...
    Column("target", Text, nullable=False),
    Column("detail", Json, nullable=False),
    Column("address", String(64)),
    Index("ix_console_audit_at", "hospital_code", "at"),
)


def _v1(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [console_users, console_sessions, console_audit])


MIGRATIONS = [_v1]
