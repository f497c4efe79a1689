"""Non-winning rise detection (非中选产品使用量上升预警) per generic group, over every cell of it.

A rise is carried by a cell (:mod:`agent.domain.rise_cells`): the group's whole non-winning use,
one non-winning product, one department (科室), one product in one department, or one product of
one prescriber where the HIS gives prescribers. Every cell with baseline use is tested on every
evaluation, with no group-level screen in front: a product that triples in one quiet department
moves its group by a third at most. Each cell's last 7, 5 and 3 days (Simes; optionally also
``long_windows``, each against the level before it) are compared with what its baseline predicts
for the same kinds of day: Monday..Friday working days and adjusted working weekends (调休上班)
scaled by a weekday profile pooled over the hospital, rest days and holidays at their own rate,
the level taken from the last 6 of the 12 baseline weeks so slow seasonal drift is followed, with
an allowance for the drift since (``level_drift``, 5%: it halved the false alarms of busy cells);
a negative binomial tail on dispensings whose variance is the larger of two fits, the group's
pooled over its cells of every size and one pooled over the group's cells of the same kind (its
prescribers, its products in departments, ...) with the group's pack term (``kind_dispersion``:
a cell's own six weeks, fitted alone, put the variance in the quadratic term now and then and
cost a tripled cell two orders of magnitude of p); and a p never below the exact conditional
(binomial) tail of the window against the level span (``exact_level``).

Opt-in, ``share_test``: the conditional share test also reads each cell against the rest of its
group (the group's whole use, winning products included, less the cell), per kind of day:
expected = the cell's baseline odds to the rest x the rest in the window, so what moves the whole
group (season, weekday, holiday, an epidemic) cancels (:func:`agent.domain.rise_cells.share_part`).
For Poisson counts this is the binomial test of the cell's count given its group's total at the
baseline share; with dispensings in packs and day-to-day overdispersion its tail is the negative
binomial on dispensings with the cell's fitted variance, the noise of the rest and of the odds added.
Its windows join the rate test's in the cell's Simes combination (positively dependent tests of
one cell, so Simes stays valid), and the multiplicity procedure across cells below is unchanged.
Measured on ``make bench-detect`` (seed 20251) it found no more rises than the rate test alone
(the bench's misses are not seasonal) and cost half again the time, so it is off by default.

Multiplicity across all cells: hierarchical BH (see :func:`detect_rises`); the volume and effect
gates apply to the cell. One flagged evaluation alerts (``persistence`` 1) at a strict level
(``fdr_per_group`` 0.0005 x the groups; 0.0003 before the drift allowance): measured on
``make bench-detect``, that finds more rises sooner than 2 of 3 evaluations at a looser level,
for the same false alarms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import partial
from operator import add

from agent.domain.kept_tests import KeptTests, common_digest, group_digest
from agent.domain.monitoring_model import ItemLink
from agent.domain.rise_baseline import REST, DetectRules, baseline_span, pooled_dispersion
from agent.domain.rise_cells import (
    DEPT,
    GROUP,
    PRODUCT,
    PRODUCT_DEPT,
    PRODUCT_PRESCRIBER,
    Cell,
    CellTest,
    Fit,
    Frame,
    Part,
    box_of,
    dispersion,
    fit_sums,
    hopeless,
    in_boxes,
    lattice,
    level_rates,
    make_frame,
    own_pack,
    parent_of,
    quadratic_given_pack,
    share_part,
    test_cell,
    window_figures,
)
from agent.domain.stats import benjamini_hochberg, weighted_benjamini_hochberg, weighted_simes
from agent.domain.usage_series import UsageSeries
from agent.domain.workdays import WorkdayCalendar

__all__ = ["REST", "Cell", "CellTest", "DetectRules", "GroupSeries", "RiseTest", "build_series", "day_classes",
           "detect_rises", "pooled_dispersion", "rise_starts", "weekday_profile"]


@dataclass
class GroupSeries:
    """Daily non-winning and total usage of one group (smallest units), from ``start``."""

    group_id: str
    start: date
    non_winning: list[float]
    total: list[float]


@dataclass(frozen=True)
class RiseTest:
    group_id: str
    end: date
    observed: float  # non-winning units in the window
    expected: float  # what the baseline predicts for the same days
    effect: float  # observed / expected - 1
    p_value: float
    q_value: float
    baseline_share: float | None  # non-winning share of the group's usage
    current_share: float | None
    eligible: bool  # passes the minimum volume
    flagged_now: bool  # significant and large enough in this evaluation
    alert: bool  # persistent: flagged in enough of the last evaluations
    window_days: int = 7  # the window the figures above are for
    cells: tuple[CellTest, ...] = ()  # the cells that carry the rise, strongest first (empty when not flagged)
    group_cell: CellTest | None = None  # the group's own non-winning total, tested as a cell


def day_classes(calendar: WorkdayCalendar, start: date, n: int) -> list[int]:
    out = []
    for i in range(n):
        day = start + timedelta(days=i)
        wd = day.weekday()
        out.append((wd if wd < 5 else 5) if calendar.is_workday(day) else REST)
    return out


def build_series(series: UsageSeries, links: Mapping[str, ItemLink], start: date, end: date,
                 first: date | None = None, into: dict[str, GroupSeries] | None = None) -> dict[str, GroupSeries]:
    """Each group's daily total and non-winning units (smallest units), index 0 = ``start``, from
    its items' series (:meth:`MonitoringInputs.usage_series`, by department or not: every key of
    an item is added), index 0 = ``first`` (default ``start``; not before it); items without a
    factor are skipped. ``into``: groups' series to add to."""
    n = (end - start).days + 1
    at = (first - start).days if first is not None else 0
    out: dict[str, GroupSeries] = {} if into is None else into
    for (code, _dept, _doc), (qty, _lines) in series.items():
        link = links.get(code)
        if link is None or link.factor is None:
            continue
        s = _group_of(out, link.group_id, start, n)
        factor = link.factor
        y = [q * factor for q in qty[:n - at]]
        j = at + len(y)
        s.total[at:j] = map(add, s.total[at:j], y)
        if not link.winning:
            s.non_winning[at:j] = map(add, s.non_winning[at:j], y)
    return out


