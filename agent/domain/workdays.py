"""The one question the domain asks of the calendar: is this day a working day (工作日)?

Declared once, here, because ``agent.domain`` imports nothing else of the project; ``agent.ports``
re-exports it for everyone else, and ``agent.calendar.WorkCalendar`` answers it (法定节假日 and
调休 included).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol


class WorkdayCalendar(Protocol):
    def is_workday(self, day: date) -> bool: ...


def count_workdays(calendar: WorkdayCalendar, first: date, last: date) -> int:
    """Working days in [first, last], both included."""
    n, day = 0, first
    while day <= last:
        n += calendar.is_workday(day)
        day += timedelta(days=1)
    return n
