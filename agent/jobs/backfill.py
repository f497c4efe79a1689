"""Backfill (历史数据补录): closed days read in windows, politely, resumably.

Each window's rows and the run's progress (``next_day``) commit in one transaction, so a run
killed at any point resumes where it stopped and ends with the same totals. Between windows it
pauses ``pause_s`` (with no pause, a reader thread reads ahead while the windows are written);
outside the off-peak hours, or inside a pause window, it waits.
"""

from __future__ import annotations

import gc
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

from agent.clock import Clock
from agent.jobs.ingest_usage import Read, UsageStats, read_window, write_window
from agent.ports import UsageSource
from agent.store import Store, Tx, usage

WAIT_STEP_S = 60.0
READ_AHEAD = 1  # windows read and waiting to be written, at most (beside the one being read)


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
    """Read [day_from, day_to] window by window; resumes an unfinished run over the same range.

    With no pause asked for, a reader thread queries, fetches and merges windows ahead (at most
    ``READ_AHEAD`` waiting) while this thread writes them: pyodbc and sqlite3 both let go of the
    GIL while their drivers work, so the HIS query, the fetch and the SQLite insert overlap when a
    core is free. A failed read
    stops the reader; the windows it read before the failure are still written, then its error
    is raised. A failed write stops the reader and is raised. Either way the run's ``next_day``
    only moves in the transaction that writes the window, so a rerun resumes exactly there.
    With a pause, strictly one window after another. The cyclic garbage collector is off for
    the run (the windows' tuples hold no cycles; its passes over them cost about a fifth of the
    backfill's CPU).
    """
    if day_to < day_from:
        raise ValueError("--to is before --from")
    total_days = (day_to - day_from).days + 1
    day, rows, resumed = _start(store, source.name, day_from, day_to, clock)
    stats = UsageStats()
    if on_progress:
        on_progress(Progress((day - day_from).days, total_days, rows, day if resumed else None))
    windows = []
    while day <= day_to:
        end = min(day + timedelta(days=window_days - 1), day_to)
        windows.append((day, end))
        day = end + timedelta(days=1)
    collecting = gc.isenabled()
    gc.disable()
    try:
        with store.bulk() as tx:
            def write(first: date, end: date, read: Read) -> None:
                nonlocal rows

                def progress(conn: Tx, window: UsageStats) -> None:
                    usage.advance_backfill_run(conn, store.hospital_code, source.name, day_from, day_to,
                                               end + timedelta(days=1), window.rows, clock.now() if end == day_to else None)

                window = write_window(store, source.name, first, end, read, clock.now(), extra=progress, conn=tx)
                stats.add(window)
                rows += window.rows
                if on_progress:
                    on_progress(Progress((end - day_from).days + 1, total_days, rows, None))

            if pause_s:
                for i, (first, end) in enumerate(windows):
                    _wait_until_allowed(clock, off_peak, pause_hours)
                    write(first, end, read_window(source, first, end))
                    if i + 1 < len(windows):
                        clock.sleep(pause_s)
            else:
                for first, end, read in _read_ahead(source, windows, clock, off_peak, pause_hours):
                    write(first, end, read)
    finally:
        if collecting:
            gc.enable()
    return stats


def _wait_until_allowed(clock: Clock, off_peak: Window | None, pause_hours: Sequence[Window],
                        stop: threading.Event | None = None) -> bool:
    while not allowed(clock, off_peak, pause_hours):
        if stop is not None and stop.is_set():
            return False
        clock.sleep(WAIT_STEP_S)
    return True


def _read_ahead(source: UsageSource, windows: list[tuple[date, date]], clock: Clock, off_peak: Window | None,
                pause_hours: Sequence[Window]) -> Iterator[tuple[date, date, Read]]:
    """The windows' reads, in order, from a reader thread that stays at most ``READ_AHEAD`` windows
    ahead of the caller. The reader's error comes out after the windows read before it; when the
    caller stops early (its write failed), the reader stops after the read it is in. A source
    with ``prefetch_usage`` (the packed SQL sources) has only its query run and fetched in the
    reader; the rows are unpacked, checked and merged here, in the caller's thread, while the
    reader waits for the next window's query (bench-ingest: the reader's own Python work was on
    the path of every query)."""
    out: queue.Queue[Any] = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()
    prefetch = getattr(source, "prefetch_usage", None)

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        try:
            for first, end in windows:
                if not _wait_until_allowed(clock, off_peak, pause_hours, stop) or stop.is_set():
                    return
                if not put((first, end, read_window(source, first, end) if prefetch is None else prefetch(first, end))):
                    return
        except BaseException as exc:  # handed to the writer, which raises it in its own thread
            put(_Failed(exc))
            return
        put(_DONE)

    thread = threading.Thread(target=reader, name="backfill-read", daemon=True)
    thread.start()
    try:
        while (item := out.get()) is not _DONE:
            if type(item) is _Failed:
                raise item.error
            first, end, read = item
            yield (first, end, read) if prefetch is None else (first, end, read_window(source, first, end, fetched=read()))
    finally:
        stop.set()
        thread.join()  # the read in progress ends within the source's query timeout


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_DONE = object()
