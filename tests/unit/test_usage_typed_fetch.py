"""Usage ingestion's hot path: a typed fetch (UsageColumns) taken whole gives what row-by-row gives."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from itertools import repeat

import pytest

from agent.domain.model import BadRow, Setting, UsageColumns, UsageRow
from agent.jobs.ingest_usage import read_window

DAY = date(2026, 10, 1)
LAST = DAY + timedelta(days=2)
Row = tuple[date, str, str, str, Decimal, Decimal, int]


def _columns(rows: list[Row]) -> UsageColumns:
    days, items, depts, settings, quantities, amounts, lines = zip(*rows, strict=True)
    return UsageColumns(days, items, depts, list(zip(days, items, depts, settings, repeat(""))),
                        list(zip(quantities, amounts, lines, strict=True)))


class Fetches:
    """A usage source that hands over whole fetches as a driver-typed SQL source does."""

    name = "his"

    def __init__(self, fetches: list[list[Row]]) -> None:
        self.fetches = fetches

    def read_usage_batches(self, day_from: date, day_to: date) -> Iterator[UsageColumns]:
        for rows in self.fetches:
            yield _columns(rows)

    def read_usage(self, day_from: date, day_to: date) -> Iterator[UsageRow | BadRow]:
        raise AssertionError("a source with read_usage_batches is read through it")


class Rows:
    """The same rows, one UsageRow at a time (any other UsageSource)."""

    name = "his"

    def __init__(self, fetches: list[list[Row]]) -> None:
        self.fetches = fetches

    def read_usage(self, day_from: date, day_to: date) -> Iterator[UsageRow | BadRow]:
        for rows in self.fetches:
            for d, item, dept, setting, q, a, n in rows:
                yield UsageRow(d, item, dept, Setting(setting), q, a, n)


def _row(i: int, day: date = DAY, item: str | None = None, dept: str = "0101") -> Row:
    return day, f"Y{i:05d}" if item is None else item, dept, "outpatient", Decimal(i), Decimal(i) * Decimal("2.50"), i


CLEAN = [_row(i) for i in range(1, 6)]
CASES = {
    "clean fetches": [CLEAN, [_row(i, DAY + timedelta(days=1)) for i in range(1, 4)]],
    "a key twice inside one fetch": [[*CLEAN, _row(2)]],
    "a key again in a later fetch": [CLEAN, [_row(3), _row(9)]],
    "a day outside the window": [[*CLEAN, _row(7, LAST + timedelta(days=1))]],
    "an empty item code": [[*CLEAN, _row(7, item="")]],
    "a left-padded item code": [[*CLEAN, _row(7, item=" Y7")]],
    "undecodable text in a department": [[*CLEAN, _row(7, dept="01\ufffd")]],
    "a control character in an item code": [[*CLEAN, _row(7, item="Y\x017")]],
}


@pytest.mark.parametrize("fetches", CASES.values(), ids=CASES.keys())
def test_a_typed_fetch_taken_whole_merges_and_quarantines_as_row_by_row(fetches: list[list[Row]]) -> None:
    merged, bad = read_window(Fetches(fetches), DAY, LAST)
    expected_merged, expected_bad = read_window(Rows(fetches), DAY, LAST)
    assert merged == expected_merged
    assert [(b.key, b.reason) for b in bad] == [(b.key, b.reason) for b in expected_bad]


def test_a_key_read_twice_is_summed_and_a_bad_row_quarantined_with_its_reason() -> None:
    merged, bad = read_window(Fetches([[*CLEAN, _row(2), _row(7, item="")]]), DAY, LAST)
    assert merged[(DAY, "Y00002", "0101", "outpatient", "")] == (Decimal(4), Decimal("10.00"), 4)
    assert [b.reason for b in bad] == ["no item code"]
    assert len(merged) == len(CLEAN)
