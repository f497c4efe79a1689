"""The daemon's kept usage series (agent.store.series_cache): what it returns is what a fresh read
returns, whatever ingestion rewrote in between, and it reads only the days that changed."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.store import Store, open_store
from agent.store.monitoring_inputs import StoreInputs
from agent.store.usage import DayTotal, replace_days

D0 = date(2026, 9, 1)
T0 = datetime(2026, 9, 1, 1, tzinfo=UTC)
ITEMS = ["A1", "A2", "B1"]
SOURCES = ["his", "his2"]


def write(store: Store, source: str, first: date, last: date, rows: dict[tuple, tuple], at: datetime) -> None:
    """Rewrite ``source``'s days [first, last] with ``rows`` ((day, item, dept, prescriber) ->
    (units, lines)), as ingestion does: every day of the range stamped with its totals."""
    merged = {(d, item, dept, "outpatient", doc): (Decimal(str(q)), Decimal(0), n) for (d, item, dept, doc), (q, n) in rows.items()}
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    totals = [DayTotal(d, sum(n for (dd, *_), (_q, n) in rows.items() if dd == d),
                       Decimal(str(sum(q for (dd, *_), (q, _n) in rows.items() if dd == d))),
                       sum(1 for (dd, *_) in rows if dd == d)) for d in days]
    with store.begin() as conn:
        replace_days(conn, "H1", source, first, last, merged, totals, at)


def both(store: Store) -> tuple[StoreInputs, StoreInputs]:
    return StoreInputs(store, SOURCES, keep_series=True), StoreInputs(store, SOURCES)


def same(kept: StoreInputs, fresh: StoreInputs, first: date, last: date, items: list[str], departments: bool = True) -> None:
    got, want = kept.usage_series(first, last, items, departments), fresh.usage_series(first, last, items, departments)
    assert list(got.items()) == list(want.items())  # the same keys, in the same order, the same figures


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    yield s
    s.close()


def day_rows(first: date, last: date, scale: float = 1.0) -> dict[tuple, tuple]:
    out = {}
    for k in range((last - first).days + 1):
        d = first + timedelta(days=k)
        out[(d, "A1", "0101", "")] = (10 * scale + k, 2)
        out[(d, "A1", "0203", "D7")] = (5 * scale, 1)
        if k % 3 == 0:
            out[(d, "B1", "0101", "")] = (28.0, 1)
    return out


def test_an_unchanged_store_is_not_read_again_and_a_rewritten_day_is(store: Store) -> None:
    kept, fresh = both(store)
    write(store, "his", D0, D0 + timedelta(days=59), day_rows(D0, D0 + timedelta(days=59)), T0)
    first, last = D0 + timedelta(days=10), D0 + timedelta(days=40)
    same(kept, fresh, first, last, ITEMS)
    assert (kept.series_cache.stats.full, kept.series_cache.stats.kept) == (1, 0)
    same(kept, fresh, first, last, ITEMS)  # an hour later, nothing written
    assert (kept.series_cache.stats.kept, kept.series_cache.stats.days_read) == (1, 0)
    day = D0 + timedelta(days=39)  # yesterday polled again, with a dispensing more
    write(store, "his", day, day, {**day_rows(day, day), (day, "A2", "0101", ""): (3.0, 1)}, T0 + timedelta(hours=1))
    same(kept, fresh, first, last, ITEMS)
    assert kept.series_cache.stats.days_read == 1
    same(kept, fresh, first + timedelta(days=1), last + timedelta(days=1), ITEMS)  # midnight: the range moves on
    assert kept.series_cache.stats.days_read == 2
    same(kept, fresh, first, last, ITEMS, departments=False)  # another read is kept apart
    assert kept.series_cache.stats.full == 2


def test_a_day_rewritten_at_the_same_moment_or_emptied_is_read_again(store: Store) -> None:
    kept, fresh = both(store)
    first, last = D0, D0 + timedelta(days=20)
    write(store, "his", first, last, day_rows(first, last), T0)
    same(kept, fresh, first, last, ITEMS)
    day = D0 + timedelta(days=5)
    write(store, "his", day, day, day_rows(day, day, scale=3), T0)  # the same read_at, other totals
    same(kept, fresh, first, last, ITEMS)
    write(store, "his", day, day, {}, T0 + timedelta(hours=1))  # polled again: nothing that day after all
    same(kept, fresh, first, last, ITEMS)
    write(store, "his2", first, last, {(d, "B1", "0101", ""): (0.0, 0) for d, *_ in day_rows(first, last)},
          T0)  # another source, rows netting to nothing: no key of their own
    same(kept, fresh, first, last, ITEMS)
    assert kept.series_cache.stats.days_read >= 2


def test_a_write_whose_day_totals_miss_a_day_is_refused_before_anything_is_written(store: Store) -> None:
    write(store, "his", D0, D0 + timedelta(days=2), day_rows(D0, D0 + timedelta(days=2)), T0)
    fresh = StoreInputs(store, SOURCES)
    before = fresh.usage_series(D0, D0 + timedelta(days=2), ITEMS)
    rows = {(d, item, dept, "outpatient", doc): (Decimal(9), Decimal(0), 1) for d, item, dept, doc in day_rows(D0, D0 + timedelta(days=2))}
    for totals in ([DayTotal(D0, 1, Decimal(9), 1)], [DayTotal(d, 1, Decimal(9), 1) for d in (D0, D0, D0 + timedelta(days=1))]):
        with pytest.raises(ValueError, match="must name each of its days once"), store.begin() as conn:
            replace_days(conn, "H1", "his", D0, D0 + timedelta(days=1), rows, totals, T0 + timedelta(hours=1))
    assert fresh.usage_series(D0, D0 + timedelta(days=2), ITEMS) == before


def test_a_read_larger_than_the_cache_may_hold_is_read_afresh_every_time(store: Store) -> None:
    from agent.store.series_cache import KEY_BYTES, SeriesCache

    write(store, "his", D0, D0 + timedelta(days=29), day_rows(D0, D0 + timedelta(days=29)), T0)
    kept, fresh = both(store)
    keys = len(fresh.usage_series(D0, D0 + timedelta(days=29), ITEMS))
    kept.series_cache = SeriesCache(max_bytes=keys * (KEY_BYTES + 16 * 30) - 1)  # one key short
    for _ in range(2):
        same(kept, fresh, D0, D0 + timedelta(days=29), ITEMS)
    assert (kept.series_cache.stats.full, kept.series_cache.stats.too_large, kept.series_cache.kept_bytes()) == (2, 2, 0)
    same(kept, fresh, D0, D0 + timedelta(days=28), ITEMS)  # a day fewer fits
    same(kept, fresh, D0, D0 + timedelta(days=28), ITEMS)
    assert kept.series_cache.stats.kept == 1 and kept.series_cache.kept_bytes() > 0
    same(kept, fresh, D0, D0 + timedelta(days=28), ["A1"])  # a second read: the two do not fit, the older goes
    assert kept.series_cache.kept_bytes() == sum(8 * 29 * 2 for _ in fresh.usage_series(D0, D0 + timedelta(days=28), ["A1"]))


def test_what_a_caller_does_with_the_lists_never_reaches_the_cache(store: Store) -> None:
    kept, fresh = both(store)
    write(store, "his", D0, D0 + timedelta(days=9), day_rows(D0, D0 + timedelta(days=9)), T0)
    for qty, lines in kept.usage_series(D0, D0 + timedelta(days=9), ITEMS).values():
        qty[:] = [99.0] * len(qty)
        lines.clear()
    same(kept, fresh, D0, D0 + timedelta(days=9), ITEMS)


def test_two_jobs_reading_at_once_get_what_a_fresh_read_gives(store: Store) -> None:
    kept, fresh = both(store)
    write(store, "his", D0, D0 + timedelta(days=30), day_rows(D0, D0 + timedelta(days=30)), T0)
    want = fresh.usage_series(D0, D0 + timedelta(days=30), ITEMS)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(kept.usage_series(D0, D0 + timedelta(days=30), ITEMS)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [want] * 4


def test_on_postgresql_too(pg_store_url: str) -> None:
    store = open_store(pg_store_url, "H1")
    try:
        kept, fresh = both(store)
        write(store, "his", D0, D0 + timedelta(days=30), day_rows(D0, D0 + timedelta(days=30)), T0)
        same(kept, fresh, D0 + timedelta(days=2), D0 + timedelta(days=20), ITEMS)
        day = D0 + timedelta(days=20)
        write(store, "his", day, day, day_rows(day, day, scale=2), T0 + timedelta(hours=1))
        same(kept, fresh, D0 + timedelta(days=3), D0 + timedelta(days=21), ITEMS)
        same(kept, fresh, D0 + timedelta(days=3), D0 + timedelta(days=21), ITEMS, departments=False)
        assert kept.series_cache.stats.days_read == 2  # the new day and the rewritten one
    finally:
        store.close()


step = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(SOURCES), st.integers(0, 45), st.integers(0, 6),
              st.lists(st.tuples(st.integers(0, 6), st.sampled_from(ITEMS), st.sampled_from(["0101", "0203", ""]),
                                 st.sampled_from(["", "D7"]), st.sampled_from([0.0, 1.0, 7.0, -7.0, 2.5]),
                                 st.integers(0, 3)), max_size=8),
              st.booleans()),
    st.tuples(st.just("read"), st.integers(-3, 30), st.integers(0, 25), st.booleans(),
              st.sampled_from([ITEMS, ["A1"], ["A2", "B1"]])),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, min_size=1, max_size=12))
@example(steps=[  # found by this test: a day rewritten at the same moment, the same totals and as many rows, but
    # its one row moved to another key; the stamps were equal until each write drew its own token
    ("read", 0, 0, False, ITEMS),
    ("write", "his2", 0, 0, [(0, "A1", "0101", "D7", 1.0, 0), (1, "A1", "0101", "", 0.0, 0)], False),
    ("read", 0, 0, True, ["A1"]),
    ("write", "his2", 0, 0, [(0, "A1", "0101", "", 0.0, 0), (0, "A1", "0101", "", 1.0, 0)], True),
    ("read", 0, 0, True, ["A1"]),
])
def test_whatever_ingestion_writes_between_reads_the_kept_series_are_a_fresh_reads(tmp_path_factory: pytest.TempPathFactory,
                                                                                    steps: list[tuple]) -> None:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('cache') / 'state.db'}", "H1")
    try:
        kept, fresh = both(store)
        at = T0
        for s in steps:
            if s[0] == "write":
                _, source, start, span, rows, same_moment = s
                first = D0 + timedelta(days=start)
                merged: dict[tuple, tuple] = {}
                for k, item, dept, doc, q, n in rows:
                    if k <= span:
                        merged[(first + timedelta(days=k), item, dept, doc)] = (q, n)
                at = at if same_moment else at + timedelta(minutes=30)
                write(store, source, first, first + timedelta(days=span), merged, at)
            else:
                _, start, span, departments, items = s
                first = D0 + timedelta(days=start)
                same(kept, fresh, first, first + timedelta(days=span), items, departments)
    finally:
        store.close()
