"""The conditional share test (opt-in, ``DetectRules(share_test=True)``) and the dispersion pooled per
kind of cell, on hand-made series: a cell read against the rest of its group cancels what moves the
whole group (season, weekday, holiday); a tripled quiet department inside a busy group is still
found; a busy department's ordinary weeks and a quiet holiday week are not rises."""

from __future__ import annotations

import random
from datetime import date, timedelta

from agent.domain.detect import Cell, DetectRules, GroupSeries, day_classes, detect_rises, weekday_profile
from agent.domain.rise_cells import dispersion as fit_dispersion
from agent.domain.rise_cells import fit_sums, make_frame, parent_of, quadratic_given_pack, share_part
from agent.domain.rise_cells import test_cell as cell_test
from tests.unit.test_monitor_cells import Weekends, nbinom
from tests.unit.test_monitor_cells import hospital as cells_hospital

START = date(2026, 1, 5)  # a Monday
DAYS = 91
END = START + timedelta(days=DAYS - 1)
SHARE = DetectRules(share_test=True)


def hospital(seed: int, rise: float = 1.0, surge: float = 1.0, groups: int = 40, quiet: float = 2.0,
             cal: Weekends = Weekends()) -> tuple[dict[str, GroupSeries], dict[Cell, list[float]]]:
    """``groups`` groups of a busy department (0101: rival A 20 boxes of 7 a working day, the winning
    product 60) and a quiet one (0301: A ``quiet`` boxes, winning 10); rest days at 0.3. Over the last week
    every stream of every group is multiplied by ``surge`` (an epidemic: not a rise of anyone's
    share), and G0's A in 0301 by ``rise`` besides."""
    rng = random.Random(seed)
    series: dict[str, GroupSeries] = {}
    cells: dict[Cell, list[float]] = {}
    for g in range(groups):
        gid = f"G{g}"
        s = series[gid] = GroupSeries(gid, START, [0.0] * DAYS, [0.0] * DAYS)
        for dept, item, rate in (("0101", "A", 20.0), ("0101", "W", 60.0), ("0301", "A", quiet), ("0301", "W", 10.0)):
            y = [0.0] * DAYS
            for i in range(DAYS):
                last_week = i >= DAYS - 7
                level = (1.0 if cal.is_workday(START + timedelta(days=i)) else 0.3) * (surge if last_week else 1.0)
                boost = rise if last_week and (gid, dept, item) == ("G0", "0301", "A") else 1.0
                y[i] = 7.0 * nbinom(rng, rate * level * boost)
                s.total[i] += y[i]
                if item != "W":
                    s.non_winning[i] += y[i]
            if item != "W":
                cells[Cell(gid, dept, gid + item)] = y
                cells[Cell(gid, dept)] = y
    return series, cells


def test_a_cells_share_follows_a_surge_of_its_whole_group_where_its_rate_does_not() -> None:
    # the quiet department's A doubles with everything else in its group: against its own level
    # that is x2, against the rest of its group it is its usual share
    series, cells = hospital(1, surge=2.0, groups=1)
    classes = day_classes(Weekends(), START, DAYS)
    end_i = DAYS - 1
    profile = weekday_profile(series.values(), classes, end_i - 6 - 84, end_i - 6)
    rules = DetectRules()
    fr = make_frame(classes, profile, end_i, rules, [7])
    total = series["G0"].total
    parent = parent_of(total, fr, fit_dispersion([fit_sums(total, fr)]))
    y = cells[Cell("G0", "0301", "G0A")]
    lvl = y[fr.l0:fr.b1]
    work = sum(v for v, w in zip(lvl, fr.level_mask, strict=True) if w)
    rates = (work / fr.f_level[0], (sum(lvl) - work) / fr.f_level[1])
    part = share_part(y, fr, parent, rates)
    assert part is not None
    (_w, observed, expected, _rest), = part[3]
    assert 0.75 < observed / expected < 1.33
    rate_expected = rates[0] * fr.windows[0][2][0] + rates[1] * fr.windows[0][2][1]
    assert observed / rate_expected > 1.5


def test_a_tripled_quiet_department_in_a_busy_group_is_found_with_the_share_test_on() -> None:
    series, cells = cells_hospital(3, rise=3.0)  # seed 3: see test_monitor_cells
    tests = {t.group_id: t for t in detect_rises(series, Weekends(), END, SHARE, cells=cells)}
    g0 = tests["G0"]
    assert g0.flagged_now and g0.cells[0].cell in (Cell("G0", "0301", "G0A"), Cell("G0", "0301"))
    assert 2.0 < g0.cells[0].factor < 4.5
    assert [g for g, t in tests.items() if t.flagged_now] == ["G0"]


