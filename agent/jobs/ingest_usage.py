"""Usage ingestion: per-day aggregates (用量) read from the HIS, stored as absolute values.

A window of days is read in one query (grouped inside the HIS), validated, and written in one
transaction that deletes the window's earlier rows first, so re-reading is idempotent. Every
poll re-reads the open day (today) and the last ``lookback_days`` closed days, which catches
returns (退药), late commits and corrections.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import Connection, Date, Numeric, Table, and_, delete

from agent.clock import Clock
from agent.domain.model import BadRow, UsageRow
from agent.domain.validate import usage_problem
from agent.jobs import quarantine as quarantine_repo
from agent.ports import UsageSource
from agent.store import Store
from agent.store.types import AwareDateTime
from agent.store.schema.ingest import usage_daily, usage_days


@dataclass
class UsageStats:
    days: int = 0
    rows: int = 0  # aggregate rows stored
    lines: int = 0  # source rows behind them
    bad: int = 0

    def add(self, other: UsageStats) -> None:
        self.days += other.days
        self.rows += other.rows
        self.lines += other.lines
        self.bad += other.bad


def _num(raw: dict[str, str | None], key: str) -> Decimal:
    try:
        return Decimal(raw.get(key) or 0)
    except InvalidOperation:
        return Decimal(0)


def read_window(source: UsageSource, day_from: date, day_to: date) -> tuple[list[UsageRow], list[BadRow]]:
    good: list[UsageRow] = []
    bad: list[BadRow] = []
    for row in source.read_usage(day_from, day_to):
        if isinstance(row, BadRow):
            bad.append(row)
            continue
        problem = usage_problem(row, day_from, day_to)
        if problem:
            key = f"{row.day}|{row.item_code}|{row.dept_code}|{row.setting.value}"
            bad.append(BadRow("usage", key, problem, {
                "day": str(row.day), "item_code": row.item_code, "dept_code": row.dept_code, "setting": row.setting.value,
                "quantity": str(row.quantity), "amount": str(row.amount), "lines": str(row.lines)}))
        else:
            good.append(row)
    return good, bad


def ingest_window(store: Store, source: UsageSource, day_from: date, day_to: date, now: datetime,
                  extra: Callable[[Connection, UsageStats], None] | None = None) -> UsageStats:
    """Read [day_from, day_to] and replace what the store holds for those days, in one transaction.

    ``extra(conn, stats)`` runs inside the same transaction (the backfill records its progress).
    """
    good, bad = read_window(source, day_from, day_to)
    merged: dict[tuple, list] = {}
    per_day: dict[date, list] = defaultdict(lambda: [0, Decimal(0), 0])
    for r in good:
        key = (r.day, r.item_code, r.dept_code, r.setting.value, r.prescriber_code or "")
        acc = merged.setdefault(key, [Decimal(0), Decimal(0), 0])
        acc[0] += r.quantity
        acc[1] += r.amount
        acc[2] += r.lines
        per_day[r.day][0] += r.lines
        per_day[r.day][1] += r.quantity
    for b in bad:  # quarantined rows still count in the source's own totals (reconciliation)
        try:
            day = date.fromisoformat(str(b.raw.get("day"))[:10])
        except ValueError:
            continue
        if day_from <= day <= day_to:
            per_day[day][0] += int(_num(b.raw, "lines"))
            per_day[day][1] += _num(b.raw, "quantity")
    for (day, *_rest) in merged:
        per_day[day][2] += 1
    hc, name = store.hospital_code, source.name
    days = [day_from + timedelta(days=i) for i in range((day_to - day_from).days + 1)]
    stats = UsageStats(days=len(days), rows=len(merged), lines=sum(v[2] for v in merged.values()), bad=len(bad))
    with store.begin() as conn:
        _delete_days(conn, hc, name, day_from, day_to)
        if merged:
            insert_many(conn, usage_daily, [(hc, name, *k, v[0], v[1], v[2], now) for k, v in merged.items()])
        conn.execute(usage_days.insert(), [
            dict(hospital_code=hc, source=name, day=d, lines=per_day[d][0] if d in per_day else 0,
                 quantity=per_day[d][1] if d in per_day else Decimal(0), groups=per_day[d][2] if d in per_day else 0,
                 read_at=now) for d in days])
        quarantine_repo.record(conn, hc, name, bad, now)
        if extra is not None:
            extra(conn, stats)
    return stats


def insert_many(conn: Connection, table: Table, rows: list[tuple]) -> None:
    """A bulk INSERT of tuples in column order, straight to the driver (SQLAlchemy's per-row
    parameter processing cost more than the rest of a backfill). On SQLite, values are written in
    the forms SQLAlchemy reads back: ISO dates, naive UTC timestamps, numbers as text."""
    names = [c.name for c in table.columns]
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})", rows)
        return
    convert = [_sqlite_converter(c.type) for c in table.columns]
    pairs = [(i, f) for i, f in enumerate(convert) if f is not None]
    out = []
    for r in rows:
        r = list(r)
        for i, f in pairs:
            if r[i] is not None:
                r[i] = f(r[i])
        out.append(tuple(r))
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})", out)


def _sqlite_converter(kind: object) -> Callable[[Any], Any] | None:
    if isinstance(kind, AwareDateTime):
        cache: dict[datetime, str] = {}
        return lambda v: cache.get(v) or cache.setdefault(v, v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"))
    if isinstance(kind, Numeric):
        return str
    if isinstance(kind, Date):
        return date.isoformat
    return None


def _delete_days(conn: Connection, hc: str, name: str, day_from: date, day_to: date) -> None:
    for table in (usage_daily, usage_days):
        conn.execute(delete(table).where(and_(
            table.c.hospital_code == hc, table.c.source == name, table.c.day >= day_from, table.c.day <= day_to)))


def poll_usage(store: Store, source: UsageSource, clock: Clock, lookback_days: int = 7) -> UsageStats:
    """The regular poll: the open day and the last ``lookback_days`` closed days, in one window."""
    today = clock.today()
    return ingest_window(store, source, today - timedelta(days=lookback_days), today, clock.now())