def add_products(series: dict[str, GroupSeries], cells: CellSeries, start: date, end: date) -> None:
    """Add the product cells' units (:func:`agent.domain.rise_cells.cell_series`) to their groups'
    non-winning and total series: the days of the rivals read per department need not be read
    again for the groups (the evaluation reads the rivals' daily usage before those days only)."""
    n = (end - start).days + 1
    for cell, y in cells.items():
        if cell.kind != PRODUCT:
            continue
        s = _group_of(series, cell.group_id, start, n)
        s.non_winning[:] = map(add, s.non_winning, y)
        s.total[:] = map(add, s.total, y)


def _group_of(series: dict[str, GroupSeries], gid: str, start: date, n: int) -> GroupSeries:
    """The group's series in ``series``, empty (``n`` days from ``start``) when it had none."""
    s = series.get(gid)
    if s is None:
        s = series[gid] = GroupSeries(gid, start, [0.0] * n, [0.0] * n)
    return s


SPIKE_CLIP = 4.0  # a day above this x its group's median working day counts as this much in the profile


def weekday_profile(series: Iterable[GroupSeries], classes: Sequence[int], since: int, upto: int) -> list[float]:
    """Relative level of each working-day class over days [since, upto), pooled over every
    group's total usage. Each group's days are clipped at ``SPIKE_CLIP`` x its median working
    day first: one bulk or mistyped dispensing row in one group must not reshape every other
    group's expectations."""
    sums, counts = [0.0] * 7, [0] * 7
    work = [i for i in range(since, upto) if classes[i] != REST]
    for s in series:
        total = s.total
        days = sorted(total[i] for i in work)
        cap = SPIKE_CLIP * max(days[len(days) // 2], 1.0) if days else float("inf")
        for i in range(since, upto):
            v = total[i]
            sums[classes[i]] += v if v <= cap else cap
    for i in range(since, upto):
        counts[classes[i]] += 1
    means = [sums[c] / counts[c] if counts[c] else 0.0 for c in range(7)]
    work_days = sum(counts[:6])
    overall = sum(sums[:6]) / work_days if work_days else 0.0
    profile = [means[c] / overall if overall > 0 and means[c] > 0 else 1.0 for c in range(6)]
    return profile + [1.0]


CellSeries = Mapping[Cell, Sequence[float]]  # cell -> daily non-winning units (same start as the groups)


def detect_rises(series: Mapping[str, GroupSeries], calendar: WorkdayCalendar, end: date,
                 rules: DetectRules = DetectRules(), history: Mapping[str, Sequence[bool]] | None = None,
                 classes: Sequence[int] | None = None, cells: CellSeries | None = None,
                 frozen: Mapping[str, date] | None = None, lines: CellSeries | None = None,
                 kept: KeptTests | None = None) -> list[RiseTest]:
    """One test per group for the window ending on ``end``, over every cell of the group: the
    group's own non-winning total and each of ``cells`` (its products, departments, products in
    departments, products of prescribers; from :func:`agent.domain.rise_cells.cell_series`).
    ``history`` holds each group's earlier ``flagged_now`` values, oldest first. ``lines``: the
    fine cells' daily source lines (their dispensings; see :func:`_boxes`), where the source gives them.

    Multiplicity, across every cell of the evaluation, by the hierarchical procedure of
    Benjamini and Bogomolov (2014): each group's p-value is the *weighted* Simes combination of its
    cells' p-values (Benjamini-Hochberg 1997, Genovese-Roeder-Wasserman 2006; valid for the
    positively dependent, nested cells of one group), Benjamini-Hochberg runs across groups at
    ``fdr`` (capped at ``fdr_per_group`` x the number of groups), and within each of the R selected
    groups out of G, weighted BH at level ``fdr`` x R / G names the cells that carry the rise. This
    controls the FDR over groups and the average FDR over the cells of the selected groups; it
    keeps the group (the unit an incident is raised for) as the family, so a group with 50 cells
    pays for its 50 cells and not for the hospital's 20,000; and it needs no Monte Carlo null (a
    scan statistic's thousand replicates per evaluation would not fit in seconds).
    The weights (:func:`family_weights`, ``family_shares``; opt-in, default every cell weight 1)
    give each family of cells (the group total, products, departments, products in departments,
    products of prescribers) its share of the group's weight, split over its cells. Weights are
    fixed before the data are seen, so the error control holds whatever they are; they only decide
    who pays for the many cells. On ``make bench-detect`` equal shares per family, or more for the
    products in departments, did no better than equal weights per cell at the same false alarms:
    the big cells a family share favours are the ones whose tails are too thin (see
    ``DetectRules.level_drift``).

    ``frozen`` (group id -> the day a rise still under alert began) keeps those groups' baselines
    before that day, while at least ``freeze_min_days`` of it lie inside the series: a rise that
    goes on stays a rise instead of becoming, week by week, its own baseline.

    ``kept`` (the daemon's): each group's cell tests from the last evaluation, given again where
    nothing they were computed from changed (:mod:`agent.domain.kept_tests`); the result is the same."""
    if not series:
        return []
    start = next(iter(series.values())).start
    end_i = (end - start).days
    n = end_i + 1
    classes = classes if classes is not None else day_classes(calendar, start, n)
    w0 = end_i - rules.window_days + 1
    profile = weekday_profile(series.values(), classes, max(w0 - rules.baseline_days, 0), w0)
    windows = sorted({rules.window_days, *(w for w in rules.short_windows if 0 < w < rules.window_days)}, reverse=True)
    fz = {gid: i for gid, day in (frozen or {}).items() if gid in series
          for i in [(day - start).days] if rules.freeze_min_days <= i < w0}
    longs = sorted({w for w in rules.long_windows if w > rules.window_days})
    frames: dict[tuple[int | None, int], Frame] = {}
    by_group: dict[str, list[tuple[Cell, Sequence[float]]]] = {gid: [(Cell(gid), s.non_winning)] for gid, s in series.items()}
    for cell, y in (cells or {}).items():
        if cell.group_id in by_group:
            by_group[cell.group_id].append((cell, y))
    group_tests: dict[str, list[CellTest]] = {}
    common = b""
    if kept is not None:
        kept.start()
        common = common_digest(classes, profile, start.toordinal(), end_i, rules)
    for gid, members in by_group.items():
        at = fz.get(gid)
        group_frames = []
        for span in (rules.window_days, *longs):
            fr = frames.get((at, span))
            if fr is None:
                fr = frames[(at, span)] = make_frame(classes, profile, end_i, rules,
                                                     windows if span == rules.window_days else [span], at, span)
            group_frames.append(fr)
        total = series[gid].total if rules.share_test else None
        compute = partial(_test_group, members, group_frames, rules, total, lines or {})
        group_tests[gid] = compute() if kept is None else \
            kept.tests(gid, group_digest(common, at, members, total, lines or {}), compute)
    if kept is not None:
        kept.only(by_group)
    gids = list(series)
    weights = {gid: family_weights([t.cell.kind for t in group_tests[gid]], rules.family_shares) for gid in gids}
    p_group = {gid: weighted_simes([t.p_value for t in group_tests[gid]], weights[gid]) for gid in gids}
    q = benjamini_hochberg([p_group[g] for g in gids])
    level = min(rules.fdr, rules.fdr_per_group * len(gids)) if rules.fdr_per_group > 0 else rules.fdr
    selected = sum(qv <= level for qv in q)
    history = history or {}
    out = []
    for gid, qv in zip(gids, q, strict=True):
        s = series[gid]
        tests = group_tests[gid]
        if qv <= level:
            inner = weighted_benjamini_hochberg([t.p_value for t in tests], weights[gid])
            scale = len(gids) / selected
            tests = [replace(t, q_value=min(1.0, qi * scale), flagged=qi * scale <= level)
                     for t, qi in zip(tests, inner, strict=True)]
        carrying = tuple(sorted((t for t in tests if t.flagged), key=lambda t: (t.q_value, t.p_value, SPECIFIC[t.cell.kind], t.cell)))
        g = tests[0]
        effect = g.observed / g.expected - 1.0 if g.expected > 0 else float("inf") if g.observed > 0 else 0.0
        flagged = bool(carrying)
        past = list(history.get(gid, ()))[-(rules.persistence_of - 1):] if rules.persistence_of > 1 else []
        alert = flagged and (sum(past) + 1 >= rules.persistence or qv <= level * rules.overwhelming)
        eligible = any(t.p_value < 1.0 for t in tests)
        out.append(RiseTest(gid, end, g.observed, g.expected, effect, p_group[gid], qv,
                            _share(s, *baseline_span(end_i, rules, fz.get(gid))), _share(s, n - g.window_days, n),
                            eligible, flagged, alert, g.window_days, carrying, g))
    return out


FAMILIES = (GROUP, PRODUCT, DEPT, PRODUCT_DEPT, PRODUCT_PRESCRIBER)  # the order of DetectRules.family_shares


def family_weights(kinds: Sequence[str], shares: Sequence[float]) -> list[float]:
    """Each cell's weight in its group's weighted Simes: every family of cells present (the group
    total, products, departments, products in departments, products of prescribers) gets its
    share of the group's weight, split evenly over its cells; no ``shares``: every cell weight 1."""
    if not shares:
        return [1.0] * len(kinds)
    share = dict(zip(FAMILIES, shares, strict=True))
    counts: dict[str, int] = {}
    for k in kinds:
        counts[k] = counts.get(k, 0) + 1
    total = sum(share[k] for k in counts)
    return [share[k] / (counts[k] * total) if total > 0 else 1.0 for k in kinds]


POOL_MAX = 12  # cells per group the dispersion is fitted on (small to large)
SPECIFIC = {PRODUCT_DEPT: 0, PRODUCT_PRESCRIBER: 1, DEPT: 2, PRODUCT: 3, GROUP: 4}  # ties (one cell's use is
# all of another's) name the narrower cell


def _test_group(members: Sequence[tuple[Cell, Sequence[float]]], frames: Sequence[Frame],
                rules: DetectRules, total: Sequence[float] | None, lines: CellSeries) -> list[CellTest]:
    """Every cell of one group (the group cell first) over the ``frames`` (the week's, then each
    long window's). A cell that cannot pass the gates in any window is not tested. The dispersion
    is fitted on the earliest frame's six weeks (those before the longest window: a rise some
    weeks old is not yet in them, and would read as a noisy level), once per group across its
    cells of every size (the group total's own fit, one series of two levels, is too loose to
    trust), when one of them needs it.
    The quadratic term of a sum is below its parts', so the shared fit errs on the safe side for
    the group total and the departments."""
    prepared = []
    cell_volume = max(rules.cell_min_volume, rules.dept_min_volume)
    fr = frames[0]
    parents = [parent_of(total, f, dispersion([fit_sums(total, frames[-1])])) for f in frames] if total else []
    for n, (cell, y) in enumerate(members):
        rw, rr, units = level_rates(y, fr)
        if n and units < rules.cell_min_baseline:  # members[0] is the group cell
            continue
        volume = cell_volume if n else rules.min_volume
        parts: list[Part] = [(window_figures(y, fr, (rw, rr)), fr, (rw, rr))]
        for other in frames[1:]:
            lw, lr, _t = level_rates(y, other)
            parts.append((window_figures(y, other, (lw, lr)), other, (lw, lr)))
        shares = [sp for (_fig, f, rates), parent in zip(parts, parents, strict=False)
                  for sp in [share_part(y, f, parent, rates)] if sp is not None]
        lost = (all(hopeless(figures, f.min_effect, volume) for figures, f, _r in parts)
                and all(hopeless([fig[:3] for fig in sp[3]], sp[0].min_effect, volume) for sp in shares))
        prepared.append((cell, y, parts, volume, lost, units, shares))
    disp: tuple[float, float] | None = None
    fits: dict[int, Fit] = {}

    def fitted(y: Sequence[float]) -> Fit:
        f = fits.get(id(y))
        if f is None:
            f = fits[id(y)] = fit_sums(y, frames[-1])
        return f

    boxes = _boxes(members, prepared, fr, lines)

    def own_days(y: Sequence[float], box: float, b: float) -> float:  # the cell's own pack term where its
        return own_pack(fitted(y), b, box)  # lattice is broken, asked for where it may rise

    def normal(y: Sequence[float], box: float) -> Fit:
        return in_boxes(fitted(y), box)

    out = []
    kinds: dict[str, tuple[float, float]] = {}
    for cell, y, parts, volume, lost, _units, shares in prepared:
        if lost:
            w, obs, exp = parts[0][0][0]
            out.append(CellTest(cell, obs, exp, w, 1.0, exp))
            continue
        if disp is None:
            if rules.pool_dispersion:
                same = sorted(((c, other, lv / boxes[c]) for c, other, _p, _v, _l, lv, _s in prepared), key=lambda m: m[2])
                step = max(1, len(same) // POOL_MAX)  # at most about POOL_MAX cells, small to large, fix both terms
                disp = dispersion([normal(other, boxes[c]) for c, other, _lv in same[::step]])
            else:
                disp = (1.0, 0.0)
        box = boxes[cell]
        if rules.kind_dispersion:
            own = kinds.get(cell.kind)
            if own is None:
                same = sorted(((c, other, lv / boxes[c]) for c, other, _p, _v, _l, lv, _s in prepared if c.kind == cell.kind),
                              key=lambda m: m[2])
                step = max(1, len(same) // POOL_MAX)
                own = kinds[cell.kind] = quadratic_given_pack(_summed(normal(other, boxes[c]) for c, other, _lv in same[::step]),
                                                              disp[0])
        else:
            own = dispersion([normal(y, box)])
        # in boxes var = m * mu + b * mu^2; in units (mu x box) the pack term is m x box, b unchanged
        out.append(test_cell(cell, parts, ((disp[0] * box, disp[1]), (own[0] * box, own[1])), rules, volume, shares,
                             partial(own_days, y, box)))
    return out


def _boxes(members: Sequence[tuple[Cell, Sequence[float]]], prepared: Sequence[tuple], fr: Frame,
           lines: CellSeries) -> dict[Cell, float]:
    """Each tested cell's box: the units one dispensing of it comes in. A product in a department or
    of a prescriber has its own, from its level span, or from its window where it had no use
    before (:func:`agent.domain.rise_cells.box_of`: what one dispensing weighs in its variance,
    from its source lines where the source gives them, else the lattice of its days; rival products of one group come in boxes of 7, 14,
    28 or by the unit, and a ward may dispense by the unit what the clinic dispenses by the box). A
    product, a department or the group, being sums of products in departments, the box of its use
    on average (their boxes weighted by their use over the level span and the window, as the
    variance of a sum is the sum of its parts'). The window counts: a department that dispenses
    one product by the unit and, now and then, a box of 14 of another, which had no use in the
    level span, would otherwise read that box as 14 dispensings of the first (a false alarm of
    ``make bench-detect`` with ``SYNTH_PACKS=product``). The dispersion is fitted on every cell
    counted in its boxes, so one pooled fit serves cells whose boxes differ (one pack term for the
    group made a box of 28 read a normal week as a rise)."""
    tested = {p[0] for p in prepared}
    fine_kind = PRODUCT_DEPT if any(c.kind == PRODUCT_DEPT for c, _y in members) else PRODUCT  # no departments:
    # the group is the sum of its products
    sums: dict[tuple[str, str], list[float]] = {}  # ("dept"|"product"|"", code) -> [box x use, use]
    out: dict[Cell, float] = {}
    for cell, y in members:
        if cell.kind not in (fine_kind, PRODUCT_PRESCRIBER):
            continue
        a, b = (fr.l0, fr.b1) if any(y[fr.l0:fr.b1]) else (fr.b1, fr.end_i + 1)
        k = lines.get(cell)
        box = box_of(y[a:b], k[a:b] if k is not None else None)
        if cell in tested:
            out[cell] = box
        if cell.kind == fine_kind:
            use = sum(y[fr.l0:fr.end_i + 1])
            for key in (("", ""), ("dept", cell.dept), ("product", cell.product)):
                acc = sums.setdefault(key, [0.0, 0.0])
                acc[0] += box * use
                acc[1] += use
    for cell, y, *_rest in prepared:
        if cell in out:
            continue
        part = sums.get(("", "") if cell.kind == GROUP else ("dept", cell.dept) if cell.kind == DEPT else ("product", cell.product))
        out[cell] = part[0] / part[1] if part and part[1] > 0 else lattice(y[fr.l0:fr.b1])
    return out


def _summed(fits: Iterable[Fit]) -> Fit:
    n = sx = sz = sxx = sxz = 0.0
    for f in fits:
        n, sx, sz, sxx, sxz = n + f[0], sx + f[1], sz + f[2], sxx + f[3], sxz + f[4]
    return n, sx, sz, sxx, sxz


def _share(s: GroupSeries, a: int, b: int) -> float | None:
    a = max(a, 0)
    total = sum(s.total[a:b])
    return sum(s.non_winning[a:b]) / total if total > 0 else None


def rise_starts(flags: Iterable[tuple[str, date, bool]], rules: DetectRules) -> dict[str, date]:
    """For each group whose rise alert is still active: the first day of the window that first
    flagged the current run of flagged evaluations (one unflagged evaluation does not end a run
    while the alert needs only ``persistence`` of ``persistence_of``).

    ``flags``: (group id, evaluated day, flagged) of those groups, each group's newest first."""
    gaps_allowed = max(rules.persistence_of - rules.persistence, 0)
    out: dict[str, date] = {}
    state: dict[str, int] = {}  # unflagged evaluations met so far, walking back from the newest
    for gid, day, flagged in flags:
        if state.get(gid, 0) > gaps_allowed:
            continue
        if flagged:
            out[gid] = day - timedelta(days=rules.window_days - 1)
            state[gid] = 0
        else:
            state[gid] = state.get(gid, 0) + 1
    return out
