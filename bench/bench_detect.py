"""Non-winning rise detection on synthetic usage with seasonal drift: detection of planted rises
of four shapes, and false alarms on the same hospital with no rise. Evaluated daily, as the job runs.

Shapes: ``group``, +50% of a group's non-winning use carried by 1-2 of its departments;
``dept_x2`` and ``dept_x3``, one non-winning product x2 or x3 in one department where that product
is at most a third of the department's non-winning use of the group and the department at most a
quarter of the group's (the group moves by at most about +17% / +33%); ``prescriber``, one
prescriber's use of a product x3, that use at most a third of the department's.

Planted cell sizes (the lead's decision on issue #16). The issue's scenario is a product at about
100 units a week tripling; a cell of 10 dispensings a week doubling cannot be told from noise in 7
days by any statistic: ``oracle_ceiling_within_7_days`` (a test that knows the cell's rate
exactly, at the same false-alarm budget; see :func:`ceilings`) is about 0.2 there. So the headline
figures are for cells an oracle sees (ceiling >= 0.95): at least ``MIN_WEEKLY`` dispensings a week
before the rise, 50 for x2, 20 for x3 and a prescriber x3, 100 for a group's non-winning total
(+50%). Such concentrated cells need large groups: the hospital has, besides its 200 ordinary
groups (8-80 non-winning dispensings a working day), 40 large ones (120-360, 6-10 departments, see
:func:`synth.make_hospital`); the null run is on the same 240 groups. The small cells (10 up to
``MIN_WEEKLY``) are planted too and reported apart, under ``small_cells``, with their own
detected share and oracle ceiling: nothing is hidden.

The oracle is per planting: its ceiling is computed on the expected count of the planted cell over
the actual 7 days from the rise's start, as synth shapes them (weekday, weekend and holiday levels,
the group's seasonal level on those dates), so a rise starting on the first day of 春节 or 国庆, whose
week carries about a quarter of a normal week's dispensings, gets the low ceiling it has.
``oracle_ceiling_within_7_days`` is the mean of these per shape; ``oracle_ceiling_normal_week``
the mean of the same oracle given a normal week at the yearly mean level (``WEEK_DAYS``, what
this figure was before: it overstated what any statistic could see of a rise in a holiday).

The last line is one JSON object: per shape the share detected within 7 days
(``detected_share``, over all plantings) and, beside it, ``detected_share_seen``, the share
detected among plantings whose own oracle ceiling is at least ``SEEN`` (0.95), with ``unseen``
listing the others (their number, start dates, ceilings and whether they were detected all the
same); ``oracle_ceiling_overdispersed``, the same per-planting oracle on synth's own negative
binomial days (variance mu + mu^2 / ``synth.K`` per cell and day: what the data really carry, the
Poisson oracle is optimistic), with ``seen_overdispersed`` plantings at or above ``SEEN`` there and
``detected_share_seen_overdispersed`` the share detected among them, ``oracle_expected_detected_overdispersed``
the number of plantings that oracle expects to detect (the sum of its ceilings) and
``oracle_odds_of_target_overdispersed`` the probability that it detects at least ``TARGET`` (0.9) of them
(Poisson-binomial over its ceilings: what a target on this many plantings asks even of an oracle);
the median days to detect, and false alarms (alerts of every kind, one per episode) per
100 group-weeks of the null run. Lines before it name each planting missed within 7 days, with
its ceiling and the weight of its 7 days. ``BENCH_SEED`` picks the synthetic hospital, ``BENCH_LARGE`` the number of large groups,
``SYNTH_PACKS=product`` gives each rival product of a group its own box (7, 14, 28 or by the unit, as
real rivals come; default ``group``: one box for the group, the bench as it was; both modes simulate
the same hospital and the same dispensings, only the boxes differ), ``SYNTH_SPLIT`` the share of
dispensings split from their box (拆零, 1 to box - 1 units; default 0),
``SYNTH_LINES=0`` withholds the dispensings (the source lines every HIS preset counts beside the units,
which detection takes each product's box from; without them the box is the lattice of its days),
``DETECT_RULES`` (JSON) overrides ``DetectRules`` fields, ``SCAN_CELLS=0`` tests the group totals
alone.
"""

from __future__ import annotations

import json
import math
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth
from synth import Hospital, day_level, make_hospital, simulate

