"""Usage ingestion: per-day aggregates (用量) read from the HIS, stored as absolute values.

A window of days is read in one query (grouped inside the HIS), validated, and written in one
transaction that deletes the window's earlier rows first, so re-reading is idempotent. Every
poll re-reads the open day (today), and of the last ``lookback_days`` closed days those whose
source totals (rows, quantity: the ``day_totals`` query, one row per day) differ from the totals
stored when the day was last read, which catches returns (退药), late commits and corrections of
a quantity. The lookback sweep (:func:`poll_usage` with ``sweep=True``: at start and nightly)
re-reads every lookback day whatever its totals, for a correction that moves neither (an amount,
a department): at 5M dispensing lines a year, re-reading 8 days at every poll took 1.5 s, the
open day alone plus the totals 0.2-0.3 s (bench-ingest ``poll_s``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Any

from agent.clock import Clock
from agent.domain.model import BadRow, Setting, UsageColumns, UsageRow, UsageText
from agent.domain.validate import usage_problem
from agent.ports import UsageSource
from agent.store import Store, Tx, quarantine, usage

# Wider than validate's test for undecodable text: a hit only sends the row to usage_problem.
_SUSPECT = re.compile("[\x00-\x1f\ufffd]")
_SEP = "\ue000"  # joins a fetch's codes for one search (a private-use character)
_SUSPECT_CODES = re.compile(f"[\\x00-\\x1f\\ufffd]|{_SEP}(?:\\s|{_SEP})")  # ... or an empty or left-padded item code


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


# A window's rows merged by key (or, from a packed source, as the text a store takes as it is: UsageText),
# and its rows to quarantine.
Read = tuple[dict[tuple, tuple] | UsageText, list[BadRow]]


def read_window(source: UsageSource, day_from: date, day_to: date,
                fetched: Iterable[UsageText | UsageColumns | list[Any]] | None = None) -> Read:
    """The window's rows merged by key ``(day, item, dept, setting, prescriber or "")`` into
    ``(quantity, amount, lines)``, and the rows to quarantine. Plain tuples from end to end: a
    source with ``read_usage_batches`` (the SQL sources) hands over whole typed fetches
    (:class:`UsageColumns`), taken in a few C-level steps when the cheap tests below find nothing
    to look at; any other row is unpacked and merged one by one. ``usage_problem`` stays the judge:
    the cheap tests only decide which rows it has to look at. ``fetched``: the window's batches as
    the source's ``prefetch_usage`` left them to be converted (the backfill's reader ran the query).
    A window a packed source hands over whole as :class:`UsageText` is returned as it is when the
    same cheap tests find nothing to look at (every day in the window, no empty, padded or
    suspect code): the store then takes its text with no Python object per value."""
    batches = getattr(source, "read_usage_batches", None) if fetched is None else (lambda _f, _t: fetched)
    merged: dict[tuple, tuple] = {}
    bad: list[BadRow] = []
    text: UsageText | None = None
    if batches is None:
        _merge_rows(((r if type(r) is BadRow else (r.day, r.item_code, r.dept_code, r.setting.value, r.quantity, r.amount,
                                                  r.lines, r.prescriber_code)) for r in source.read_usage(day_from, day_to)),
                    day_from, day_to, merged, bad)
        return merged, bad
    for batch in batches(day_from, day_to):
        if type(batch) is UsageText:
            if text is None and not merged and not bad and _text_clean(batch, day_from, day_to):
                text = batch
                continue
            batch = batch.columns()
        if text is not None:  # more after a whole window's text: merge it all as columns
            _take_columns(text.columns(), day_from, day_to, merged, bad)
            text = None
        _take_columns(batch, day_from, day_to, merged, bad)
    return (merged, bad) if text is None else (text, bad)


def _take_columns(batch: UsageColumns | list[Any], day_from: date, day_to: date, merged: dict[tuple, tuple],
                  bad: list[BadRow]) -> None:
    if type(batch) is not UsageColumns:
        _merge_rows(batch, day_from, day_to, merged, bad)
    elif not _take_whole(batch, day_from, day_to, merged):
        _merge_rows(((k[0], k[1], k[2], k[3], v[0], v[1], v[2], k[4] or None) for k, v in zip(batch.keys, batch.values,
                                                                                               strict=True)),
                    day_from, day_to, merged, bad)


def _text_clean(text: UsageText, day_from: date, day_to: date) -> bool:
    """What :func:`_take_whole` tests, for a window's text: every day in the window, no empty,
    padded or suspect code (the source has checked the rest of its form)."""
    if text.totals and not (day_from <= min(text.totals) and max(text.totals) <= day_to):
        return False
    return not (_SUSPECT_CODES.search(_SEP + _SEP.join(set(text.items)) + _SEP) or _SUSPECT.search(_SEP.join(set(text.depts))))


def _take_whole(batch: UsageColumns, day_from: date, day_to: date, merged: dict[tuple, tuple]) -> bool:
    """Merge a typed fetch in one ``dict.update`` when none of its rows needs a look (every day in
    the window, no empty, padded or suspect code, no key seen before); False, with ``merged``
    untouched, when one does."""
    if not (day_from <= min(batch.days) and max(batch.days) <= day_to):
        return False
    if _SUSPECT_CODES.search(_SEP + _SEP.join(set(batch.items)) + _SEP) or _SUSPECT.search(_SEP.join(set(batch.depts))):
        return False
    if not merged.keys().isdisjoint(batch.keys):
        return False
    before = len(merged)
    merged.update(zip(batch.keys, batch.values, strict=True))
    if len(merged) != before + len(batch.keys):  # a key twice inside the fetch: merge it row by row
        for key in batch.keys:
            merged.pop(key, None)
        return False
    return True


def _merge_rows(rows: Iterable[Any], day_from: date, day_to: date, merged: dict[tuple, tuple], bad: list[BadRow]) -> None:
    suspect = _SUSPECT.search
    for r in rows:
        if type(r) is BadRow:
            bad.append(r)
            continue
        day, item, dept, setting, quantity, amount, lines, prescriber = r
        if not item or item[0].isspace() or not day_from <= day <= day_to or suspect(item) or suspect(dept):
            row = UsageRow(day, item, dept, Setting(setting), quantity, amount, lines, prescriber)
            problem = usage_problem(row, day_from, day_to)
            if problem:
                bad.append(BadRow("usage", f"{day}|{item}|{dept}|{setting}", problem, {
                    "day": str(day), "item_code": item, "dept_code": dept, "setting": setting,
                    "quantity": str(quantity), "amount": str(amount), "lines": str(lines)}))
                continue
        key = (day, item, dept, setting, prescriber or "")
        acc = merged.get(key)
        if acc is None:
            merged[key] = (quantity, amount, lines)
        else:  # the source returned the key twice (text that differed only in padding, two settings as 'other')
            merged[key] = (acc[0] + quantity, acc[1] + amount, acc[2] + lines)


def ingest_window(store: Store, source: UsageSource, day_from: date, day_to: date, now: datetime,
                  extra: Callable[[Tx, UsageStats], None] | None = None) -> UsageStats:
    """Read [day_from, day_to] and replace what the store holds for those days, in one transaction.

    ``extra(conn, stats)`` runs inside the same transaction (the backfill records its progress).
    """
    return write_window(store, source.name, day_from, day_to, read_window(source, day_from, day_to), now, extra)


def write_window(store: Store, name: str, day_from: date, day_to: date, read: Read,
                 now: datetime, extra: Callable[[Tx, UsageStats], None] | None = None, conn: Tx | None = None) -> UsageStats:
    """Replace what the store holds for [day_from, day_to] with ``read`` (what :func:`read_window`
    returned for those days), in one transaction (on ``conn`` when given: see ``Store.bulk``).
    A window's :class:`UsageText` the store refuses (not SQLite, or a key twice) is rolled back
    and written again merged."""
    merged, bad = read
    if type(merged) is UsageText:
        text = merged
        per_day = {d: list(t) for d, t in text.totals.items()}
        try:
            return _write(store, name, day_from, day_to, text, text.rows, sum(t[0] for t in text.totals.values()), bad,
                          per_day, now, extra, conn)
        except usage.TextRefused:
            merged = text.merged()
    per_day = defaultdict(lambda: [0, Decimal(0), 0])
    for day, n in Counter(map(itemgetter(0), merged)).items():
        per_day[day][2] = n
    for key, (quantity, _amount, lines) in merged.items():
        acc = per_day[key[0]]
        acc[0] += lines
        acc[1] += quantity
    return _write(store, name, day_from, day_to, merged, len(merged), sum(map(itemgetter(2), merged.values())), bad, per_day,
                  now, extra, conn)


def _write(store: Store, name: str, day_from: date, day_to: date, merged: dict[tuple, tuple] | UsageText, rows: int,
           lines: int, bad: list[BadRow], per_day: dict[date, list], now: datetime,
           extra: Callable[[Tx, UsageStats], None] | None, conn: Tx | None) -> UsageStats:
    for b in bad:  # quarantined rows still count in the source's own totals (reconciliation)
        try:
            day = date.fromisoformat(str(b.raw.get("day"))[:10])
        except ValueError:
            continue
        if day_from <= day <= day_to:
            acc = per_day.setdefault(day, [0, Decimal(0), 0])
            acc[0] += int(_num(b.raw, "lines"))
            acc[1] += _num(b.raw, "quantity")
    hc = store.hospital_code
    days = [day_from + timedelta(days=i) for i in range((day_to - day_from).days + 1)]
    stats = UsageStats(days=len(days), rows=rows, lines=lines, bad=len(bad))
    totals = [usage.DayTotal(d, per_day[d][0], per_day[d][1], per_day[d][2]) if d in per_day
              else usage.DayTotal(d, 0, Decimal(0), 0) for d in days]
    with store.begin() if conn is None else _begun(conn) as tx:
        usage.replace_days(tx, hc, name, day_from, day_to, merged, totals, now)
        quarantine.record(tx, hc, name, bad, now)
        if extra is not None:
            extra(tx, stats)
    return stats


@contextmanager
def _begun(conn: Tx) -> Iterator[Tx]:
    with conn.begin():
        yield conn


TOLERANCE = Decimal("0.001")  # quantity sums closer than this are the same (a driver's float rounding)


def differing_days(store: Store, source: UsageSource, day_from: date, day_to: date, *, unread: bool = False) -> list[date]:
    """Days whose source totals differ from the totals recorded when the day was last read (with
    ``unread``, also the days never read, even when the source holds nothing for them)."""
    theirs = {d: (n, q) for d, n, q in source.day_totals(day_from, day_to)}
    with store.read() as conn:
        ours = usage.day_totals(conn, store.hospital_code, source.name, day_from, day_to)
    out = []
    for i in range((day_to - day_from).days + 1):
        day = day_from + timedelta(days=i)
        n_src, q_src = theirs.get(day, (0, Decimal(0)))
        if day not in ours:
            if n_src or unread:
                out.append(day)
            continue
        n_our, q_our = ours[day]
        if n_src != n_our or abs(q_src - q_our) > TOLERANCE:
            out.append(day)
    return out


def poll_usage(store: Store, source: UsageSource, clock: Clock, lookback_days: int = 7, *, sweep: bool = False) -> UsageStats:
    """The regular poll: the open day, and the last ``lookback_days`` closed days whose source
    totals moved since they were read (or never read), each run of consecutive days in one window.
    With ``sweep``, the open day and every lookback day in one window."""
    today = clock.today()
    first = today - timedelta(days=lookback_days)
    if sweep or lookback_days == 0:
        return ingest_window(store, source, first, today, clock.now())
    days = differing_days(store, source, first, today - timedelta(days=1), unread=True) + [today]
    stats = UsageStats()
    start = prev = days[0]
    for day in days[1:] + [None]:
        if day is not None and day == prev + timedelta(days=1):
            prev = day
            continue
        stats.add(ingest_window(store, source, start, prev, clock.now()))
        if day is not None:
            start = prev = day
    return stats
