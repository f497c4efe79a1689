"""Usage (用量) in the store: ``usage_daily`` aggregates, ``usage_days`` per-day totals as read, and
the backfill's progress (``backfill_runs``).

A window of days is replaced as a whole (:func:`replace_days`: delete, then insert), so re-reading
a day is idempotent; the caller holds the transaction, with the quarantined rows and the backfill's
progress in it.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import chain, islice

from sqlalchemy import ColumnElement, Connection, and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from agent.domain.model import TEXT_FIELDS, UsageText
from agent.store.schema.ingest import backfill_runs, usage_daily, usage_days

Merged = dict[tuple, tuple]  # (day, item, dept, setting, prescriber or "") -> (quantity, amount, lines)


@dataclass(frozen=True)
class DayTotal:
    """What a source held for one day when it was read: its rows behind the day, their quantity, and
    how many aggregate rows were stored (reconciliation compares the first two with the source)."""

    day: date
    lines: int
    quantity: Decimal
    groups: int


@dataclass(frozen=True)
class BackfillRun:
    next_day: date  # the first day not yet read
    rows: int
    finished_at: datetime | None


class TextRefused(Exception):
    """The store cannot take a window's :class:`UsageText` as it is (not SQLite, or a key in it
    twice); the caller rolls the transaction back and writes the rows merged."""


def replace_days(conn: Connection, hospital: str, source: str, day_from: date, day_to: date, merged: Merged | UsageText,
                 totals: Iterable[DayTotal], now: datetime) -> None:
    """Replace what the store holds of ``source`` for [day_from, day_to]: the aggregates ``merged``
    (or a window's text, SQLite only: else :class:`TextRefused` before anything is written)
    and one ``usage_days`` row per day of ``totals``, which names every day of the range once and no
    other (ValueError before anything is written): what a day's ``usage_days`` row says is what
    tells the daemon's kept series (:mod:`agent.store.series_cache`) the day was rewritten."""
    totals = list(totals)
    want = [day_from + timedelta(days=k) for k in range((day_to - day_from).days + 1)]
    if sorted(t.day for t in totals) != want:
        raise ValueError(f"usage of {source} for {day_from}..{day_to}: the day totals must name each of its days once, "
                         f"got {sorted(str(t.day) for t in totals)}")
    if isinstance(merged, UsageText) and (conn.dialect.name != "sqlite" or "\x00" in hospital + source):
        raise TextRefused("the store takes usage rows as text on SQLite only")
    _delete_days(conn, hospital, source, day_from, day_to)
    if isinstance(merged, UsageText):
        _insert_text(conn, hospital, source, merged, now)
    elif merged:
        _insert_usage(conn, hospital, source, merged, now)
    written = uuid.uuid4().hex  # new with each write, so two writes of a day never leave it the same stamp
    stamps = [dict(hospital_code=hospital, source=source, day=t.day, lines=t.lines, quantity=t.quantity, groups=t.groups,
                   read_at=now, written=written) for t in totals]
    if stamps:  # an empty list would be one row of defaults (INSERT ... DEFAULT VALUES), refused
        conn.execute(usage_days.insert(), stamps)


ROWS_PER_INSERT = 200  # SQLite: rows per INSERT statement at most (8 parameters each), within the build's limit


def _insert_usage(conn: Connection, hc: str, name: str, merged: Merged, now: datetime) -> None:
    """Plain tuples in an executemany, straight to the driver (SQLAlchemy's per-row parameter
    processing cost more than the rest of a backfill), built column by column with C-level
    ``zip``/``map`` rather than a Python step per row. SQLite gets the forms SQLAlchemy reads back:
    ISO dates, naive UTC timestamps, numbers as text; the hospital, source and time, the same for
    every row, are written into the statement as quoted literals rather than bound per row, and
    each statement inserts ``ROWS_PER_INSERT`` rows (fewer steps of the driver: bench-ingest)."""
    cols = ", ".join(c.name for c in usage_daily.columns)
    if conn.dialect.name != "sqlite":
        rows = [(hc, name, *k, q, a, n, now) for k, (q, a, n) in merged.items()]
        conn.exec_driver_sql(f"INSERT INTO usage_daily ({cols}) VALUES ({', '.join(['%s'] * 11)})", rows)
        return
    at = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    days, items, depts, settings, prescribers = zip(*merged, strict=True)
    quantities, amounts, lines = zip(*merged.values(), strict=True)
    iso = {d: d.isoformat() for d in set(days)}
    varying = zip(map(iso.__getitem__, days), items, depts, settings, prescribers, map(str, quantities), map(str, amounts),
                  lines, strict=True)
    if "\x00" in hc + name:  # no literal can hold it: every value bound
        conn.exec_driver_sql(f"INSERT INTO usage_daily ({cols}) VALUES ({', '.join('?' * 11)})",
                             [(hc, name, *row, at) for row in varying])
        return
    row = f"({_literal(hc)}, {_literal(name)}, {', '.join('?' * 8)}, {_literal(at)})"
    values = chain.from_iterable(varying)
    per = max(1, min(ROWS_PER_INSERT, _variable_limit(conn) // 8))
    full = len(days) // per
    if full:  # the first full * per rows, per to a statement
        head = islice(values, full * per * 8)
        conn.exec_driver_sql(f"INSERT INTO usage_daily ({cols}) VALUES {', '.join([row] * per)}",
                             list(zip(*[head] * (per * 8), strict=False)))
    if len(days) > full * per:
        conn.exec_driver_sql(f"INSERT INTO usage_daily ({cols}) VALUES {row}", list(zip(*[values] * 8, strict=False)))


def _insert_text(conn: Connection, hc: str, name: str, text: UsageText, now: datetime) -> None:
    """A window's text (SQLite): its values bound as they are, ``ROWS_PER_INSERT`` rows to a
    statement, fed from C-level iterators over the one flat list: no Python object per row or
    value. SQLite stores each as :func:`_insert_usage` would have: the ISO day and the codes as
    text, the numerals by their columns' affinity (NUMERIC: integer or real, as
    ``str(Decimal)`` is; INTEGER: integer). A key twice raises :class:`TextRefused` (the
    statement's rows are undone by SQLite, the window's earlier ones by the caller's rollback)."""
    width = len(TEXT_FIELDS)
    cols = f"hospital_code, source, prescriber_code, read_at, {', '.join(TEXT_FIELDS)}"
    at = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    row = f"({_literal(hc)}, {_literal(name)}, '', {_literal(at)}, {', '.join('?' * width)})"
    per = max(1, min(ROWS_PER_INSERT, _variable_limit(conn) // width))
    values = iter(text.fields)
    full = text.rows // per
    try:
        if full:
            conn.exec_driver_sql(f"INSERT INTO usage_daily ({cols}) VALUES {', '.join([row] * per)}",
                                 list(zip(*[islice(values, full * per * width)] * (per * width), strict=False)))
        if text.rows > full * per:
            conn.exec_driver_sql(f"INSERT INTO usage_daily ({cols}) VALUES {row}", list(zip(*[values] * width, strict=False)))
    except IntegrityError as exc:
        raise TextRefused("a usage key came twice") from exc


def _variable_limit(conn: Connection) -> int:
    """How many parameters one SQLite statement may take (999 in builds before 3.32)."""
    getlimit = getattr(conn.connection.driver_connection, "getlimit", None)
    return 999 if getlimit is None else int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


def _literal(text: str) -> str:
    """``text`` as a SQLite string literal."""
    return "'" + text.replace("'", "''") + "'"


def _delete_days(conn: Connection, hc: str, name: str, day_from: date, day_to: date) -> None:
    for table in (usage_daily, usage_days):
        conn.execute(delete(table).where(and_(
            table.c.hospital_code == hc, table.c.source == name, table.c.day >= day_from, table.c.day <= day_to)))


def day_totals(conn: Connection, hospital: str, source: str, day_from: date, day_to: date) -> dict[date, tuple[int, Decimal]]:
    """Day -> (source rows, quantity) as recorded when each day of [day_from, day_to] was last read."""
    rows = conn.execute(select(usage_days.c.day, usage_days.c.lines, usage_days.c.quantity).where(and_(
        usage_days.c.hospital_code == hospital, usage_days.c.source == source,
        usage_days.c.day >= day_from, usage_days.c.day <= day_to))).all()
    return {r.day: (int(r.lines), Decimal(r.quantity)) for r in rows}


def day_stamps(conn: Connection, hospital: str, sources: Iterable[str], day_from: date, day_to: date) -> dict[date, tuple]:
    """Day -> its ``usage_days`` rows of ``sources`` (source, the write's token, when read, lines, quantity,
    groups), sorted: what :func:`replace_days` writes anew each time it rewrites a day, so a day whose
    stamp is unchanged holds the rows it held. The token tells two writes apart that read the same
    totals at the same moment (a day's rows moved to another department)."""
    rows = conn.execute(select(usage_days.c.day, usage_days.c.source, usage_days.c.written, usage_days.c.read_at,
                               usage_days.c.lines, usage_days.c.quantity, usage_days.c.groups).where(and_(
        usage_days.c.hospital_code == hospital, usage_days.c.source.in_(list(sources)),
        usage_days.c.day >= day_from, usage_days.c.day <= day_to)))
    out: dict[date, list[tuple]] = {}
    for day, *stamp in rows:
        out.setdefault(day, []).append(tuple(stamp))
    return {day: tuple(sorted(s)) for day, s in out.items()}


# -- backfill progress (历史数据补录) -----------------------------------------------------------


def _run_key(hospital: str, source: str, day_from: date, day_to: date) -> ColumnElement[bool]:
    return and_(backfill_runs.c.hospital_code == hospital, backfill_runs.c.source == source,
                backfill_runs.c.day_from == day_from, backfill_runs.c.day_to == day_to)


def backfill_run(conn: Connection, hospital: str, source: str, day_from: date, day_to: date) -> BackfillRun | None:
    """The run over exactly [day_from, day_to], finished or not; None when there never was one."""
    run = conn.execute(select(backfill_runs).where(_run_key(hospital, source, day_from, day_to))).first()
    return None if run is None else BackfillRun(run.next_day, int(run.rows), run.finished_at)


def start_backfill_run(conn: Connection, hospital: str, source: str, day_from: date, day_to: date, now: datetime) -> None:
    """A new run over [day_from, day_to], at its first day."""
    conn.execute(backfill_runs.insert().values(hospital_code=hospital, source=source, day_from=day_from,
                                               day_to=day_to, next_day=day_from, rows=0, started_at=now))


def restart_backfill_run(conn: Connection, hospital: str, source: str, day_from: date, day_to: date, now: datetime) -> None:
    """A finished run over [day_from, day_to] started again from its first day."""
    conn.execute(update(backfill_runs).where(_run_key(hospital, source, day_from, day_to)).values(
        next_day=day_from, rows=0, started_at=now, finished_at=None))


def advance_backfill_run(conn: Connection, hospital: str, source: str, day_from: date, day_to: date, next_day: date,
                         rows: int, finished_at: datetime | None) -> None:
    """A window done: the run resumes at ``next_day`` and counts ``rows`` more (finished when
    ``finished_at`` is given)."""
    conn.execute(update(backfill_runs).where(_run_key(hospital, source, day_from, day_to)).values(
        next_day=next_day, rows=backfill_runs.c.rows + rows, finished_at=finished_at))


@dataclass(frozen=True)
class SourceRead:
    """What one usage source delivered: its newest day read, when, and its rows over the days asked."""

    source: str
    last_day: date | None
    last_read_at: datetime | None
    lines: int
    days: int


def source_reads(conn: Connection, hospital: str, first: date) -> list[SourceRead]:
    """Every usage source's reads since ``first`` (the console's 数据源)."""
    t = usage_days
    rows = conn.execute(select(t.c.source, func.max(t.c.day), func.max(t.c.read_at), func.sum(t.c.lines), func.count())
                        .where(t.c.hospital_code == hospital, t.c.day >= first).group_by(t.c.source)).all()
    return [SourceRead(src, day, at if at is None or at.tzinfo else at.replace(tzinfo=UTC), int(n or 0), int(d))
            for src, day, at, n, d in rows]


def items_used_by(conn: Connection, hospital: str, sources: Iterable[str], dept_code: str, first: date, last: date) -> set[str]:
    """The item codes one department used in [first, last] (the product table's department filter);
    naming the sources lets the primary key serve the day range."""
    t = usage_daily
    rows = conn.execute(select(t.c.item_code).distinct().where(
        t.c.hospital_code == hospital, t.c.source.in_(list(sources)), t.c.day >= first, t.c.day <= last,
        t.c.dept_code == dept_code))
    return {code for (code,) in rows}
