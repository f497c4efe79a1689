"""The evaluation job at hospital scale: 2,000 winning products, 5,000 local items, 60
departments, two years of daily usage. Times ``evaluate`` (progress, rise detection with the
department scan, deadline clocks, findings written to a SQLite store; the median of three, an
hour apart, after a first; then as the daemon runs it, its rise tests kept between evaluations) and, as the baseline measured in the same run, the naive way: scan every daily row in Python to sum each product's
agreement year. The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from array import array
from bisect import bisect_left, bisect_right
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import day_level

from agent.calendar import WorkCalendar
from agent.clock import FakeClock
from agent.domain.kept_tests import KeptTests
from agent.domain.monitoring_model import (
    Acceptance,
    DailyUsage,
    DeadlineInputs,
    GenericGroup,
    ItemLink,
    ProductYear,
    PurchaseMix,
    UsageTotal,
)
from agent.domain.usage_series import UsageSeries, fill_series
from agent.jobs.evaluate import evaluate
from agent.jobs.gcpause import collection_paused
from agent.monitoring_config import MonitoringConfig
from agent.store import open_store

PRODUCTS, ITEMS, DEPTS = 2000, 5000, 60
TODAY = date(2026, 10, 31)
FIRST = TODAY - timedelta(days=729)
WINNING_DEPTS = ["D01", "D07", "D13", "D22", "D38", "D51"]  # BENCH_STORE=1: where each winning item is used
RUNS = 3  # evaluations timed (and naive scans), the median reported: this machine's neighbours make single runs vary by 1.5x
DEPT_DAYS = 100  # departments are kept for the last 100 days: all detection asks for
PROGRAMME_STARTS = [date(2025, 11, 1), date(2026, 1, 1), date(2026, 3, 1), date(2026, 5, 1), date(2026, 7, 1)]


class ArrayInputs:
    """``MonitoringInputs`` over per-item daily arrays with prefix sums (what SUM over an index costs)."""

    def __init__(self, products, groups, links, daily, dept_split, deadlines) -> None:  # type: ignore[no-untyped-def]
        self._p, self._g, self._l, self._d = products, groups, links, deadlines
        self.days = [FIRST + timedelta(days=i) for i in range(len(next(iter(daily.values()))))]
        self.daily = daily
        self.cum = {}
        for code, values in daily.items():
            c = array("d", [0.0])
            for v in values:
                c.append(c[-1] + v)
            self.cum[code] = c
        # item -> [(dept, units, lines)] per day, as the store holds them (the last DEPT_DAYS days),
        # the departments' units summing to the item's
        self.first = first = len(self.days) - DEPT_DAYS
        self.depts = {code: [(dept, q, array("d", [max(1, round(x * 0.6)) if x else 0 for x in q]))
                             for dept, q in zip([d for d, _w in split], _shares(daily[code][first:], [w for _d, w in split]),
                                                strict=True)]
                      for code, split in dept_split.items()}

    def product_years(self, a: date, b: date) -> list[ProductYear]:
        return [p for p in self._p if p.year_start <= b and p.year_end >= a]

    def groups(self) -> list[GenericGroup]:
        return self._g

    def item_links(self) -> list[ItemLink]:
        return self._l

    def _range(self, a: date, b: date) -> tuple[int, int]:
        return bisect_left(self.days, a), bisect_right(self.days, b)

    def usage_totals(self, a: date, b: date) -> list[UsageTotal]:
        i, j = self._range(a, b)
        return [UsageTotal(code, c[j] - c[i], (c[j] - c[i]) * 0.5) for code, c in self.cum.items() if c[j] != c[i]]

    def dept_usage(self, a: date, b: date, items) -> list[DailyUsage]:  # type: ignore[no-untyped-def]
        i, j = self._range(max(a, TODAY - timedelta(days=DEPT_DAYS - 1)), b)
        days, out = self.days[self.first:], []
        i, j = i - self.first, j - self.first
        for code in items:
            for dept, qty, lines in self.depts.get(code, ()):
                out += [DailyUsage(days[k], code, qty[k], 0.0, dept, "", int(lines[k])) for k in range(i, j) if qty[k]]
        return out

    def usage_series(self, a: date, b: date, items, departments=True) -> UsageSeries:  # type: ignore[no-untyped-def]
        """The rows a store returns, as tuples, filled into series as the store fills them: by
        department, the rivals' departments (the winning items are given without one)."""
        i, j = self._range(a, b)
        days = self.days
        if not departments:
            return fill_series([(days[k], code, "", "", v[k], 0) for code in items for v in (self.daily[code],)
                                for k in range(i, j) if v[k]], a, b)
        i = max(i, self.first)
        rows = [(days[k], code, "", "", v[k], max(1, round(v[k] * 0.6))) for code in items if code not in self.depts
                for v in (self.daily[code],) for k in range(i, j) if v[k]]
        i, j = i - self.first, j - self.first
        days = days[self.first:]
        rows += [(days[k], code, dept, "", qty[k], lines[k]) for code in items
                 for dept, qty, lines in self.depts.get(code, ()) for k in range(i, j) if qty[k]]
        return fill_series(rows, a, b)

    def negative_days(self, a: date, b: date, items) -> list[DailyUsage]:  # type: ignore[no-untyped-def]
        """What the store's HAVING returns: the synthetic hospital books no return above a day's issues."""
        return [r for r in self.dept_usage(a, b, items) if r.qty < 0]

    def accepted_totals(self, a: date, b: date) -> None:
        return None  # no warehouse source: completion by acceptance is not shown

    def purchase_mix(self, a: date, b: date) -> list[PurchaseMix]:
        return []  # no warehouse source: no 网采率

    def deadline_inputs(self, as_of: datetime) -> DeadlineInputs:
        return self._d


