"""Usage as series: filled from a store's rows as they come (days as dates or ISO text, sums as
``Decimal`` or ``None``, a department's 门诊 and 住院 rows apart), and back to rows."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from agent.domain.monitoring_model import DailyUsage
from agent.domain.usage_series import fill_series, series_of, series_rows

FIRST, LAST = date(2026, 3, 1), date(2026, 3, 4)


def test_rows_as_a_store_gives_them_are_summed_per_key_and_day() -> None:
    rows = [
        ("2026-03-01", "A", "0101", "", 3, 1),  # SQLite: ISO text and plain numbers
        (date(2026, 3, 1), "A", "0101", None, Decimal("2.5"), Decimal(2)),  # PostgreSQL: dates, Decimal sums
        ("2026-03-03", "A", "0101", "", -1, 1),  # a return
        ("2026-03-03", "A", None, None, 7, None),  # no department recorded, lines not read
        (date(2026, 3, 4), "B", "0202", "D7", 28, 1),
        (date(2026, 2, 28), "B", "0202", "D7", 99, 9),  # outside the range
        ("2026-03-05", "B", "0202", "D7", 99, 9),
        ("2026-03-02 00:00:00", "C", "0303", "", 1, 1),  # a day written as a timestamp
        (datetime(2026, 3, 2, 0, 0), "C", "0303", "", 2, 1),
        ("2026-03-09T00:00:00", "C", "0303", "", 5, 1),  # outside the range, in another form
    ]
    assert fill_series(rows, FIRST, LAST) == {
        ("A", "0101", ""): ([5.5, 0.0, -1.0, 0.0], [3.0, 0.0, 1.0, 0.0]),
        ("A", "", ""): ([0.0, 0.0, 7.0, 0.0], [0.0, 0.0, 0.0, 0.0]),
        ("B", "0202", "D7"): ([0.0, 0.0, 0.0, 28.0], [0.0, 0.0, 0.0, 1.0]),
        ("C", "0303", ""): ([0.0, 3.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]),
    }


def test_keys_come_sorted_and_a_key_whose_rows_net_to_nothing_is_left_out() -> None:
    rows = [
        ("2026-03-02", "B", "0202", "", 28, 1),
        ("2026-03-01", "A", "0303", "", 5, 1),
        ("2026-03-01", "A", "0101", "D9", 7, 0),  # a day's issue and its return, lines not read: nothing
        ("2026-03-01", "A", "0101", "D9", -7, 0),
        ("2026-03-03", "A", "0101", "", 7, 1),  # issued and returned, lines read: two dispensings, no units
        ("2026-03-03", "A", "0101", "", -7, 1),
        ("2026-03-04", "A", "0202", "", 0, None),
    ]
    got = fill_series(rows, FIRST, LAST)
    assert list(got) == [("A", "0101", ""), ("A", "0303", ""), ("B", "0202", "")]
    assert got[("A", "0101", "")] == ([0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0])
    assert list(fill_series(reversed(rows), FIRST, LAST).items()) == list(got.items())


def test_a_day_that_is_no_date_is_refused_not_skipped() -> None:
    with pytest.raises(ValueError, match=r"item A: day '03/02/2026' is no date"):
        fill_series([("03/02/2026", "A", "0101", "", 1, 1)], FIRST, LAST)


def test_summed_per_item_the_departments_and_prescribers_are_one_series() -> None:
    rows = [DailyUsage(date(2026, 3, 2), "A", 4.0, 0.0, "0101", "D1", 2),
            DailyUsage(date(2026, 3, 2), "A", 6.0, 0.0, "0301", "", 3),
            DailyUsage(date(2026, 3, 4), "A", 1.0, 0.0, "0301", "", 1)]
    assert series_of(rows, FIRST, LAST, departments=False) == {("A", "", ""): ([0.0, 10.0, 0.0, 1.0], [0.0, 5.0, 0.0, 1.0])}


def test_rows_come_back_for_the_keys_and_days_asked() -> None:
    rows = [DailyUsage(date(2026, 3, 1), "A", 4.0, 0.0, "0101", "D1", 2),
            DailyUsage(date(2026, 3, 3), "A", 0.0, 0.0, "0101", "D1", 2),  # a dispensing and its return
            DailyUsage(date(2026, 3, 4), "B", 6.0, 0.0, "0301", "", 3)]
    series = series_of(rows, FIRST, LAST)
    assert sorted(series_rows(series, FIRST), key=lambda r: (r.item_code, r.day)) == rows
    assert series_rows(series, FIRST, keep=lambda key: bool(key[2])) == rows[:2]
    assert series_rows(series, FIRST, since=date(2026, 3, 2)) == rows[1:]
