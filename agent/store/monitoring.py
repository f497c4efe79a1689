"""Monitoring's own tables: the rise-test flags kept per group and day (persistence survives
restarts) and the daily progress snapshots (what the morning digest and the demo show).

The inputs monitoring computes from (catalogue, usage, receipts) are read by
:class:`agent.store.monitoring_inputs.StoreInputs`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import Connection, func, select

from agent.domain.detect import RiseTest
from agent.domain.headline import ProgressSnapshot
from agent.domain.progress import ProductProgress
from agent.domain.rise_evidence import RULE_RISE
from agent.store.schema.core import findings
from agent.store.schema.monitoring import progress_snapshots, rise_history

# -- rise tests ------------------------------------------------------------------------------


def rise_flags(conn: Connection, hospital: str, first: date, before: date) -> dict[str, list[bool]]:
    """Each group's ``flagged`` of the evaluations of days [first, before), oldest first."""
    t = rise_history
    rows = conn.execute(
        select(t.c.group_id, t.c.day, t.c.flagged)
        .where(t.c.hospital_code == hospital, t.c.day >= first, t.c.day < before)
        .order_by(t.c.day)
    ).all()
    out: dict[str, list[bool]] = {}
    for gid, _day, flagged in rows:
        out.setdefault(gid, []).append(bool(flagged))
    return out


def flags_under_alert(conn: Connection, hospital: str, first: date, before: date) -> list[tuple[str, date, bool]]:
    """(group id, day, flagged) of the evaluations of days [first, before) of every group whose
    rise finding is active, each group's newest first; empty without such a group."""
    active = [s for (s,) in conn.execute(select(findings.c.subject).where(
        findings.c.hospital_code == hospital, findings.c.rule == RULE_RISE, findings.c.active == 1))]
    if not active:
        return []
    t = rise_history
    rows = conn.execute(
        select(t.c.group_id, t.c.day, t.c.flagged)
        .where(t.c.hospital_code == hospital, t.c.group_id.in_(active), t.c.day >= first, t.c.day < before)
        .order_by(t.c.group_id, t.c.day.desc())
    ).all()
    return [(gid, day, bool(flagged)) for gid, day, flagged in rows]


def record_rise_tests(conn: Connection, hospital: str, end: date, tests: Iterable[RiseTest], now: datetime) -> None:
    """The tests of the window ending on ``end``, replacing that day's earlier ones."""
    t = rise_history
    tests = list(tests)
    if not tests:
        return
    conn.execute(t.delete().where(t.c.hospital_code == hospital, t.c.day == end))
    conn.execute(t.insert(), [
        {"hospital_code": hospital, "group_id": x.group_id, "day": end, "flagged": int(x.flagged_now),
         "observed": x.observed, "expected": x.expected, "p_value": x.p_value, "q_value": x.q_value,
         "evaluated_at": now} for x in tests
    ])


# -- progress snapshots ----------------------------------------------------------------------


def write_progress(conn: Connection, hospital: str, progress: Iterable[ProductProgress], now: datetime) -> None:
    """The snapshot of each product-year, replacing earlier ones of the same as-of days."""
    t = progress_snapshots
    progress = list(progress)
    if not progress:
        return
    conn.execute(t.delete().where(t.c.hospital_code == hospital, t.c.as_of.in_(sorted({p.as_of for p in progress}))))
    conn.execute(t.insert(), [
        {"hospital_code": hospital, "product_id": p.product.product_id, "year_start": p.product.year_start,
         "as_of": p.as_of, "programme": p.product.programme, "agreed": p.product.agreed_qty, "used": p.used,
         "completion": p.completion, "time_progress": p.time_progress, "status": p.status.value,
         "accepted": None if p.accepted_completion is None else p.accepted,
         "accepted_completion": p.accepted_completion, "evaluated_at": now} for p in progress
    ])


def last_progress_day(conn: Connection, hospital: str) -> date | None:
    """The as-of day of the newest progress snapshot; None before the first evaluation."""
    t = progress_snapshots
    return conn.execute(select(func.max(t.c.as_of)).where(t.c.hospital_code == hospital)).scalar()


def progress_on(conn: Connection, hospital: str, as_of: date, *, by_completion: bool = False) -> list[ProgressSnapshot]:
    """Every product-year snapshot of ``as_of``; lowest completion first when ``by_completion``."""
    t = progress_snapshots
    q = select(t.c.product_id, t.c.year_start, t.c.as_of, t.c.programme, t.c.agreed, t.c.used, t.c.completion,
               t.c.time_progress, t.c.status, t.c.accepted, t.c.accepted_completion
               ).where(t.c.hospital_code == hospital, t.c.as_of == as_of)
    if by_completion:
        q = q.order_by(t.c.completion)
    return [ProgressSnapshot(*r) for r in conn.execute(q)]


def progress_series(conn: Connection, hospital: str, days: Iterable[date]) -> dict[str, list[tuple[date, float, float, float | None, float]]]:
    """Each programme's completion on the given days: (as_of, agreed, used, accepted or None, mean time
    progress), summed over its products (the 总览 chart samples a few dozen days of the year)."""
    t = progress_snapshots
    rows = conn.execute(
        select(t.c.programme, t.c.as_of, func.sum(t.c.agreed), func.sum(t.c.used), func.sum(t.c.accepted),
               func.avg(t.c.time_progress))
        .where(t.c.hospital_code == hospital, t.c.as_of.in_(sorted(set(days))))
        .group_by(t.c.programme, t.c.as_of).order_by(t.c.programme, t.c.as_of)
    ).all()
    out: dict[str, list[tuple[date, float, float, float | None, float]]] = {}
    for programme, as_of, agreed, used, accepted, tp in rows:
        out.setdefault(programme, []).append((as_of, float(agreed or 0), float(used or 0),
                                              None if accepted is None else float(accepted), float(tp or 0)))
    return out


def product_history(conn: Connection, hospital: str, product_id: str) -> list[ProgressSnapshot]:
    """Every snapshot of one product, oldest first (a product's page)."""
    t = progress_snapshots
    q = select(t.c.product_id, t.c.year_start, t.c.as_of, t.c.programme, t.c.agreed, t.c.used, t.c.completion,
               t.c.time_progress, t.c.status, t.c.accepted, t.c.accepted_completion
               ).where(t.c.hospital_code == hospital, t.c.product_id == product_id).order_by(t.c.year_start, t.c.as_of)
    return [ProgressSnapshot(*r) for r in conn.execute(q)]  # in key order: the primary key serves it, not the by-day index
