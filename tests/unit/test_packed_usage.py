"""The packed usage read's unpacking (adapters.source._unpack): exact columns, or None when the
packed rows do not add up to the rows counted beside them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from adapters.source import _unpack

D1, D2 = date(2026, 3, 1), date(2026, 3, 2)


def packed(*entries: tuple[str, ...]) -> str:
    return "\x1e".join("\x1f".join(e) for e in entries)


def test_packed_rows_unpack_to_the_usage_columns_in_order() -> None:
    rows = [(D1, "0101", 2, packed(("Y1", "outpatient", "3", "12.50", "2"), ("Y2", "inpatient", "-1", "-4.0000", "1"))),
            (D2, "0202", 1, packed(("Y1", "emergency", "1.5", "6", "1")))]
    days, items, depts, settings, quantities, amounts, lines = _unpack(rows)
    assert (days, items, depts, settings) == ([D1, D1, D2], ["Y1", "Y2", "Y1"], ["0101", "0101", "0202"],
                                              ["outpatient", "inpatient", "emergency"])
    assert quantities == [Decimal(3), Decimal(-1), Decimal("1.5")] and str(amounts[1]) == "-4.0000"
    assert lines == [2, 1, 1]
    assert _unpack([]) == ([],) * 7


def test_packed_rows_that_do_not_add_up_are_refused() -> None:
    good = packed(("Y1", "outpatient", "3", "12.5", "2"))
    assert _unpack([(D1, "0101", 2, good)]) is None  # a row's text dropped (a NULL inside it)
    assert _unpack([(D1, "0101", 1, None)]) is None
    assert _unpack([(D1, "0101", 1, packed(("Y\x1f1", "outpatient", "3", "12.5", "2")))]) is None  # a separator in a code
    assert _unpack([(D1, "0101", 1, packed(("Y1", "outpatient", "x", "12.5", "2")))]) is None
    assert _unpack([(D1, "0101", 1, packed(("Y1", "outpatient", "3", "12.5", "2.0")))]) is None
