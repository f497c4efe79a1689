from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import pytest

from agent.calendar import UnknownCalendarYear, WorkCalendar
from agent.clock import DEFAULT_TZ, FakeClock, SystemClock


def test_public_holidays_and_adjusted_working_weekends() -> None:
    cal = WorkCalendar()
    assert not cal.is_workday(date(2026, 10, 1))  # 国庆节
    assert not cal.is_workday(date(2026, 2, 17))  # 春节
    assert cal.is_workday(date(2026, 10, 10))  # a Saturday worked in exchange (调休)
    assert cal.is_workday(date(2026, 11, 25))  # an ordinary Wednesday
    assert not cal.is_workday(date(2026, 11, 28))  # an ordinary Saturday


def test_working_day_arithmetic_skips_the_national_day_week() -> None:
    cal = WorkCalendar()
    # 7 working days after 2026-09-30: Oct 1-7 are holidays, Oct 8, 9, 10 (a worked Saturday), 12-15
    assert cal.add_workdays(date(2026, 9, 30), 7) == date(2026, 10, 15)
    assert cal.workdays_between(date(2026, 10, 1), date(2026, 10, 12)) == 3  # 8, 9, 10


def test_a_year_the_calendar_lacks_is_a_clear_error_not_a_guess() -> None:
    with pytest.raises(UnknownCalendarYear, match="no data for 2031.*assume_weekends_for"):
        WorkCalendar().is_workday(date(2031, 3, 3))


def test_overrides_cover_a_missing_year() -> None:
    cal = WorkCalendar(extra_holidays=[date(2031, 1, 1)], assume_weekends_for=[2031])
    assert not cal.is_workday(date(2031, 1, 1))
    assert cal.is_workday(date(2031, 1, 2))
    assert not cal.is_workday(date(2031, 1, 4))


def test_fake_clock_is_aware_and_moves_only_when_told() -> None:
    clock = FakeClock(datetime(2026, 11, 25, 9, 0))
    assert clock.now().tzinfo is DEFAULT_TZ
    clock.sleep(3600)
    assert clock.now() == datetime(2026, 11, 25, 10, 0, tzinfo=DEFAULT_TZ)
    clock.advance(timedelta(days=1))
    assert clock.today() == date(2026, 11, 26)


def test_a_ticking_fake_clock_runs_on_from_its_start_and_can_still_be_set() -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=DEFAULT_TZ)
    clock = FakeClock(start, tick=True)
    first = clock.now()
    time.sleep(0.02)
    second = clock.now()
    assert start <= first < second < start + timedelta(seconds=5)
    clock.advance(timedelta(hours=1))
    assert clock.now() >= second + timedelta(hours=1)
    clock.set(datetime(2027, 1, 4, 8, 0, tzinfo=DEFAULT_TZ))
    assert timedelta(0) <= clock.now() - datetime(2027, 1, 4, 8, 0, tzinfo=DEFAULT_TZ) < timedelta(seconds=5)


def test_system_clock_is_timezone_aware() -> None:
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(hours=8)