from agent.calendar import WorkCalendar
from agent.domain.detect import Cell, DetectRules, GroupSeries, RiseTest, day_classes, detect_rises
from agent.domain.stats import nbinom_sf, poisson_sf

GROUPS = int(os.environ.get("BENCH_GROUPS", "200"))
SEED = int(os.environ.get("BENCH_SEED", "20251"))  # tuned on 20251; validate on another seed
START = date(2024, 9, 1)
EVAL_FROM, EVAL_TO = date(2025, 1, 6), date(2025, 12, 28)  # Spring Festival, Qingming, May Day, National Day inside
HORIZON = 28
SCAN_CELLS = os.environ.get("SCAN_CELLS", "1") == "1"
LINES = os.environ.get("SYNTH_LINES", "1") == "1"  # the store gives each cell's source lines (dispensings) beside its units
SHAPES = ("group", "dept_x2", "dept_x3", "prescriber")
LARGE = int(os.environ.get("BENCH_LARGE", "40"))  # large groups besides the GROUPS ordinary ones
MIN_WEEKLY = {"group": 100.0, "dept_x2": 50.0, "dept_x3": 20.0, "prescriber": 20.0}  # dispensings a week a planted cell had
# before its rise, at least: the oracle ceiling is >= 0.95 from there
SMALL_WEEKLY = 10.0  # ... and the small cells, from this to MIN_WEEKLY
PER_SHAPE = {"group": GROUPS // 8, "large": 15, "small": 10}  # planted groups per shape and size (group:
# GROUPS // 8 large, "small" small)
WEEK_DAYS = 5 * 1.03 + 2 * 0.35  # a week's days at the synthetic weekday and weekend levels
SEEN = 0.95  # a planting whose own oracle ceiling is at least this is one a statistic can see
TARGET = 0.9  # issue #16's detected share per shape (``oracle_odds_of_target_overdispersed``)


def series_of(units: dict, start: date, days: int) -> dict[str, GroupSeries]:
    out: dict[str, GroupSeries] = {}
    for (gid, _dept, item, _doc), values in units.items():
        s = out.setdefault(gid, GroupSeries(gid, start, [0.0] * days, [0.0] * days))
        rival = "-N" in item
        for i, v in enumerate(values):
            if v:
                s.total[i] += v
                if rival:
                    s.non_winning[i] += v
    return out


def cells_of(units: dict, days: int, fine_only: bool = False) -> dict[Cell, list[float]]:
    """Every product, department, product x department and product x prescriber cell (``fine_only``:
    not the departments, the cells whose lines the store gives)."""
    out: dict[Cell, list[float]] = {}
    for (gid, dept, item, doc), values in units.items():
        if "-N" not in item:
            continue
        keys = [Cell(gid, "", item), Cell(gid, dept, item)] + ([] if fine_only else [Cell(gid, dept)])
        for key in keys + ([Cell(gid, "", item, doc)] if doc else []):
            y = out.setdefault(key, [0.0] * days)
            for i, v in enumerate(values):
                if v:
                    y[i] += v
    return out


def run(units: dict, calendar: WorkCalendar, rules: DetectRules, days: int,  # type: ignore[no-untyped-def]
        lines: dict | None = None):
    """Evaluate every day of [EVAL_FROM, EVAL_TO]; yield (day, tests)."""
    series = series_of(units, START, days)
    cells = cells_of(units, days) if SCAN_CELLS else None
    counts = cells_of(lines, days, fine_only=True) if SCAN_CELLS and lines else None
    classes = day_classes(calendar, START, days)
    history: dict[str, list[bool]] = {}
    day = EVAL_FROM
    while day <= EVAL_TO:
        tests = detect_rises(series, calendar, day, rules, history, classes, cells, lines=counts)
        for t in tests:
            history.setdefault(t.group_id, []).append(t.flagged_now)
            del history[t.group_id][:-2]
        yield day, tests
        day += timedelta(days=1)


def alarm_episodes(stream) -> tuple[dict[str, list[tuple[date, RiseTest]]], float]:  # type: ignore[no-untyped-def]
    """Per group, the days an alert starts (it was not on the day before) and its test; and the
    seconds spent."""
    t0 = time.perf_counter()
    on: dict[str, bool] = {}
    starts: dict[str, list[tuple[date, RiseTest]]] = {}
    for day, tests in stream:
        for t in tests:
            if t.alert and not on.get(t.group_id):
                starts.setdefault(t.group_id, []).append((day, t))
            on[t.group_id] = t.alert
    return starts, time.perf_counter() - t0


def concentrated_cells(hospital: Hospital, low: float, high: float = float("inf")
                       ) -> dict[str, list[tuple[str, str, str]]]:
    """Per group, its (department, product, "") cells where the product is at most a third of the
    department's non-winning use of the group and the department at most a quarter of the group's,
    and (department, product, prescriber) cells where the prescriber's use of the product is at
    most a third of the department's; each using from ``low`` to below ``high`` dispensings a week
    before the rise (the issue's quiet department used about 100 tablets a week: 14 boxes of 7)."""
    rate: dict[tuple[str, ...], float] = {}
    for c in hospital.cells:
        if not c.winning:
            for key in ((c.group,), (c.group, c.dept), (c.group, c.dept, c.item), (c.group, c.dept, c.item, c.prescriber)):
                rate[key] = rate.get(key, 0.0) + c.rate
    out: dict[str, list[tuple[str, str, str]]] = {}
    for key, r in sorted(rate.items()):
        if len(key) < 3 or not low <= r * WEEK_DAYS < high:
            continue
        gid, dept, item = key[:3]
        if r <= rate[(gid, dept)] / 3 and rate[(gid, dept)] <= rate[(gid,)] / 4:
            out.setdefault(gid, []).append((dept, item, key[3] if len(key) == 4 else ""))
    return out


Planted = dict[str, tuple[str, str, int, tuple[str, ...]]]  # group -> (shape, size, first day, where)


def plant(hospital: Hospital, rng: random.Random) -> tuple[Planted, dict, dict]:
    """The planted rises: group -> (shape, size, first day, where), size ``large`` (the planted
    cell used at least ``MIN_WEEKLY`` of its shape) or ``small``, and the ``rises`` and
    ``cell_rises`` :func:`synth.simulate` takes. The most constrained shapes pick their groups
    first; +50% group rises go to the ordinary groups (not the large ones), as before those existed."""
    first_possible, last_possible = (EVAL_FROM - START).days + 7, (EVAL_TO - START).days - HORIZON
    planted: Planted = {}
    rises, cell_rises = {}, {}
    order = [("large", "dept_x2"), ("large", "prescriber"), ("large", "dept_x3"),
             ("small", "prescriber"), ("small", "dept_x2"), ("small", "dept_x3")]
    for size, shape in order:
        low, high = (MIN_WEEKLY[shape], float("inf")) if size == "large" else (SMALL_WEEKLY, MIN_WEEKLY[shape])
        doc_wanted = shape == "prescriber"
        candidates = {g: [k for k in cs if bool(k[2]) == doc_wanted]
                      for g, cs in concentrated_cells(hospital, low, high).items() if g not in planted}
        groups = sorted(g for g, ks in candidates.items() if ks)
        rng.shuffle(groups)
        for gid in groups[:PER_SHAPE[size]]:
            dept, item, doc = rng.choice(candidates[gid])
            first = rng.randint(first_possible, last_possible)
            cell_rises[(gid, dept, item, doc)] = (first, 2.0 if shape == "dept_x2" else 3.0)
            planted[gid] = (shape, size, first, (dept, item, doc))
    weekly: dict[str, float] = {}
    for c in hospital.cells:
        if not c.winning:
            weekly[c.group] = weekly.get(c.group, 0.0) + c.rate * WEEK_DAYS
    rest = sorted(g for g in hospital.depts_of_rivals if g not in planted and int(g[1:]) < GROUPS)
    for size, n in (("large", PER_SHAPE["group"]), ("small", PER_SHAPE["small"])):
        pool = [g for g in rest if (weekly[g] >= MIN_WEEKLY["group"]) == (size == "large")]
        for gid in rng.sample(pool, min(n, len(pool))):
            depts = set(rng.sample(hospital.depts_of_rivals[gid], rng.randint(1, 2)))
            first = rng.randint(first_possible, last_possible)
            rises[gid] = (first, depts, 0.5)
            planted[gid] = ("group", size, first, tuple(sorted(depts)))
    return planted, rises, cell_rises


def day_weights(hospital: Hospital, calendar: WorkCalendar, gid: str, first: int) -> list[float]:
    """The planted group's level on each of the 7 days from day index ``first``, as
    :func:`synth.simulate` shapes them: the day's weekday, weekend or holiday level times the
    group's seasonal drift on that day."""
    amp, phase = hospital.season.get(gid, (0.0, 0.0))
    return [day_level(calendar, START + timedelta(days=i)) * (1.0 + amp * math.sin(2 * math.pi * (i + phase) / 365.0))
            for i in range(first, first + 7)]


def planted_days(hospital: Hospital, calendar: WorkCalendar, gid: str, first: int) -> float:
    """The weight of those 7 days: a normal week at the yearly mean is ``WEEK_DAYS``; a week of
    春节 or 国庆 rest days about a quarter of it."""
    return sum(day_weights(hospital, calendar, gid, first))


def ceilings(hospital: Hospital, planted: Planted, calendar: WorkCalendar | None = None,
             overdispersed: bool = False) -> dict[str, float]:
    """Per planted group, the probability an oracle finds its rise within 7 days at the
    false-alarm target: it knows every cell's rate exactly and the shape of the 7 days from the
    rise's start (weekdays, weekend, holidays, the group's seasonal level on those dates: the
    expected count :func:`synth.simulate` draws around; no baseline to estimate, Poisson
    dispensings without day-to-day overdispersion), looks once, when the rise has filled those 7
    days, and spends the whole target (0.3 alarms per 100 group-weeks) on the cells of the planted
    group, one look a week each. For a concentrated shape it watches the planted cell, the group's
    most concentrated view of the rise; for ``group`` the best of the group's total and the
    departments carrying the rise. So no detector does materially better: a planting whose ceiling
    is short of 0.95 is out of reach for any statistic. Without ``calendar`` every planting gets a
    normal week (``WEEK_DAYS``) at the yearly mean level, as this oracle did before (#16).
    ``overdispersed`` (with ``calendar``): the same oracle, but the dispensings are synth's own,
    negative binomial day by day (variance mu + mu^2 / ``synth.K`` per cell and day, the rise's
    extra a draw of its own): what the data really carry, so a lower ceiling."""
    rate: dict[tuple[str, ...], float] = {}
    square: dict[tuple[str, ...], float] = {}  # sum of the squared rates of the synthetic cells under a key
    cells_of_group: dict[str, set[tuple[str, ...]]] = {}
    for c in hospital.cells:
        if c.winning:
            continue
        keys = ((c.group,), (c.group, "", c.item), (c.group, c.dept), (c.group, c.dept, c.item), (c.group, "", c.item, c.prescriber))
        for key in keys:
            rate[key] = rate.get(key, 0.0) + c.rate
            square[key] = square.get(key, 0.0) + c.rate * c.rate
            cells_of_group.setdefault(c.group, set()).add(key)

    def power(lam: float, factor: float, alpha: float) -> float:
        k = int(lam)
        while poisson_sf(k, lam) > alpha:
            k += 1
        return poisson_sf(k, factor * lam)

    def nb_power(null: tuple[float, float], risen: tuple[float, float], alpha: float) -> float:
        k = int(null[0])
        while nbinom_sf(k, *null) > alpha:
            k += 1
        return nbinom_sf(k, *risen)

    out: dict[str, float] = {}
    for gid, (shape, _sz, first, where) in planted.items():
        weights = day_weights(hospital, calendar, gid, first) if calendar else []
        week = sum(weights) if calendar else WEEK_DAYS
        week2 = sum(w * w for w in weights) / synth.K  # the quadratic term's days
        alpha = 0.003 / len(cells_of_group[gid])  # per cell and week
        if shape == "group":
            carried = sum(rate[(gid, d)] for d in where)
            more = 0.5 * rate[(gid,)] / carried
            if overdispersed:
                views = [((gid,), carried, sum(square[(gid, d)] for d in where))] + [((gid, d), rate[(gid, d)], square[(gid, d)]) for d in where]
                out[gid] = max(nb_power((rate[k] * week, rate[k] * week + square[k] * week2),
                                        (rate[k] * week + more * c * week,
                                         rate[k] * week + square[k] * week2 + more * c * week + more * more * q * week2), alpha)
                               for k, c, q in views)
                continue
            options = [(rate[(gid,)], 1.5)] + [(rate[(gid, d)], 1.0 + more) for d in where]
            out[gid] = max(power(r * week, f, alpha) for r, f in options)
            continue
        dept, item, doc = where
        key = (gid, "", item, doc) if doc else (gid, dept, item)
        factor = 2.0 if shape == "dept_x2" else 3.0
        if overdispersed:
            lam, quad = rate[key] * week, square[key] * week2
            out[gid] = nb_power((lam, lam + quad), (factor * lam, factor * lam + (1 + (factor - 1) ** 2) * quad), alpha)
        else:
            out[gid] = power(rate[key] * week, factor, alpha)
    return out


def main() -> None:
    calendar = WorkCalendar()
    rules = DetectRules(**json.loads(os.environ.get("DETECT_RULES", "{}")))
    rng = random.Random(SEED)
    days = (EVAL_TO - START).days + 1
    hospital = make_hospital(rng, GROUPS, prescribers=True, large=LARGE)
    n_groups = GROUPS + LARGE
    weeks = ((EVAL_TO - EVAL_FROM).days + 1) / 7

    null_lines: dict | None = {} if LINES else None
    null_units = simulate(random.Random(SEED + 1), hospital, calendar, START, days, lines=null_lines)
    null_starts, t_null = alarm_episodes(run(null_units, calendar, rules, days, null_lines))
    false_alarms = sum(len(v) for v in null_starts.values())

    planted, rises, cell_rises = plant(hospital, rng)
    lines: dict | None = {} if LINES else None
    units = simulate(random.Random(SEED + 2), hospital, calendar, START, days, rises, cell_rises, lines)
    starts, t_planted = alarm_episodes(run(units, calendar, rules, days, lines))

    delays: dict[tuple[str, str], list[int]] = {}
    counts: dict[tuple[str, str], int] = {}
    located: dict[tuple[str, str], int] = {}
    found_in_7: dict[str, int | None] = {}  # planted group -> days to detect, None if not within 7
    for gid, (shape, size, first, where) in planted.items():
        key = (shape, size)
        counts[key] = counts.get(key, 0) + 1
        rise_day = START + timedelta(days=first)
        hits = [(d, t) for d, t in starts.get(gid, []) if rise_day <= d < rise_day + timedelta(days=HORIZON)]
        if not hits:
            continue
        day, test = hits[0]
        delays.setdefault(key, []).append((day - rise_day).days + 1)
        found_in_7[gid] = (day - rise_day).days + 1 if (day - rise_day).days < 7 else None
        top = test.cells[0].cell if test.cells else None
        if shape == "group":
            hit = bool(top) and (top.dept in where or not top.dept)
        elif shape == "prescriber":
            hit = bool(top) and (top.prescriber == where[2] or (top.dept, top.product) == where[:2] or top.product == where[1])
        else:
            hit = bool(top) and top.dept == where[0] and top.product in ("", where[1])
        located[key] = located.get(key, 0) + hit

    seen_by_oracle = ceilings(hospital, planted, calendar)
    normal_week = ceilings(hospital, planted)
    overdispersed = ceilings(hospital, planted, calendar, overdispersed=True)

    def figures(size: str, shapes: tuple[str, ...]) -> dict:  # type: ignore[type-arg]
        def of(shape: str) -> list[str]:
            return sorted(g for g, p in planted.items() if p[:2] == (shape, size))

        def mean(values: dict[str, float], shape: str) -> float | None:
            v = [values[g] for g in of(shape)]
            return round(sum(v) / len(v), 3) if v else None

        def share_seen(shape: str, oracle: dict[str, float]) -> float | None:
            seen = [g for g in of(shape) if oracle[g] >= SEEN]
            return round(sum(found_in_7.get(g) is not None for g in seen) / len(seen), 3) if seen else None

        def unseen(shape: str) -> dict[str, list[object] | int]:
            out = sorted((str(START + timedelta(days=planted[g][2])), round(seen_by_oracle[g], 3), found_in_7.get(g) is not None)
                         for g in of(shape) if seen_by_oracle[g] < SEEN)
            return {"n": len(out), "starts": [d for d, _, _ in out], "ceilings": [c for _, c, _ in out],
                    "detected": [f for _, _, f in out]}

        def odds(shape: str) -> float | None:
            """The probability that the overdispersed oracle itself, planting by planting, detects at
            least ``TARGET`` of the plantings (Poisson-binomial over its per-planting ceilings)."""
            gs = of(shape)
            if not gs:
                return None
            dist = [1.0]
            for g in gs:
                p = overdispersed[g]
                dist = [a * (1 - p) + b * p for a, b in zip([*dist, 0.0], [0.0, *dist], strict=True)]
            return round(sum(dist[math.ceil(TARGET * len(gs) - 1e-9):]), 3)

        def share(shape: str, horizon: int) -> float | None:
            n = counts.get((shape, size), 0)
            return round(sum(d <= horizon for d in delays.get((shape, size), [])) / n, 3) if n else None

        def median(shape: str) -> float | None:
            d = delays.get((shape, size))
            return statistics.median(d) if d else None

        def named(shape: str) -> float | None:
            d = delays.get((shape, size))
            return round(located.get((shape, size), 0) / len(d), 3) if d else None

        return {
            "planted": {s: counts.get((s, size), 0) for s in shapes},
            "detected_share": {s: share(s, 7) for s in shapes},
            "detected_share_seen": {s: share_seen(s, seen_by_oracle) for s in shapes},
            "unseen": {s: unseen(s) for s in shapes},
            "oracle_ceiling_within_7_days": {s: mean(seen_by_oracle, s) for s in shapes},
            "oracle_ceiling_normal_week": {s: mean(normal_week, s) for s in shapes},
            "oracle_ceiling_overdispersed": {s: mean(overdispersed, s) for s in shapes},
            "detected_share_seen_overdispersed": {s: share_seen(s, overdispersed) for s in shapes},
            "oracle_expected_detected_overdispersed": {s: round(sum(overdispersed[g] for g in of(s)), 2) if of(s) else None
                                                       for s in shapes},
            "oracle_odds_of_target_overdispersed": {s: odds(s) for s in shapes},
            "seen_overdispersed": {s: sum(overdispersed[g] >= SEEN for g in of(s)) for s in shapes},
            "detected_within_28_days_share": {s: share(s, HORIZON) for s in shapes},
            "median_days_to_detect": {s: median(s) for s in shapes},
            "carrying_cell_named_share": {s: named(s) for s in shapes},
        }

    result = {
        "groups": n_groups,
        "large_groups": LARGE,
        "seed": SEED,
        "weeks": round(weeks, 1),
        "min_weekly_dispensings": MIN_WEEKLY,
        **figures("large", SHAPES),
        "false_alarms_per_100_group_weeks": round(100 * false_alarms / (n_groups * weeks), 3),
        "false_alarms": false_alarms,
        "small_cells": {"min_weekly_dispensings": SMALL_WEEKLY, **figures("small", SHAPES)},
        "evaluations": int(weeks * 7) * 2,
        "seconds_per_evaluation_of_all_groups": round((t_null + t_planted) / (int(weeks * 7) * 2), 4),
    }
    print(f"null run: {false_alarms} alarm episodes over {n_groups} groups x {weeks:.1f} weeks")
    for gid, days_ in null_starts.items():
        for d, t in days_:
            print(f"  false alarm {gid} {d}: {[(c.cell, round(c.observed), round(c.expected, 1), c.window_days) for c in t.cells[:2]]}")
    for (shape, size), n in sorted(counts.items()):
        print(f"{shape} {size}: {len(delays.get((shape, size), []))}/{n} detected within {HORIZON} days; "
              f"delays {sorted(delays.get((shape, size), []))}")
    for gid, (shape, size, first, where) in sorted(planted.items(), key=lambda kv: kv[1][:3]):
        if found_in_7.get(gid) is None:
            rise_day = START + timedelta(days=first)
            print(f"  missed within 7 days: {shape} {size} {gid} {where} from {rise_day} ({rise_day:%a}), "
                  f"oracle ceiling {seen_by_oracle[gid]:.3f} (normal week {normal_week[gid]:.3f}, "
                  f"overdispersed {overdispersed[gid]:.3f}), "
                  f"day shape {planted_days(hospital, calendar, gid, first):.2f} of {WEEK_DAYS:.2f}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
