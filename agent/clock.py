"""The Clock port: the only place the agent reads the time."""

from __future__ import annotations

import threading
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
    """A clock tests and the demo move by hand; ``sleep`` advances it instantly."""

    def __init__(self, start: datetime, tz: tzinfo = DEFAULT_TZ) -> None:
        if start.tzinfo is None:
            start = start.replace(tzinfo=tz)
        self.tz = tz
        self._now = start.astimezone(tz)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

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

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)
