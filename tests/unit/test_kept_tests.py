"""The daemon's rise tests kept between evaluations (agent.domain.kept_tests): the same result as
computing every group afresh, and only the groups whose inputs changed are computed again."""

from __future__ import annotations

from datetime import timedelta

from agent.domain.detect import Cell, detect_rises
from agent.domain.kept_tests import KeptTests
from tests.unit.test_monitor_cells import END, Weekends, hospital


def both(series, cells, kept: KeptTests, end=END, frozen=None):  # type: ignore[no-untyped-def]
    """detect_rises with the kept tests and afresh, which must agree."""
    got = detect_rises(series, Weekends(), end, cells=cells, kept=kept, frozen=frozen)
    assert got == detect_rises(series, Weekends(), end, cells=cells, frozen=frozen)
    return got


def test_an_unchanged_evaluation_computes_no_group_again_and_finds_the_same() -> None:
    series, cells = hospital(3, rise=3.0)
    kept = KeptTests()
    first = both(series, cells, kept)
    assert (kept.computed, kept.reused) == (40, 0)
    assert any(t.alert for t in first)  # G0's tripling: the kept tests carry an alert, not only quiet groups
    assert both(series, cells, kept) == first
    assert (kept.computed, kept.reused) == (40 - 40, 40)


def test_a_late_booking_in_one_group_computes_that_group_again() -> None:
    series, cells = hospital(5)
    kept = KeptTests()
    both(series, cells, kept)

    def book(units: float) -> None:  # product A in the quiet 0201, booked late on the last day
        for cell in (Cell("G5", "0201", "G5A"), Cell("G5", "", "G5A"), Cell("G5", "0201")):
            cells[cell][-1] += units
        series["G5"].non_winning[-1] += units
        series["G5"].total[-1] += units

    book(14.0)
    again = both(series, cells, kept)
    assert (kept.computed, kept.reused) == (1, 39)
    book(70.0)  # and then a great deal more: what was kept must not hide it
    assert both(series, cells, kept) != again and kept.computed == 1


def test_what_every_group_shares_changing_computes_every_group_again() -> None:
    series, cells = hospital(7)
    kept = KeptTests()
    both(series, cells, kept)
    both(series, cells, kept, end=END - timedelta(days=1))  # the next evaluation's day (here a day back)
    assert kept.computed == 40
    both(series, cells, kept, end=END - timedelta(days=1))
    assert kept.computed == 0
    series["G7"].total[10] += 30.0  # a baseline day of one group (its winning product): the weekday profile moves
    both(series, cells, kept, end=END - timedelta(days=1))
    assert kept.computed == 40


def test_a_frozen_baseline_computes_its_group_again_and_groups_gone_are_dropped() -> None:
    series, cells = hospital(9, rise=3.0, rise_days=21)
    kept = KeptTests()
    both(series, cells, kept)
    both(series, cells, kept, frozen={"G0": END - timedelta(days=20)})
    assert (kept.computed, kept.reused) == (1, 39)
    fewer = {gid: s for gid, s in series.items() if gid in ("G0", "G1")}
    both(fewer, {c: y for c, y in cells.items() if c.group_id in fewer}, kept)
    assert set(kept._kept) == {"G0", "G1"}
