"""What the service (the runner, the daemon's metrics, ``vbp-agent status``) reads and writes:
``job_health``, one row per job with its last outcome, and the counts its gauges and status show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from agent.store.schema.core import findings, job_health
from agent.store.schema.platform import platform_confirmations


@dataclass(frozen=True)
class JobHealth:
    job: str
    state: str  # up | down
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error_class: str | None
    last_error: str | None
    failures: int
    runs: int
    last_duration_s: float | None


def record_job_health(conn: Connection, hospital: str, job: str, state: str, now: datetime, error_class: str | None,
                      error: str | None, failures: int, runs: int, duration: float | None, success: bool) -> None:
    """Upsert the job's row: its state and counts, and when it last succeeded (or failed, and why)."""
    values: dict[str, Any] = dict(
        hospital_code=hospital, job=job, state=state, failures=failures, runs=runs, last_duration_s=duration,
    )
    if success:
        values["last_success_at"] = now
    else:
        values.update(last_failure_at=now, last_error_class=error_class, last_error=(error or "")[:2000])
    ins = (sqlite if conn.dialect.name == "sqlite" else postgresql).insert(job_health).values(**values)
    update = {k: v for k, v in values.items() if k not in ("hospital_code", "job")}
    conn.execute(ins.on_conflict_do_update(index_elements=["hospital_code", "job"], set_=update))


def job_healths(conn: Connection, hospital: str) -> list[JobHealth]:
    """Every job's row, by name."""
    rows = conn.execute(select(job_health).where(job_health.c.hospital_code == hospital).order_by(job_health.c.job)).all()
    return [JobHealth(r.job, r.state, r.last_success_at, r.last_failure_at, r.last_error_class, r.last_error, r.failures,
                      r.runs, r.last_duration_s) for r in rows]


def open_findings_by_severity(conn: Connection, hospital: str) -> dict[str, int]:
    """Active findings per severity (severities without any are absent)."""
    rows = conn.execute(
        select(findings.c.severity, func.count()).where(findings.c.hospital_code == hospital, findings.c.active == 1)
        .group_by(findings.c.severity)
    ).all()
    return {sev: n for sev, n in rows}


def oldest_unconfirmed_acceptance(conn: Connection, hospital: str) -> datetime | None:
    """When the oldest accepted receipt still queued for confirmation on the platform (到货确认) was
    accepted; None when none waits."""
    pc = platform_confirmations
    oldest = conn.execute(
        select(func.min(pc.c.accepted_at)).where(pc.c.hospital_code == hospital, pc.c.state == "queued")
    ).scalar()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return oldest
