"""The packed usage read's unpacking (adapters.source._unpack): exact columns, or None when the
packed rows do not add up to the rows counted beside them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from adapters.source import _as_text, _unpack

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


def per_day(*entries: tuple[str, ...]) -> str:
    return "\x1e".join("\x1f".join(e) for e in entries)


def test_rows_packed_by_day_hand_over_their_text_as_it_is_in_the_store_s_key_order() -> None:
    rows = [(D1, 2, per_day(("Y1", "0101", "outpatient", "3.0000", "12.50", "2"),
                            ("Y2", "0202", "inpatient", "-1", "-4.0000", "1")), Decimal(2), 3),
            (D2, 1, per_day(("Y1", "0202", "emergency", "1.5", "6", "1")), Decimal("1.5"), 1)]
    text = _as_text(rows)
    assert text is not None and text.rows == 3
    assert text.fields[:7] == ["2026-03-01", "Y1", "0101", "outpatient", "3.0000", "12.50", "2"]
    assert text.fields[14:] == ["2026-03-02", "Y1", "0202", "emergency", "1.5", "6", "1"]
    assert text.totals == {D1: (3, Decimal(2), 2), D2: (1, Decimal("1.5"), 1)}
    columns = text.columns()  # the typed columns the unpacking gives
    days, items, depts, settings, quantities, amounts, lines = _unpack(rows)
    assert (list(columns.days), list(columns.items), list(columns.depts)) == (days, items, depts)
    assert list(columns.values) == list(zip(quantities, amounts, lines, strict=True))
    assert [k[3] for k in columns.keys] == settings and str(columns.values[1][1]) == "-4.0000"


@pytest.mark.parametrize("entry", [
    ("Y1 ", "0101", "outpatient", "3", "12.5", "2"),  # a padded code
    ("Y1", " 0101", "outpatient", "3", "12.5", "2"),
    ("Y1", "0101", "ward", "3", "12.5", "2"),  # a setting the store does not know
    ("Y1", "0101", "outpatient", "NaN", "12.5", "2"),
    ("Y1", "0101", "outpatient", "3", "Infinity", "2"),
    ("Y1", "0101", "outpatient", "3", "", "2"),
    ("Y1", "0101", "outpatient", "3", "12.5", "2.0"),  # lines not an integer's text
    ("Y1", "0101", "outpatient", "3", "12.5", "1e+20"),
])
def test_packed_text_whose_form_does_not_check_out_is_not_handed_over_as_it_is(entry: tuple[str, ...]) -> None:
    good = ("Y0", "0101", "outpatient", "1", "2", "1")
    assert _as_text([(D1, 2, per_day(good, entry), Decimal(4), 3)]) is None
    assert _as_text([(D1, 2, per_day(good, good), Decimal(2), 2)]) is not None


def test_packed_text_that_does_not_add_up_is_refused() -> None:
    good = per_day(("Y1", "0101", "outpatient", "3", "12.5", "2"))
    assert _as_text([(D1, 2, good, Decimal(3), 2)]) is None  # a row's text dropped
    assert _as_text([(D1, 1, None, Decimal(3), 2)]) is None
    assert _as_text([(D1, 1, per_day(("Y\x1f1", "0101", "outpatient", "3", "12.5", "2")), Decimal(3), 2)]) is None
    assert _as_text([(D1, 1, good, 3.0, 2)]) is None  # totals not as the database types them
    assert _unpack([(D1, 2, good, Decimal(3), 2)]) is None and _as_text([]) is None
