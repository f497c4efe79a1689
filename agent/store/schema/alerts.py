"""Alert tables: lifecycle state per key, silences, grouped notices waiting, the notification log,
and each receiver's state (stopped after a permanent error)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from agent.store.ddl import create_tables
from agent.store.types import AwareDateTime, Json, metadata

COMPONENT = "alerts"

alert_state = Table(
    "alert_state",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("rule", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("title", Text, nullable=False),
    Column("labels", Json, nullable=False),
    Column("values", Json, nullable=False),
    Column("evidence", Json, nullable=False),
    Column("status", String(16), nullable=False),  # inactive|pending|firing
    Column("pending_since", AwareDateTime),
    Column("fired_at", AwareDateTime),
    Column("resolved_at", AwareDateTime),
    Column("announced", Boolean, nullable=False, default=False),
    Column("last_notified_at", AwareDateTime),
    Column("escalated_at", AwareDateTime),
    Column("changes", Json, nullable=False),  # ISO times of recent state changes (flap window)
    Column("flapping", Boolean, nullable=False, default=False),
    Column("ack_by", String(100)),
    Column("ack_at", AwareDateTime),
    Column("ack_until", AwareDateTime),
    Column("ack_note", Text),
    Column("updated_at", AwareDateTime, nullable=False),
)

alert_silences = Table(
    "alert_silences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hospital_code", String(32), nullable=False),
    Column("matchers", Json, nullable=False),
    Column("starts_at", AwareDateTime, nullable=False),
    Column("ends_at", AwareDateTime, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", AwareDateTime, nullable=False),
    Index("ix_alert_silences_hospital_ends", "hospital_code", "ends_at"),
)

alert_notices = Table(  # notices routed to a receiver, waiting for their group to be sent
    "alert_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hospital_code", String(32), nullable=False),
    Column("receiver", String(64), nullable=False),
    Column("group_key", String(200), nullable=False),
    Column("alert_key", String(300), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("payload", Json, nullable=False),
    Column("created_at", AwareDateTime, nullable=False),
    Index("ix_alert_notices_group", "hospital_code", "receiver", "group_key"),
)

alert_groups = Table(
    "alert_groups",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("receiver", String(64), primary_key=True),
    Column("group_key", String(200), primary_key=True),
    Column("last_flush_at", AwareDateTime, nullable=False),
    Column("flushes", Integer, nullable=False, default=0),
)

notification_log = Table(
    "notification_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("hospital_code", String(32), nullable=False),
    Column("receiver", String(64), nullable=False),
    Column("alert_key", String(300), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("idem_key", String(200), nullable=False),
    Column("queued_at", AwareDateTime, nullable=False),
    Index("ix_notification_log_alert", "hospital_code", "alert_key"),
)

receiver_state = Table(
    "receiver_state",
    metadata,
    Column("hospital_code", String(32), primary_key=True),
    Column("receiver", String(64), primary_key=True),
    Column("state", String(16), nullable=False),  # ok|stopped
    Column("since", AwareDateTime, nullable=False),
    Column("last_ok_at", AwareDateTime),
    Column("last_error", Text),
    Column("vendor_code", String(32)),
)


def _v1(conn) -> None:  # type: ignore[no-untyped-def]
    create_tables(conn, [alert_state, alert_silences, alert_notices, alert_groups, notification_log, receiver_state])


MIGRATIONS = [_v1]
