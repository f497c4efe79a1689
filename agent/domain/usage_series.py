"""Daily usage as series: what rise detection reads, one list per day range instead of one object
per day.

An evaluation reads about a million day x item x department figures; as :class:`DailyUsage`
objects each costs an allocation on the store's side and a second pass in the domain. As series,
the store fills the lists once from its rows (:func:`fill_series`) and the domain sums slices.
Rows come back (:func:`series_rows`) only where an alert or a prescriber's share wants them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from agent.domain.monitoring_model import DailyUsage

UsageKey = tuple[str, str, str]  # (item code, department code, prescriber code); "" where not recorded or summed
UsageSeries = dict[UsageKey, tuple[list[float], list[float]]]
"""Per key, the daily HIS units and the daily source lines (dispensings) over a day range, index 0
= its first day. A key has at least one day with units or lines; keys come in their sorted order
(what is summed over them adds up the same, whatever order a store gave its rows in)."""


def fill_series(rows: Iterable[tuple[date | str, str, str | None, str | None, Any, Any]], first: date, last: date) -> UsageSeries:
    """``rows`` of (day, item, department, prescriber, units, lines) over [first, last] as series,
    rows of one key and day summed; a day outside the range is skipped. A day may come as a
    ``date`` (or a ``datetime``) or as ISO text (SQLite's own form: parsing a million of them
    would cost more than the rest; text that is no date raises ``ValueError``), units and lines as
    ``Decimal`` or ``None`` (a store's SUM). A key whose units and lines are zero on every day
    (its rows net to nothing) is left out, and the keys are sorted (see :data:`UsageSeries`)."""
    n = (last - first).days + 1
    index: dict[date | str, int] = {}
    for k in range(n):
        d = first + timedelta(days=k)
        index[d] = index[d.isoformat()] = k
    out: UsageSeries = {}
    first_ord = first.toordinal()
    for day, code, dept, doc, qty, lines in rows:
        i = index.get(day)
        if i is None:  # outside the range, or another form of a day (a timestamp, "2026-03-01 00:00:00")
            i = index[day] = _day_of(day, code).toordinal() - first_ord
        if not 0 <= i < n:
            continue
        key = (code, dept or "", doc or "")
        acc = out.get(key)
        if acc is None:
            acc = out[key] = ([0.0] * n, [0.0] * n)
        if qty:
            acc[0][i] += float(qty)
        if lines:
            acc[1][i] += float(lines)
    return in_order(out)


def in_order(series: UsageSeries) -> UsageSeries:
    """``series`` by sorted key, without the keys that carry nothing (see :data:`UsageSeries`)."""
    return {k: v for k, v in sorted(series.items()) if any(v[0]) or any(v[1])}


def _day_of(day: date | str, code: str) -> date:
    if isinstance(day, date):
        return day
    try:
        return date.fromisoformat(day[:10])
    except ValueError:
        raise ValueError(f"usage of item {code}: day {day!r} is no date (YYYY-MM-DD)") from None


def series_of(rows: Iterable[DailyUsage], first: date, last: date, departments: bool = True) -> UsageSeries:
    """:func:`fill_series` of :class:`DailyUsage` rows; ``departments=False`` sums them per item."""
    if departments:
        return fill_series(((r.day, r.item_code, r.dept, r.prescriber, r.qty, r.lines) for r in rows), first, last)
    return fill_series(((r.day, r.item_code, "", "", r.qty, r.lines) for r in rows), first, last)


def series_rows(series: UsageSeries, first: date, keep: Callable[[UsageKey], bool] | None = None,
                since: date | None = None) -> list[DailyUsage]:
    """The rows back from ``series`` (index 0 = ``first``), the keys ``keep`` keeps, the days from
    ``since``: a day with units or lines is a row (no amount)."""
    skip = 0 if since is None else max(0, (since - first).days)
    out: list[DailyUsage] = []
    for key, (qty, lines) in series.items():
        if keep is not None and not keep(key):
            continue
        code, dept, doc = key
        for i in range(skip, len(qty)):
            if qty[i] or lines[i]:
                out.append(DailyUsage(first + timedelta(days=i), code, qty[i], 0.0, dept, doc, int(lines[i])))
    return out
