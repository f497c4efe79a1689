"""Usage series kept between the daemon's evaluations, re-read only where ingestion rewrote a day.

Rise detection reads about a million day x item x department figures an evaluation
(:meth:`StoreInputs.usage_series`); the daemon evaluates every poll interval, and between two
evaluations ingestion rewrites a day or two (today's and yesterday's polls) and the range moves on
by a day at midnight. So the daemon's :class:`SeriesCache` keeps each read's series and, the next
time the same items are read the same way, reads only the days it does not hold or whose
``usage_days`` rows changed since.

Staleness is what a cache risks, and the day's ``usage_days`` rows are what tells it:
- every write of ``usage_daily`` goes through :func:`agent.store.usage.replace_days`, which deletes
  a source's days and their ``usage_days`` rows and writes new ones in the same transaction;
- a day is re-read when any of its rows (per source: the write's token, when it was read, its
  lines, quantity and aggregate rows) differs from what the cache saw, appears or is gone;
  equality, not a later ``read_at``; each write draws its own token, so two writes within one
  clock tick are told apart even when their totals are the same;
- the day stamps are read *before* the rows: a day rewritten between the two reads is kept with
  its older stamp and read again next time, never kept stale;
- when more than half of the range would be re-read, all of it is (a backfill, a restored store).

The series it returns equal a fresh read's exactly: the same keys in the same order (a key whose
days all went to zero is dropped, as :func:`fill_series` drops it) and the same figures. It keeps them as arrays
of doubles (8 bytes a figure, not a float object each) and hands out fresh lists, so what a
caller does with them never reaches the cache. One lock: the daemon's jobs run in threads. It
holds at most ``KEPT_BYTES``: a hospital too large for that reads afresh, as without the cache.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection

from agent.domain.usage_series import UsageKey, UsageSeries, in_order

Stamps = dict[date, tuple]  # day -> its usage_days rows over the sources read, sorted
Reader = Callable[[Connection, date, date], UsageSeries]  # the rows of [first, last] as series
StampReader = Callable[[Connection, date, date], Stamps]

KEPT_READS = 3  # an evaluation's three reads (the rivals by department, the winning items, every item before the level)
KEPT_BYTES = 256 * 2**20  # at most this much kept (the bench's 2,000 products keep 11 MB); a read larger than that
# is not kept, and the next is read afresh
KEY_BYTES = 200  # what a key costs beside its figures: its tuple, two arrays' heads, its place in the dict


@dataclass
class _Kept:
    first: date
    last: date
    series: dict[UsageKey, tuple[array, array]]
    stamps: Stamps

    @property
    def size(self) -> int:
        return _size(len(self.series), (self.last - self.first).days + 1)


def _size(keys: int, days: int) -> int:
    """What ``keys`` series of ``days`` days cost kept: two arrays of doubles each, and the key."""
    return keys * (KEY_BYTES + 16 * days)


@dataclass
class CacheStats:
    """What the cache has done: reads served from it, days re-read for them, and full reads."""

    kept: int = 0
    days_read: int = 0
    full: int = 0
    too_large: int = 0  # reads not kept: larger than the cache may hold


class SeriesCache:
    def __init__(self, reads: int = KEPT_READS, max_bytes: int = KEPT_BYTES) -> None:
        self._reads, self._max_bytes = reads, max_bytes
        self._kept: OrderedDict[tuple[bool, frozenset[str]], _Kept] = OrderedDict()
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def series(self, conn: Connection, first: date, last: date, items: Iterable[str], departments: bool,
               stamps_of: StampReader, read: Reader) -> UsageSeries:
        """The series of ``items`` over [first, last], as ``read`` gives them, from what is kept
        where the day stamps say it still holds."""
        key = (departments, frozenset(items))
        with self._lock:
            stamps = stamps_of(conn, first, last)  # before any row: see the module's docstring
            kept = self._kept.get(key)
            stale = _stale_days(kept, first, last, stamps) if kept is not None else None
            n = (last - first).days + 1
            if kept is None or stale is None or 2 * len(stale) > n:
                out = read(conn, first, last)
                self.stats.full += 1
            else:
                self.stats.kept += 1
                self.stats.days_read += len(stale)
                if not stale and (first, last) == (kept.first, kept.last):  # nothing new: the kept series as they are
                    self._kept.move_to_end(key)
                    return {k: (q.tolist(), ln.tolist()) for k, (q, ln) in kept.series.items()}
                out = _patched(kept, first, last, stale, conn, read)
            self._kept.pop(key, None)
            if _size(len(out), n) > self._max_bytes:
                self.stats.too_large += 1
                return out
            self._kept[key] = _Kept(first, last, {k: (array("d", q), array("d", ln)) for k, (q, ln) in out.items()},
                                    stamps)
            while len(self._kept) > self._reads or sum(e.size for e in self._kept.values()) > self._max_bytes:
                self._kept.popitem(last=False)  # the least recently read first
            return out

    def kept_bytes(self) -> int:
        """The figures kept, in bytes (8 a figure; the keys and arrays' own heads are not counted)."""
        with self._lock:
            return sum(q.itemsize * (len(q) + len(ln)) for kept in self._kept.values() for q, ln in kept.series.values())


def _stale_days(kept: _Kept, first: date, last: date, stamps: Stamps) -> list[date] | None:
    """The days of [first, last] to read again: those the cache does not hold and those whose
    stamps changed; None when the kept range and this one do not meet."""
    if kept.last < first or kept.first > last:
        return None
    out = []
    for k in range((last - first).days + 1):
        day = first + timedelta(days=k)
        if not kept.first <= day <= kept.last or stamps.get(day) != kept.stamps.get(day):
            out.append(day)
    return out


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs."""
    out: list[tuple[date, date]] = []
    for day in days:
        if out and (day - out[-1][1]).days == 1:
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def _patched(kept: _Kept, first: date, last: date, stale: list[date], conn: Connection, read: Reader) -> UsageSeries:
    """The kept series moved to [first, last], the stale days read again and put in their place."""
    n = (last - first).days + 1
    off = (first - kept.first).days  # index in the kept series of this range's first day (may be < 0)
    lead, src = max(0, -off), max(0, off)  # zeros before the kept days; where in them to start
    take = max(0, min(n - lead, (kept.last - kept.first).days + 1 - src))  # kept days that fall in this range
    zeros = [0.0] * n

    def moved(values: array) -> list[float]:
        if not lead and take == n:
            return values[src:src + n].tolist()
        out = zeros[:lead] + values[src:src + take].tolist()
        return out + zeros[:n - len(out)]

    out: UsageSeries = {k: (moved(q), moved(ln)) for k, (q, ln) in kept.series.items()}
    for a, b in _runs(stale):
        i, j = (a - first).days, (b - first).days + 1
        for qty, lines in out.values():
            qty[i:j] = zeros[:j - i]
            lines[i:j] = zeros[:j - i]
        for k, (qty, lines) in read(conn, a, b).items():
            have = out.get(k)
            if have is None:
                have = out[k] = (zeros[:], zeros[:])
            have[0][i:j] = qty
            have[1][i:j] = lines
    return in_order(out)
