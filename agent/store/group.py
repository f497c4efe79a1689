"""The group view's repository: each hospital's programme figures as of a day (``programme_snapshots``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select

from agent.store.schema.group import programme_snapshots as snap


@dataclass(frozen=True)
class Snapshot:
    hospital_code: str
    hospital_name: str
    programme: str
    day: date
    figures: dict[str, Any]


def save_day(conn: Connection, hospital: str, hospital_name: str, day: date,
             figures: Mapping[str, Mapping[str, Any]], now: datetime) -> None:
    """Replace the hospital's figures of ``day`` (one entry per programme label)."""
    conn.execute(delete(snap).where(snap.c.hospital_code == hospital, snap.c.day == day))
    if figures:
        conn.execute(snap.insert(), [
            {"hospital_code": hospital, "hospital_name": hospital_name, "programme": label, "day": day,
             "figures": dict(values), "computed_at": now}
            for label, values in figures.items()
        ])


def latest_in(conn: Connection, first: date, last: date) -> list[Snapshot]:
    """Every hospital's figures of its latest day within [first, last], by hospital then programme."""
    latest = (select(snap.c.hospital_code, func.max(snap.c.day).label("day"))
              .where(snap.c.day >= first, snap.c.day <= last).group_by(snap.c.hospital_code).subquery())
    rows = conn.execute(
        select(snap).join(latest, (snap.c.hospital_code == latest.c.hospital_code) & (snap.c.day == latest.c.day))
        .order_by(snap.c.hospital_code, snap.c.programme)
    ).all()
    return [Snapshot(r.hospital_code, r.hospital_name, r.programme, r.day, dict(r.figures)) for r in rows]
