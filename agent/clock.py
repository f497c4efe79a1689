"""The Clock port: the only place the agent reads the time."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    tz: tzinfo

    def now(self) -> datetime:
        """The current time, timezone-aware, in the hospital's zone."""
        ...

    def today(self) -> date: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def __init__(self, tz: tzinfo = DEFAULT_TZ) -> None:
        self.tz = tz
        self._stop = threading.Event()

    def now(self) -> datetime:
        return datetime.now(self.tz)

    def today(self) -> date:
        return self.now().date()

    def sleep(self, seconds: float) -> None:
        self._stop.wait(max(0.0, seconds))


class FakeClock:
    """A clock tests and the demo move by hand; ``sleep`` advances it instantly.

    With ``tick=True`` it also runs on by itself at the pace of the machine's monotonic clock, from
    ``start``: for work that really waits (retries, a platform in another process) on a fixed date.
    """

    def __init__(self, start: datetime, tz: tzinfo = DEFAULT_TZ, *, tick: bool = False) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=tz)
        self.tz = tz
        self._now = start.astimezone(tz)
        self._lock = threading.Lock()
        self._ticks_from = time.monotonic() if tick else None

    def now(self) -> datetime:
        with self._lock:
            if self._ticks_from is None:
                return self._now
            return self._now + timedelta(seconds=time.monotonic() - self._ticks_from)

    def today(self) -> date:
        return self.now().date()

    def advance(self, delta: timedelta | float) -> datetime:
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        with self._lock:
            self._now = self._now + delta
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when if when.tzinfo else when.replace(tzinfo=self.tz)
            if self._ticks_from is not None:
                self._ticks_from = time.monotonic()

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