def test_the_share_test_alone_finds_the_tripled_cell_and_not_its_busy_neighbour() -> None:
    series, cells = hospital(3, rise=3.0, groups=1, quiet=4.0)
    classes = day_classes(Weekends(), START, DAYS)
    end_i = DAYS - 1
    profile = weekday_profile(series.values(), classes, end_i - 6 - 84, end_i - 6)
    fr = make_frame(classes, profile, end_i, DetectRules(), [7, 5, 3])
    total = series["G0"].total
    parent = parent_of(total, fr, fit_dispersion([fit_sums(total, fr)]))
    p = {}
    for cell in (Cell("G0", "0301", "G0A"), Cell("G0", "0101", "G0A")):
        y = cells[cell]
        lvl = y[fr.l0:fr.b1]
        work = sum(v for v, w in zip(lvl, fr.level_mask, strict=True) if w)
        rates = (work / fr.f_level[0], (sum(lvl) - work) / fr.f_level[1])
        part = share_part(y, fr, parent, rates)
        assert part is not None
        p[cell.dept] = cell_test(cell, [], [(7.0, 0.1)], DetectRules(), 10.0, [part]).p_value  # boxes of 7, k = 10
    assert p["0301"] < 1e-5
    assert p["0101"] > 0.01


def test_a_busy_departments_ordinary_weeks_raise_nothing_with_the_share_test_on() -> None:
    series, cells = cells_hospital(2, rise=1.0)
    history: dict[str, list[bool]] = {}
    alerts = []
    for back in range(28, -1, -1):
        for t in detect_rises(series, Weekends(), END - timedelta(days=back), SHARE, history=history, cells=cells):
            history.setdefault(t.group_id, []).append(t.flagged_now)
            if t.alert:
                alerts.append((t.group_id, t.cells[0].cell))
    assert alerts == []


def test_a_quiet_holiday_week_of_three_to_five_prescriptions_a_day_raises_nothing_by_its_share() -> None:
    holidays = frozenset(END - timedelta(days=d) for d in range(7))  # the whole last week: 国庆
    cal = Weekends(holidays)
    rng = random.Random(5)
    series: dict[str, GroupSeries] = {}
    cells: dict[Cell, list[float]] = {}
    for g in range(200):
        gid = f"G{g}"
        rate = rng.uniform(3, 5)  # non-winning prescriptions a working day, each a box of 28, over two departments
        s = series[gid] = GroupSeries(gid, START, [0.0] * DAYS, [0.0] * DAYS)
        for dept in ("0101", "0301"):
            y = [28.0 * nbinom(rng, rate / 2 * (1.0 if cal.is_workday(START + timedelta(days=i)) else 0.35))
                 for i in range(DAYS)]
            won = [28.0 * nbinom(rng, rate * (1.0 if cal.is_workday(START + timedelta(days=i)) else 0.35))
                   for i in range(DAYS)]
            cells[Cell(gid, dept)] = y
            for i in range(DAYS):
                s.non_winning[i] += y[i]
                s.total[i] += y[i] + won[i]
    history: dict[str, list[bool]] = {}
    alerts = 0
    for back in range(6, -1, -1):
        for t in detect_rises(series, cal, END - timedelta(days=back), SHARE, history=history, cells=cells):
            history.setdefault(t.group_id, []).append(t.flagged_now)
            alerts += t.alert
    assert alerts == 0


def test_a_cells_own_fit_keeps_its_groups_pack_term() -> None:
    # boxes of 14 at about 3 a day: fitted freely, six weeks of lumpy boxes can read as a small
    # pack term and a large quadratic one; with the group's pack term given, b stays small
    rng = random.Random(6)
    y = [14.0 * nbinom(rng, 3.0, k=1000.0) for _ in range(DAYS)]
    classes = day_classes(Weekends(), START, DAYS)
    fr = make_frame(classes, [1.0] * 7, DAYS - 1, DetectRules(), [7])
    a, b = quadratic_given_pack(fit_sums(y, fr), 14.0)
    assert a == 14.0 and b < 0.1


def test_a_few_dispensings_against_a_level_of_a_few_more_keep_the_exact_conditional_tail() -> None:
    # a prescriber's product: a box of 14 every third working day over the level's six weeks, then
    # ten boxes in three days. Against an estimated level of a dozen boxes, the exact (binomial)
    # tail is wider than the negative binomial with the level's variance added; the wider is kept
    y = [0.0] * DAYS
    for i in range(DAYS - 3):
        if (START + timedelta(days=i)).weekday() < 5 and i % 3 == 0:
            y[i] = 14.0
    for i in range(DAYS - 3, DAYS):
        y[i] = 14.0 * 3 + (14.0 if i == DAYS - 1 else 0.0)
    classes = day_classes(Weekends(), START, DAYS)
    cell = Cell("G0", "", "A", "D017")
    ps = {}
    for exact in (False, True):
        rules = DetectRules(exact_level=exact)
        fr = make_frame(classes, [1.0] * 7, DAYS - 1, rules, [3])
        lvl = y[fr.l0:fr.b1]
        work = sum(v for v, w in zip(lvl, fr.level_mask, strict=True) if w)
        rates = (work / fr.f_level[0], (sum(lvl) - work) / fr.f_level[1])
        (w, obs, exp), = [(w, sum(y[w0:]), rates[0] * fw[0] + rates[1] * fw[1]) for w, w0, fw, _f2 in fr.windows]
        ps[exact] = cell_test(cell, [([(w, obs, exp)], fr, rates)], [(14.0, 0.0)], rules, 10.0).p_value
    assert ps[False] < ps[True] < 1e-3
