"""Progress against 序时进度: the arithmetic the bureaus use, and the statuses they count."""

from __future__ import annotations

from datetime import date

import pytest

from agent.calendar import WorkCalendar
from agent.domain.group_share import group_shares
from agent.domain.monitoring_model import GenericGroup, ItemLink, ProductYear, UsageTotal
from agent.domain.progress import ProgressRules, Status, product_progress, smallest_units, status_of, time_progress

YEAR = ProductYear("P1", "G1", "阿托伐他汀钙片", "第九批", date(2028, 1, 1), date(2028, 12, 31), 36600)


def test_time_progress_counts_calendar_days_of_a_leap_year() -> None:
    assert time_progress(date(2028, 1, 1), date(2028, 12, 31), date(2028, 2, 29)) == pytest.approx(60 / 366)
    assert time_progress(date(2027, 1, 1), date(2027, 12, 31), date(2027, 3, 1)) == pytest.approx(60 / 365)


def test_time_progress_is_zero_before_the_agreement_year_and_one_after() -> None:
    assert time_progress(date(2027, 7, 1), date(2028, 6, 30), date(2027, 6, 30)) == 0.0
    assert time_progress(date(2027, 7, 1), date(2028, 6, 30), date(2028, 7, 2)) == 1.0


class HolidayCalendar:
    """Weekends off, ``holidays`` off, ``worked`` weekend days on (调休)."""

    def __init__(self, holidays: set[date], worked: set[date]) -> None:
        self.holidays, self.worked = holidays, worked

    def is_workday(self, day: date) -> bool:
        return day in self.worked or (day.weekday() < 5 and day not in self.holidays)


def test_working_day_time_progress_skips_holidays_and_counts_adjusted_weekends() -> None:
    # a fortnight from Monday 28 Sep 2026: 1-7 Oct off, Saturday 10 Oct worked
    cal = HolidayCalendar({date(2026, 10, d) for d in range(1, 8)}, {date(2026, 10, 10)})
    start, end = date(2026, 9, 28), date(2026, 10, 11)
    # working days: 28, 29, 30 Sep, 8, 9, 10 Oct = 6
    assert time_progress(start, end, date(2026, 10, 7), "workdays", cal) == pytest.approx(3 / 6)
    assert time_progress(start, end, date(2026, 10, 10), "workdays", cal) == pytest.approx(6 / 6)
    assert time_progress(start, end, date(2026, 10, 7)) == pytest.approx(10 / 14)  # calendar days differ


def test_the_real_calendar_serves_working_day_progress() -> None:
    cal = WorkCalendar()
    tp = time_progress(date(2026, 1, 1), date(2026, 12, 31), date(2026, 6, 30), "workdays", cal)
    assert 0.45 < tp < 0.55


def test_a_status_is_zero_over_behind_or_normal_as_the_platform_counts() -> None:
    assert status_of(0, 100, 0.0, 0.5, 0.0) is Status.ZERO
    assert status_of(-5, 100, -0.05, 0.5, 0.0) is Status.ZERO  # returns only
    assert status_of(101, 100, 1.01, 0.5, 0.0) is Status.OVER
    assert status_of(100, 100, 1.0, 0.5, 0.0) is Status.NORMAL  # reached, not exceeded
    assert status_of(49, 100, 0.49, 0.5, 0.0) is Status.BEHIND
    assert status_of(49, 100, 0.49, 0.5, 0.02) is Status.NORMAL  # inside the configured margin


def test_progress_gives_the_gap_the_rate_needed_and_the_projection() -> None:
    p = product_progress(YEAR, date(2028, 2, 29), 2800, 4000, recent_used=700, rules=ProgressRules(recent_days=28))
    assert p.gap == pytest.approx(3200)
    assert p.days_left == 306
    assert p.daily_needed == pytest.approx(33800 / 306)
    assert p.recent_daily_rate == pytest.approx(25)
    assert p.projected_completion == pytest.approx((2800 + 25 * 306) / 36600)
    assert p.status is Status.BEHIND


def test_the_recent_rate_early_in_the_year_divides_by_the_days_elapsed() -> None:
    p = product_progress(YEAR, date(2028, 1, 10), 1000, 0, recent_used=1000, rules=ProgressRules(recent_days=28))
    assert p.recent_daily_rate == pytest.approx(100)


def test_pack_units_are_converted_and_factorless_items_are_skipped_not_guessed() -> None:
    links = {"BOX": ItemLink("BOX", "G1", "x 20mg*7片", "P1", factor=7),
             "NOFACTOR": ItemLink("NOFACTOR", "G1", "x 散装", "P1", factor=None)}
    used = smallest_units([UsageTotal("BOX", 10, 50), UsageTotal("NOFACTOR", 99, 1)], links)
    assert used == {"P1": (70, 50)}


def test_group_share_ranks_non_winning_items_expensive_first() -> None:
    g = GenericGroup("G1", "阿托伐他汀钙片", "第九批", ("P1",))
    links = [ItemLink("W", "G1", "中选", "P1"), ItemLink("CHEAP", "G1", "便宜", price=0.5),
             ItemLink("DEAR", "G1", "昂贵", price=6.0), ItemLink("IDLE", "G1", "未用", price=9.0)]
    (share,) = group_shares([g], links, [UsageTotal("W", 900, 90), UsageTotal("CHEAP", 80, 40), UsageTotal("DEAR", 20, 120)])
    assert share.winning_share_qty == pytest.approx(0.9)
    assert share.winning_share_amount == pytest.approx(90 / 250)
    assert (share.non_winning_items, share.non_winning_used) == (3, 2)
    assert [r.item_code for r in share.top_non_winning] == ["DEAR", "CHEAP"]


def test_an_unfinished_agreement_year_is_flagged_from_61_days_before_its_end() -> None:
    from datetime import datetime

    from agent.domain.reporting import year_end_findings

    now = datetime(2028, 11, 1, 9, 0)
    near = product_progress(YEAR, date(2028, 11, 1), 30000, 0, 3000)  # 60 days left, 6600 to go
    far = product_progress(YEAR, date(2028, 10, 30), 30000, 0, 3000)  # 62 days left
    done = product_progress(YEAR, date(2028, 11, 1), 36600, 0, 3000)
    (f,) = year_end_findings([near, far, done], now)
    assert f.rule == "progress_year_end" and f.values["days_left"] == 60
    assert "剩 60 天" in f.title and "6,600" in f.title


def test_zero_purchase_is_critical_after_the_first_month_of_the_year() -> None:
    from datetime import datetime

    from agent.domain.findings import Severity
    from agent.domain.reporting import progress_findings

    now = datetime(2028, 3, 1)
    (early,) = progress_findings([product_progress(YEAR, date(2028, 1, 10), 0, 0, 0)], now)
    (late,) = progress_findings([product_progress(YEAR, date(2028, 3, 1), 0, 0, 0)], now)
    assert (early.rule, early.severity) == ("progress_zero", Severity.WARNING)
    assert late.severity is Severity.CRITICAL and "零采购" in late.title