def _shares(values: array, weights: list[float]) -> list[array]:
    """``values`` split by ``weights`` into whole units that sum to them."""
    out = [array("d", bytes(8 * len(values))) for _ in weights]
    for k in range(len(values)):
        left = values[k]
        for part, w in zip(out[:-1], weights, strict=False):
            part[k] = min(left, float(round(values[k] * w)))
            left -= part[k]
        out[-1][k] = left
    return out


def build(rng: random.Random, calendar: WorkCalendar) -> ArrayInputs:
    levels = [day_level(calendar, FIRST + timedelta(days=i)) for i in range(730)]
    products, groups, links, daily, split = [], [], [], {}, {}
    n_rivals = ITEMS - PRODUCTS
    for p in range(PRODUCTS):
        gid, pid = f"G{p:04d}", f"P{p:04d}"
        start = PROGRAMME_STARTS[p % len(PROGRAMME_STARTS)]
        rate = rng.uniform(5, 200)
        factor = rng.choice([1, 7, 28])
        agreed = rate * factor * 290 * rng.uniform(0.6, 1.4)
        programme = f"批次{p % len(PROGRAMME_STARTS) + 1}"
        products.append(ProductYear(pid, gid, f"药品{p}", programme, start - timedelta(days=365), start - timedelta(days=1), agreed))
        products.append(ProductYear(pid, gid, f"药品{p}", programme, start, start + timedelta(days=364), agreed * 1.1))
        rivals = [f"N{p:04d}-{k}" for k in range(n_rivals // PRODUCTS + (p < n_rivals % PRODUCTS))]
        groups.append(GenericGroup(gid, f"药品{p}", programme, (pid,)))
        links.append(ItemLink(f"W{p:04d}", gid, f"药品{p}", pid, factor=factor))
        zero = rng.random() < 0.02
        daily[f"W{p:04d}"] = array("d", [0.0 if zero else round(rate * lv * rng.uniform(0.5, 1.5)) for lv in levels])
        for code in rivals:
            links.append(ItemLink(code, gid, f"非中选{code}", factor=factor, price=rng.uniform(1, 20)))
            r = rate * rng.uniform(0.05, 0.5)
            daily[code] = array("d", [round(r * lv * rng.uniform(0.5, 1.5)) for lv in levels])
            depts = rng.sample(range(DEPTS), 3)
            w = [rng.random() + 0.2 for _ in depts]
            split[code] = [(f"D{d:02d}", x / sum(w)) for d, x in zip(depts, w, strict=True)]
    tz = FakeClock(datetime(2026, 10, 31, 12)).tz
    acceptances = [Acceptance(f"L{i}", f"药品{i}", datetime(2026, 10, 30, 8, tzinfo=tz) + timedelta(hours=i % 30))
                   for i in range(500)]
    return ArrayInputs(products, groups, links, daily, split, DeadlineInputs(acceptances=acceptances))


def naive(inputs: ArrayInputs, today: date) -> int:
    """Every daily row to Python, summed per product-year by scanning (what a store without
    range sums, or a per-row loop, costs)."""
    rows = [(code, inputs.days[k], v[k]) for code, v in inputs.daily.items() for k in range(len(v)) if v[k]]
    link = {lk.item_code: lk for lk in inputs.item_links()}
    years = [p for p in inputs.product_years(today, today)]
    by_product: dict[str, list[ProductYear]] = {}
    for p in years:
        by_product.setdefault(p.product_id, []).append(p)
    used: dict[str, float] = {}
    for code, day, qty in rows:
        lk = link[code]
        for p in by_product.get(lk.product_id or "", ()):
            if p.year_start <= day <= today:
                used[p.key] = used.get(p.key, 0.0) + qty * (lk.factor or 0)
    return len(used)


class StoreUsage:
    """The stand-in's programmes, links and progress, and a real store's usage series."""

    def __init__(self, stand_in: ArrayInputs, store: object) -> None:
        self._stand_in, self._store = stand_in, store

    def __getattr__(self, name: str) -> object:
        return getattr(self._stand_in, name)

    def usage_series(self, day_from: date, day_to: date, items: list[str], departments: bool = True) -> UsageSeries:
        return self._store.usage_series(day_from, day_to, items, departments)  # type: ignore[attr-defined]


def store_reads(inputs: ArrayInputs, tmp: str) -> dict[str, float | int]:
    """``BENCH_STORE=1``: rise detection's three reads of an evaluation (the rivals by department
    over the level span, the winning items' daily sums over it, every item's daily sums before it)
    from a SQLite store holding the same rows, the winning items' in six departments each, and
    from the stand-in; then as the daemon reads them (``keep_series``): its first evaluation, the
    next an hour later (nothing rewritten), and the first after midnight (yesterday polled again,
    the range a day on). Seconds each, the figures read by department, the days the last re-read."""
    from agent.store.monitoring_inputs import StoreInputs
    from agent.store.usage import DayTotal, replace_days

    store = open_store(f"sqlite:///{tmp}/reads.db", "BENCH")
    first = inputs.days[inputs.first]
    merged: dict[tuple, tuple] = {}
    for lk in inputs.item_links():
        if lk.winning:  # in six departments, as a winning product's use is spread
            v = inputs.daily[lk.item_code]
            for dept, part in zip(WINNING_DEPTS, _shares(v[inputs.first:], [1 / len(WINNING_DEPTS)] * len(WINNING_DEPTS)),
                                  strict=True):
                merged.update({(first + timedelta(days=k), lk.item_code, dept, "outpatient", ""):
                               (part[k], 0.0, max(1, round(part[k] * 0.6))) for k in range(len(part)) if part[k]})
        for dept, qty, lines in inputs.depts.get(lk.item_code, ()):
            merged.update({(first + timedelta(days=k), lk.item_code, dept, "outpatient", ""): (qty[k], 0.0, int(lines[k]))
                           for k in range(len(qty)) if qty[k]})
    tz = FakeClock(datetime(2026, 10, 31, 1)).tz

    def write(day_from: date, day_to: date, at: datetime) -> None:
        rows = {k: v for k, v in merged.items() if day_from <= k[0] <= day_to}
        days = [day_from + timedelta(days=k) for k in range((day_to - day_from).days + 1)]
        with store.begin() as conn:
            replace_days(conn, "BENCH", "his", day_from, day_to, rows, [DayTotal(d, 0, Decimal(0), 0) for d in days], at)

    write(first, TODAY, datetime(2026, 10, 31, 1, tzinfo=tz))
    rules = MonitoringConfig().detect_rules()
    rivals = [lk.item_code for lk in inputs.item_links() if not lk.winning]
    winning = [lk.item_code for lk in inputs.item_links() if lk.winning]

    def three(source: StoreInputs | ArrayInputs, end: date) -> list:
        start = end - timedelta(days=rules.baseline_days + rules.window_days - 1)
        level_from = end - timedelta(days=rules.level_days + max((rules.window_days, *rules.long_windows)) - 1)
        return [source.usage_series(level_from, end, rivals),
                source.usage_series(level_from, end, winning, departments=False),
                source.usage_series(start, level_from - timedelta(days=1), winning + rivals, departments=False)]

    def timed(source: StoreInputs | ArrayInputs, end: date) -> tuple[float, list]:
        with collection_paused():  # as the evaluation reads them
            t0 = time.perf_counter()
            got = three(source, end)
            return time.perf_counter() - t0, got

    end = TODAY - timedelta(days=1)
    took_store, got_store = timed(StoreInputs(store, ["his"]), end)
    took_stand_in, got_stand_in = timed(inputs, end)
    kept = StoreInputs(store, ["his"], keep_series=True)
    took_cold, got_cold = timed(kept, end)
    took_hour, got_hour = timed(kept, end)
    write(end, TODAY, datetime(2026, 11, 1, 1, tzinfo=tz))  # after midnight: yesterday and today polled again
    assert kept.series_cache is not None
    before = kept.series_cache.stats.days_read
    took_day, got_day = timed(kept, TODAY)
    days_read = kept.series_cache.stats.days_read - before
    kept_mb = kept.series_cache.kept_bytes() / 2**20
    got_fresh = three(StoreInputs(store, ["his"]), TODAY)
    # whole evaluations as the daemon runs them: its usage series from the store, kept between them
    # (the rest of its inputs, programmes and progress, from the stand-in)
    daemon = StoreUsage(inputs, StoreInputs(store, ["his"], keep_series=True))
    state = open_store(f"sqlite:///{tmp}/state.db", "BENCH")
    clock = FakeClock(datetime(2026, 10, 31, 12))
    evals, tests_kept = [], KeptTests()
    for step in (timedelta(0), timedelta(hours=1), timedelta(hours=1), timedelta(hours=14)):  # the last after midnight
        clock.advance(step)
        if step > timedelta(hours=1):
            write(TODAY - timedelta(days=1), TODAY, clock.now())  # yesterday and today polled again
        t0 = time.perf_counter()
        evaluate(state, daemon, WorkCalendar(), clock, None, None, tests_kept)
        evals.append(time.perf_counter() - t0)
    state.close()
    store.close()
    for mine, theirs in zip(got_store, got_stand_in, strict=True):  # the stand-in reads what the store reads
        assert mine.keys() == theirs.keys() and all(mine[k][0] == theirs[k][0] for k in mine)
    assert got_cold == got_store and got_hour == got_store and got_day == got_fresh  # kept: what a fresh read gives
    figures = sum(1 for part in got_store for qty, _lines in part.values() for q in qty if q)
    return {"store_reads_s": took_store, "stand_in_reads_s": took_stand_in, "kept_first_s": took_cold,
            "kept_next_hour_s": took_hour, "kept_after_midnight_s": took_day, "kept_days_read": days_read,
            "kept_mb": kept_mb, "figures": figures, "daemon_evaluate_s": evals}


def main() -> None:
    calendar = WorkCalendar()
    t0 = time.perf_counter()
    inputs = build(random.Random(7), calendar)
    print(f"built {PRODUCTS} products, {len(inputs.item_links())} items, {DEPTS} departments, "
          f"{len(inputs.days)} days in {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/state.db", "BENCH")
        clock = FakeClock(datetime(2026, 10, 31, 12))
        evaluate(store, inputs, calendar, clock, None)  # warm: first findings inserted
        evals = []
        for _ in range(RUNS):  # the next evaluations, an hour apart, every group tested afresh
            clock.advance(timedelta(hours=1))
            t0 = time.perf_counter()
            found = evaluate(store, inputs, calendar, clock, None)
            evals.append(time.perf_counter() - t0)
        # as the daemon runs them: its rise tests kept (agent.domain.kept_tests); the first computes every
        # group, the next ones, an hour apart with nothing rewritten, none
        kept, daemon = KeptTests(), []
        for _ in range(RUNS + 1):
            clock.advance(timedelta(hours=1))
            t0 = time.perf_counter()
            got = evaluate(store, inputs, calendar, clock, None, None, kept)
            daemon.append(time.perf_counter() - t0)
            assert got == evaluate(store, inputs, calendar, clock, None)  # what every group tested afresh finds
        store.close()
    naives = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        naive(inputs, TODAY)
        naives.append(time.perf_counter() - t0)
    t_eval, t_naive = statistics.median(evals), statistics.median(naives)
    reads = None
    if os.environ.get("BENCH_STORE") == "1":
        with tempfile.TemporaryDirectory() as tmp:
            reads = store_reads(inputs, tmp)
        print(f"rise detection's reads, {reads['figures']:,} figures by department: from a SQLite store "
              f"{reads['store_reads_s']:.2f} s, from the stand-in {reads['stand_in_reads_s']:.2f} s; as the daemon keeps "
              f"them: first evaluation {reads['kept_first_s']:.2f} s, an hour later {reads['kept_next_hour_s']:.2f} s, "
              f"after midnight {reads['kept_after_midnight_s']:.2f} s ({reads['kept_days_read']} days read again over the three; "
              f"{reads['kept_mb']:.0f} MB kept)")
        print("whole evaluations as the daemon runs them, usage from the SQLite store: first "
              + ", an hour later ".join(f"{t:.2f} s" for t in reads["daemon_evaluate_s"][:3])
              + f", after midnight {reads['daemon_evaluate_s'][3]:.2f} s")
    rules: dict[str, int] = {}
    for f in found:
        rules[f.rule] = rules.get(f.rule, 0) + 1
    print(f"findings: {rules}")
    print(f"evaluate {t_eval:.2f} s (all rules, store writes; median of {', '.join(f'{t:.2f}' for t in evals)}); "
          f"naive row scan for progress alone {t_naive:.2f} s (median of {', '.join(f'{t:.2f}' for t in naives)}); "
          f"ratio naive/evaluate {t_naive / t_eval:.1f}x")
    t_daemon = statistics.median(daemon[1:])
    print(f"as the daemon runs it, its rise tests kept: first {daemon[0]:.2f} s (every group computed), then "
          f"{t_daemon:.2f} s (median of {', '.join(f'{t:.2f}' for t in daemon[1:])}; nothing rewritten)")
    print(json.dumps({"products": PRODUCTS, "items": len(inputs.item_links()), "departments": DEPTS, "days": 730,
                      "evaluate_s": round(t_eval, 3), "evaluate_runs_s": [round(t, 3) for t in evals], "naive_progress_only_s": round(t_naive, 3),
                      "naive_over_evaluate": round(t_naive / t_eval, 2),
                      "daemon_first_s": round(daemon[0], 3), "daemon_next_s": round(t_daemon, 3),
                      **({k: [round(x, 3) for x in v] if isinstance(v, list) else round(v, 3) for k, v in reads.items()}
                         if reads else {})}))


if __name__ == "__main__":
    main()
