"""Backfill (历史数据补录): closed days read in windows, politely, resumably.

Each window's rows and the run's progress (``next_day``) commit in one transaction, so a run
killed at any point resumes where it stopped and ends with the same totals. Between windows it
pauses ``pause_s``; outside the off-peak hours, or inside a pause window, it waits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from agent.clock import Clock
from agent.jobs.ingest_usage import Read, UsageStats, read_window, write_window
from agent.ports import UsageSource
from agent.store import Store, Tx, usage

WAIT_STEP_S = 60.0


class Window(Protocol):
    def contains(self, t: Any) -> bool: ...


@dataclass(frozen=True)
class Progress:
    days_done: int
    days_total: int
    rows: int
    resumed_from: date | None


def allowed(clock: Clock, off_peak: Window | None, pause_hours: Sequence[Window]) -> bool:
    t = clock.now().time()
    return (off_peak is None or off_peak.contains(t)) and not any(w.contains(t) for w in pause_hours)


def _start(store: Store, source: str, day_from: date, day_to: date, clock: Clock) -> tuple[date, int, bool]:
    hc = store.hospital_code
    with store.begin() as conn:
        run = usage.backfill_run(conn, hc, source, day_from, day_to)
        if run is not None and run.finished_at is None:
            return run.next_day, run.rows, True
        if run is None:
            usage.start_backfill_run(conn, hc, source, day_from, day_to, clock.now())
        else:
            usage.restart_backfill_run(conn, hc, source, day_from, day_to, clock.now())
    return day_from, 0, False


def backfill_usage(store: Store, source: UsageSource, clock: Clock, day_from: date, day_to: date, *, window_days: int = 7,
                   pause_s: float = 0.0, off_peak: Window | None = None, pause_hours: Sequence[Window] = (),
                   on_progress: Callable[[Progress], None] | None = None) -> UsageStats:
    """Read [day_from, day_to] window by window; resumes an unfinished run over the same range."""
    if day_to < day_from:
        raise ValueError("--to is before --from")
    total_days = (day_to - day_from).days + 1
    day, rows, resumed = _start(store, source.name, day_from, day_to, clock)
    stats = UsageStats()
    if on_progress:
        on_progress(Progress((day - day_from).days, total_days, rows, day if resumed else None))
    # With no pause asked for, the next window's HIS query runs while this one is written to the
    # state store (two cores, two different databases); with a pause, strictly one after another.
    with ThreadPoolExecutor(1, thread_name_prefix="backfill-read") as reader:
        ahead: tuple[date, Future[Read]] | None = None  # the next window's first day, and its read
        while day <= day_to:
            while not allowed(clock, off_peak, pause_hours):
                clock.sleep(WAIT_STEP_S)
            end = min(day + timedelta(days=window_days - 1), day_to)
            nxt = end + timedelta(days=1)
            if ahead is not None and ahead[0] == day:
                read = ahead[1].result()
            else:
                read = read_window(source, day, end)
            ahead = None
            if nxt <= day_to and not pause_s and allowed(clock, off_peak, pause_hours):
                ahead = (nxt, reader.submit(read_window, source, nxt, min(nxt + timedelta(days=window_days - 1), day_to)))

            def progress(conn: Tx, window: UsageStats, nxt: date = nxt, end: date = end) -> None:
                usage.advance_backfill_run(conn, store.hospital_code, source.name, day_from, day_to, nxt, window.rows,
                                           clock.now() if end == day_to else None)

            window = write_window(store, source.name, day, end, read, clock.now(), extra=progress)
            stats.add(window)
            rows += window.rows
            day = nxt
            if on_progress:
                on_progress(Progress((day - day_from).days, total_days, rows, None))
            if day <= day_to and pause_s:
                clock.sleep(pause_s)
    return stats
