"""Working days in mainland China: public holidays and adjusted working weekends (调休).

Backed by the ``chinesecalendar`` package, which is updated each year when the State Council
publishes the next year's holidays. Overrides from config cover a year the package does not
know yet; without them such a year is an error, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import chinese_calendar

from agent.errors import DataError


class UnknownCalendarYear(DataError):
    pass


class WorkCalendar:
    """Answers ``is_workday`` for any date the calendar knows."""

    def __init__(
        self,
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
        assume_weekends_for: Iterable[int] = (),
    ) -> None:
        self._holidays = set(extra_holidays)
        self._workdays = set(extra_workdays)
        self._assumed_years = set(assume_weekends_for)

    def is_workday(self, day: date) -> bool:
        if day in self._holidays:
            return False
        if day in self._workdays:
            return True
        if day.year in self._assumed_years:
            return day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError as exc:
            raise UnknownCalendarYear(
                f"the holiday calendar (chinesecalendar {_package_version()}) has no data for "
                f"{day.year}: upgrade it (pip install -U chinesecalendar), or list that year's "
                f"holidays under [calendar] holidays/workdays, or set "
                f"[calendar] assume_weekends_for = [{day.year}]"
            ) from exc

    def is_holiday(self, day: date) -> bool:
        return not self.is_workday(day)

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in the half-open range [start, end)."""
        count = 0
        day = start
        while day < end:
            count += self.is_workday(day)
            day += timedelta(days=1)
        return count

    def add_workdays(self, start: date, n: int) -> date:
        """The date ``n`` working days after ``start`` (``start`` itself not counted)."""
        day = start
        left = n
        while left > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day


def _package_version() -> str:
    return getattr(chinese_calendar, "__version__", "?")
