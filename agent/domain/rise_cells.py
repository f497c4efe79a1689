"""The cells rise detection watches, and the test of one cell.

A rise is carried by some *cell* of a generic group: the group's whole non-winning use, one
non-winning product (item), one department (科室), one product in one department, or one product
of one prescriber (医生, where the HIS gives prescribers). Every cell with use in its baseline is
tested on every evaluation; there is no group-level screen in front, since a product that triples
in one quiet department moves the group total by a third at most and would never pass one.

The test of a cell (:func:`test_cell`) compares the last 7, 5 and 3 days, and the last 28, with
what its baseline predicts for the same kinds of day (weekday profile pooled over the hospital;
rest days and holidays at their own rate), and combines the windows by Simes. The *level* comes
from the ``level_days`` (6 weeks) before the window: the short windows share the six weeks before
the week, the 28-day window has the six weeks before it. So slow seasonal drift (a level that
falls over the summer and comes back in the autumn) is followed, with a lag of three weeks rather
than six; a tripling is still a tripling; and a doubling too small to tell from noise in one week
(a quiet cell of a dozen dispensings a week) is told in four, where a week's window, whose level
by then holds the rise, would never tell it. The variance ``a·mu + b·mu²`` is fitted over the same 6 weeks,
twice: across (at most 12 of) the group's cells, small to large, and across (at most 12 of) its
cells of the same kind with the first fit's pack term (``DetectRules.kind_dispersion``; else on the
cell alone); the larger of the two variances is used, with the quadratic term x1.5 (least squares on six weeks of noisy
squared residuals underestimates it; without this margin busy cells were 2-4x anti-conservative
at p < 0.001 on simulated null series), plus the uncertainty of the level itself. The tail is
negative binomial *on dispensings*: units and variance are divided by the pack term ``a`` first
(quasi-Poisson scaling, as Farrington's method scales by its dispersion), since units come in
boxes of 7 or 28 and a negative binomial spread over units would put a gamma's tail on a lattice
of boxes. Rival products of one group come in different boxes (7, 14, 28, or by the unit; a ward
may dispense by the unit what the clinic dispenses by the box), so the fits are made on each
cell counted in its own boxes (:func:`box_of`: what one dispensing weighs, from its source lines,
one per dispensing, where the source gives them, else its :func:`lattice`, which tolerates a split box now and then; a sum
of products, their boxes weighted by use) and a cell's pack term is its box times the fitted one;
where a window would be called a rise, the pack term is checked against the cell's own days'
spread too (without lines, a cell split often enough has no lattice left). A cell below the volume gate (``min_volume`` units in the window) or the effect gate
(``min_effect``) in every window gets p = 1: the gates apply to the cell that carries the rise,
not to the group total; a cell without baseline use (``cell_min_baseline``) is new use, not a
rise, and is not tested. Below p 0.001 the exact conditional tail of the window against the level
span (binomial on dispensings, ``DetectRules.exact_level``) is computed too and the wider kept.
The conditional share test (opt-in, :func:`share_part`) reads a cell against the rest of its group.

Everything is computed with sums over slices (``sum(map(mul, ...))``, C loops of the standard
library): a hospital has tens of thousands of cells and the evaluation stays within its seconds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import compress
from operator import add, mul, truediv
from typing import NamedTuple

from agent.domain.monitoring_model import ItemLink
from agent.domain.rise_baseline import REST, DetectRules, dispersion_from_sums
from agent.domain.stats import binom_sf, nbinom_sf, simes
from agent.domain.usage_series import UsageSeries

Z_BODY = 1.28
MIN_EVENTS = 10.0  # dispensings a cell needs over its level span to be tested (fewer: new use, not a rise)
LONG_MIN_EVENTS = 30.0  # ... for a long window: a level of a few dispensings a week, low by chance over
# six weeks, would make an ordinary month look like a rise
B_SAFETY = 1.5
SPLIT_MIN_DAYS = 8  # days with use a cell needs before a split box is told from its lattice
SPLIT_DAYS, SPLIT_UNITS = 0.2, 0.1  # of its days and of its units, at most these shares off its box (split boxes)
BROKEN_BOX = 4.0  # a cell's own pack term this many times its box (the lattice): the lattice is broken (at twice the
# pack term its box gave, busy clean cells tripped it now and then and lost two of seed 77's x2 plantings on bench-detect)
EXACT_BELOW = 1e-3  # the exact conditional tail is checked below this p (above it, it cannot matter)
GROUP, PRODUCT, DEPT, PRODUCT_DEPT, PRODUCT_PRESCRIBER = "group", "product", "dept", "product_dept", "product_prescriber"


class Cell(NamedTuple):
    """Where a rise may sit: ``dept`` and ``product`` empty for all departments / all non-winning
    products; ``prescriber`` is the HIS's own code. A tuple: an evaluation hashes tens of thousands
    of cells hundreds of thousands of times, and a tuple's hash is the interpreter's own."""

    group_id: str
    dept: str = ""
    product: str = ""  # a non-winning local item code
    prescriber: str = ""

    @property
    def kind(self) -> str:
        if self.prescriber:
            return PRODUCT_PRESCRIBER
        if self.dept:
            return PRODUCT_DEPT if self.product else DEPT
        return PRODUCT if self.product else GROUP


@dataclass(frozen=True)
class CellTest:
    cell: Cell
    observed: float  # units in the window that gave the smallest p
    expected: float  # what the baseline predicts for that window
    window_days: int
    p_value: float  # Simes over the windows; 1 when the gates cannot be met
    week_expected: float  # what the baseline predicts for the full 7-day window ("基线约 X/周")
    q_value: float = 1.0  # hierarchical BH (see agent.domain.detect), filled in by detect_rises
    flagged: bool = False

    @property
    def factor(self) -> float:
        return self.observed / self.expected if self.expected > 0 else float("inf")


@dataclass
class CellUse:
    """What :func:`cell_series` gives: each cell's daily units, and the fine cells' (a product in a
    department, of a prescriber, or alone) daily source lines, their dispensings."""

    units: dict[Cell, list[float]]
    lines: dict[Cell, list[float]]


def cell_series(series: UsageSeries, links: Mapping[str, ItemLink], start: date, end: date,
                first: date | None = None, by_prescriber: bool = True) -> CellUse:
    """Daily non-winning units (smallest units) of every product, department, product x
    department and (keys with a prescriber) product x prescriber cell, index 0 = ``start``; the
    group cell is the group's own series. ``series``: :meth:`MonitoringInputs.usage_series` by
    department, index 0 = ``first`` (default ``start``; not before it), days before ``first`` are
    0; winning items skipped. Beside them, the source lines (dispensings) of the products, products
    in departments and products of prescribers, where the series carry them."""
    n = (end - start).days + 1
    at = (first - start).days if first is not None else 0

    def placed(values: Iterable[float]) -> list[float]:  # n days from start, ``values`` from first on
        out = [0.0] * at + list(values)[:n - at]
        return out + [0.0] * (n - len(out))

    base: dict[tuple[str, str, str], tuple[list[float], list[float]]] = {}
    for (code, dept, doc), (qty, lines_of) in series.items():
        link = links.get(code)
        if link is None or link.winning or link.factor is None:
            continue
        factor = link.factor
        y, k = placed(q * factor for q in qty), placed(lines_of)
        key = (code, dept, doc if by_prescriber else "")
        have = base.get(key)
        base[key] = (y, k) if have is None else (list(map(add, have[0], y)), list(map(add, have[1], k)))
    units: dict[Cell, list[float]] = {}
    lines: dict[Cell, list[float]] = {}
    for (code, dept, doc), (y, k) in base.items():
        g = links[code].group_id
        fine = [Cell(g, "", code)] + ([Cell(g, dept, code)] if dept else []) + ([Cell(g, "", code, doc)] if doc else [])
        for c in (fine + [Cell(g, dept)]) if dept else fine:
            u = units.get(c)
            units[c] = y if u is None else list(map(add, u, y))  # shared while one series makes the cell
        if any(k):
            for c in fine:
                have_k = lines.get(c)
                lines[c] = k if have_k is None else list(map(add, have_k, k))
    return CellUse(units, lines)


@dataclass
class Frame:
    """What every cell of one evaluation shares: spans, day classes and profile weights, summed
    once. ``frozen_at`` ends the baseline where a rise still under alert began."""

    end_i: int
    b0: int  # the dispersion fit's first day (the level's)
    b1: int
    l0: int  # the level's first day: max(b0, b1 - level_days)
    work_mask: list[bool]  # over [b0, b1)
    rest_mask: list[bool]
    p_work: list[float]  # profile weight of each working day of [b0, b1)
    p_rest: list[float]
    level_mask: list[bool]  # over [l0, b1): working days
    f_level: tuple[float, float]  # summed profile weight of working / rest days over [l0, b1)
    f2_level: tuple[float, float]  # summed squared profile weight
    f_base: tuple[float, float]  # over [b0, b1)
    f2_base: tuple[float, float]
    windows: list[tuple[int, int, tuple[float, float], tuple[float, float]]] = field(default_factory=list)
    min_effect: float = 0.0  # the effect gate of its windows (a long window's level is weeks older: it asks for
    # more than seasonal drift gives)
    min_events: float = MIN_EVENTS  # dispensings over the level span a cell needs to be tested here
    window_masks: list[list[bool]] = field(default_factory=list)  # working days of each window
    exact_level: bool = False  # DetectRules.exact_level
    drift: float = 0.0  # relative sd of the level's drift between its span and the windows (DetectRules.level_drift)
    b_safety: float = B_SAFETY  # DetectRules.b_safety
    # (days, first index, summed profile weight per family, summed squared weight per family)


def make_frame(classes: Sequence[int], profile: Sequence[float], end_i: int, rules: DetectRules,
               windows: Sequence[int], frozen_at: int | None = None, span: int | None = None) -> Frame:
    """The frame of the windows ``windows`` (each ending on ``end_i``), whose baseline ends where
    the longest of them, ``span`` days (default ``window_days``), begins."""
    b1 = end_i - (span or rules.window_days) + 1
    if frozen_at is not None:
        b1 = min(b1, frozen_at)
    l0 = max(b1 - rules.level_days, 0)
    b0 = l0  # the dispersion is fitted over the level's span too: the cells' usage is read for it alone
    cls = classes[b0:b1]
    work = [c != REST for c in cls]
    rest = [not w for w in work]
    pw = [profile[c] for c in compress(cls, work)]
    pr = [profile[c] for c in compress(cls, rest)]

    def sums(a: int, b: int) -> tuple[tuple[float, float], tuple[float, float]]:
        f, f2 = [0.0, 0.0], [0.0, 0.0]
        for c in classes[a:b]:
            k = c == REST
            f[k] += profile[c]
            f2[k] += profile[c] ** 2
        return (f[0], f[1]), (f2[0], f2[1])

    f_level, f2_level = sums(l0, b1)
    f_base, f2_base = sums(b0, b1)
    long = (span or rules.window_days) > rules.window_days
    frame = Frame(end_i, b0, b1, l0, work, rest, pw, pr, [c != REST for c in classes[l0:b1]],
                  f_level, f2_level, f_base, f2_base,
                  min_effect=max(rules.min_effect, rules.long_min_effect) if long else rules.min_effect,
                  min_events=LONG_MIN_EVENTS if long else MIN_EVENTS, drift=rules.level_drift,
                  exact_level=rules.exact_level, b_safety=rules.b_safety)
    for w in windows:
        w0 = end_i - w + 1
        fw, fw2 = sums(w0, end_i + 1)
        frame.windows.append((w, w0, fw, fw2))
        frame.window_masks.append([c != REST for c in classes[w0:end_i + 1]])
    return frame


def level_rates(y: Sequence[float], fr: Frame) -> tuple[float, float, float]:
    """(working-day rate, rest-day rate, units) of the level span: per unit of profile weight."""
    lvl = y[fr.l0:fr.b1]
    total = sum(lvl)
    lw = sum(compress(lvl, fr.level_mask))
    f0, f1 = fr.f_level
    rw = lw / f0 if f0 else 0.0
    rr = (total - lw) / f1 if f1 else rw
    return rw, rr, total


Fit = tuple[float, float, float, float, float]  # n, sum x, sum z, sum x^2, sum x z (x = mu, z = (y - mu)^2 / mu)


def fit_sums(y: Sequence[float], fr: Frame) -> Fit:
    """The sums the dispersion fit needs over the whole baseline, each day about the baseline's
    rate for its kind of day."""
    seg = y[fr.b0:fr.b1]
    n = sx = sz = sxx = sxz = 0.0
    for mask, pk, fb, f2b in ((fr.work_mask, fr.p_work, fr.f_base[0], fr.f2_base[0]),
                              (fr.rest_mask, fr.p_rest, fr.f_base[1], fr.f2_base[1])):
        if not pk:
            continue
        ys = list(compress(seg, mask))
        total = sum(ys)
        r = total / fb if fb else 0.0
        if r <= 0:
            continue
        y2 = list(map(mul, ys, ys))
        n += len(ys)
        sx += r * fb
        sxx += r * r * f2b
        sz += sum(map(truediv, y2, pk)) / r - 2 * total + r * fb
        sxz += sum(y2) - 2 * r * sum(map(mul, ys, pk)) + r * r * f2b
    return n, sx, sz, sxx, sxz


def dispersion(fits: Iterable[Fit]) -> tuple[float, float]:
    """(a, b) of ``var = a * mu + b * mu^2`` by least squares of z on mu over the pooled days (a
    at least 1: units are counted); see :func:`agent.domain.rise_baseline.pooled_dispersion`."""
    n = sx = sz = sxx = sxz = 0.0
    for f in fits:
        n, sx, sz, sxx, sxz = n + f[0], sx + f[1], sz + f[2], sxx + f[3], sxz + f[4]
    return dispersion_from_sums(n, sx, sz, sxx, sxz)


def quadratic_given_pack(fit: Fit, a: float) -> tuple[float, float]:
    """(a, b) of one cell with the pack term ``a`` given (its group's pooled fit, every cell counted
    in its own boxes: see :func:`in_boxes`), b by least squares of z - a on mu through the origin. A cell's own
    six weeks cannot tell a pack term from a quadratic one: fitted freely, a lumpy series of
    boxes of 14 now and then reads as a = 4, b = 0.27, and its tail is then far too wide."""
    _n, sx, sz, sxx, sxz = fit
    return a, max((sxz - a * sx) / sxx, 0.0) if sxx > 0 else 0.0


def window_figures(y: Sequence[float], fr: Frame, rates: tuple[float, float]) -> list[tuple[int, float, float]]:
    """(days, observed, expected) of each window."""
    rw, rr = rates
    return [(w, sum(y[w0:fr.end_i + 1]), rw * fw[0] + rr * fw[1]) for w, w0, fw, _f2 in fr.windows]


def box_of(units: Sequence[float], lines: Sequence[float] | None = None) -> float:
    """The units one dispensing of a cell comes in, over the days of ``units``, as its variance
    counts them: ``E[s^2] / E[s]`` of its dispensings' sizes s (the index of dispersion of a
    compound Poisson sum), from its source lines (prescription lines, one per dispensing) where
    ``lines`` gives them, else its :func:`lattice`. E[s] is its units per line; the sizes' variance
    is the spread of each day's units per line about it, each day weighted by its lines (one-way
    analysis of variance: days of one line tell a size each, busy days their mean). A split box
    (拆零) broke a busy cell's lattice, its box of 28 read as by the unit and a doubling drowned in
    what :func:`own_pack` had to allow; one patient given five boxes where others get one is a
    lumpier dispensing than either, and the mean size alone read an ordinary week of three such
    as a rise (the demo's 洛赛克 in 呼吸内科). Never below the lattice: a dispensing and its return
    (退药) are two lines and no units, and a box read too small reads ordinary weeks as rises."""
    box = lattice(units)
    n, total = (sum(lines) if lines else 0.0), sum(units)
    if not lines or n <= 0 or total <= 0:
        return box
    mean = total / n
    us, ks = list(compress(units, lines)), list(compress(lines, lines))  # the days with lines
    if len(ks) < 2:
        return max(box, mean)
    # sum over those days of (u - k * mean)^2 / k, in C loops
    spread = sum(map(truediv, map(mul, us, us), ks)) - 2 * mean * sum(us) + mean * mean * sum(ks)
    return max(box, mean + max(spread, 0.0) / (len(ks) - 1) / mean)


def lattice(units: Sequence[float]) -> float:
    """The box a cell's units come in: the greatest common divisor of its daily units (a product
    dispensed by the box of 28 has every day a multiple of 28), or a larger divisor of its
    commonest day where a few split boxes (拆零) broke that; 1 where a day is not whole or
    nothing was used. Rival products of one group come in different boxes, so each cell's fit is
    counted in its own (:func:`in_boxes`): one pack term for the group was too small for the
    largest box and too large for the smallest."""
    whole = list(map(int, units))
    if sum(whole) != sum(units):
        return 1.0
    g = math.gcd(*whole) or 1
    days = [u for u in whole if u > 0]
    if len(days) < SPLIT_MIN_DAYS or g == min(days):  # the smallest day is the box: nothing split
        return float(g)
    # a split box now and then (拆零: 10 of a box of 28) must not make the cell "by the unit": the
    # largest divisor of its commonest day that leaves at most a fifth of its days and a tenth of
    # its units off the lattice (twice the box leaves every odd day off it, and is refused)
    counts = Counter(days)
    mode = max(counts, key=lambda u: (counts[u], -u))
    total = sum(days)
    small = [d for d in range(1, math.isqrt(mode) + 1) if mode % d == 0]
    for d in sorted({*small, *(mode // d for d in small)}, reverse=True):
        if d <= g:
            break
        off = [u % d for u in days if u % d]
        if len(off) <= SPLIT_DAYS * len(days) and sum(off) <= SPLIT_UNITS * total:
            return float(d)
    return float(g)


def in_boxes(fit: Fit, box: float) -> Fit:
    """The sums of :func:`fit_sums` for the same series counted in boxes of ``box`` units (mu and z
    scale by 1 / box, their squares and products by 1 / box^2): fitted so, ``var = m * mu + b *
    mu^2`` in boxes is ``m * box`` as the pack term in units, ``b`` unchanged."""
    if box == 1.0:
        return fit
    n, sx, sz, sxx, sxz = fit
    return n, sx / box, sz / box, sxx / (box * box), sxz / (box * box)


def hopeless(figures: Sequence[tuple[int, float, float]], min_effect: float, min_volume: float) -> bool:
    """No window passes both gates: the cell cannot carry a rise in this evaluation."""
    return all(obs < min_volume or (exp > 0 and obs / exp - 1.0 < min_effect) for _w, obs, exp in figures)



Part = tuple[Sequence[tuple[int, float, float]], Frame, tuple[float, float]]  # window figures, frame, level rates


@dataclass(frozen=True)
class Parent:
    """The group's whole use (winning products included) over one frame, by kind of day (working,
    rest): what the share test (:func:`share_part`) reads a cell's share of."""

    level: tuple[float, float]  # units over the level span [l0, b1)
    level_sq: tuple[float, float]  # summed squared daily units there
    windows: list[tuple[tuple[float, float], tuple[float, float]]]  # (units, summed squares) of each window
    disp: tuple[float, float]  # the total's own (a, b): the noise of the rest of the group


def _kind_sums(y: Sequence[float], a: int, b: int, mask: Sequence[bool]) -> tuple[tuple[float, float], tuple[float, float]]:
    seg = y[a:b]
    sq = list(map(mul, seg, seg))
    work, work_sq = sum(compress(seg, mask)), sum(compress(sq, mask))
    return (work, sum(seg) - work), (work_sq, sum(sq) - work_sq)


def parent_of(total: Sequence[float], fr: Frame, disp: tuple[float, float]) -> Parent:
    level, level_sq = _kind_sums(total, fr.l0, fr.b1, fr.level_mask)
    return Parent(level, level_sq, [_kind_sums(total, w0, fr.end_i + 1, mask)
                                    for (_w, w0, _f, _f2), mask in zip(fr.windows, fr.window_masks, strict=True)], disp)


SharePart = tuple[Frame, Parent, tuple[float, float], list[tuple[int, float, float, tuple[float, float]]]]
# frame, parent, the cell's level units by kind of day, and per window (days, observed, expected, its rest of
# the group by kind of day)


def share_part(y: Sequence[float], fr: Frame, parent: Parent, rates: tuple[float, float]) -> SharePart | None:
    """The cell's windows read against the rest of its group (the group's whole use less the cell):
    the expected is the cell's baseline odds to the rest, per kind of day, times the rest in the
    window. ``None`` when the cell is the whole group on some kind of day (no rest to read against)."""
    lvl = (rates[0] * fr.f_level[0], rates[1] * fr.f_level[1])
    rest_l = (parent.level[0] - lvl[0], parent.level[1] - lvl[1])
    if rest_l[0] <= 0 or rest_l[1] <= 0:
        return None
    odds = (lvl[0] / rest_l[0], lvl[1] / rest_l[1])
    figures = []
    for (w, w0, _f, _f2), mask, (units, _sq) in zip(fr.windows, fr.window_masks, parent.windows, strict=True):
        seg = y[w0:fr.end_i + 1]
        obs = sum(seg)
        work = sum(compress(seg, mask))
        rest = (max(units[0] - work, 0.0), max(units[1] - obs + work, 0.0))
        figures.append((w, obs, odds[0] * rest[0] + odds[1] * rest[1], rest))
    return fr, parent, lvl, figures


def test_cell(cell: Cell, parts: Sequence[Part], disps: Sequence[tuple[float, float]], rules: DetectRules,
              min_volume: float, shares: Sequence[SharePart] = (), own: Callable[[float], float] | None = None) -> CellTest:
    """The cell's test over every window of ``parts`` (each a frame with its :func:`window_figures`
    and level rates: the short windows share the baseline before the week; a long window has its
    own, before it), combined by Simes. Of the dispersions ``disps`` (the group's pooled fit, the
    cell's own) the one giving the larger variance is used: either alone, fitted on six weeks, is
    now and then too small, and a tail is only as good as its variance. ``own`` (:func:`own_pack`)
    checks the pack term against the cell's own days where a window would be called a rise."""
    ps = []
    best: tuple[float, int, float, float, float] | None = None
    for figures, fr, rates in parts:
        for (w, obs, exp), (_w, _w0, fw, fw2) in zip(figures, fr.windows, strict=True):
            p = _window_p(cell, obs, exp, fw, fw2, fr, rates, disps, min_volume, own)
            ps.append(p)
            if best is None or p < best[0]:
                week = exp * rules.window_days / w if w >= rules.window_days else figures[0][2]
                best = (p, w, obs, exp, week)
    for fr, parent, lvl, share_figures in shares:
        for (w, obs, exp, rest), (_units, sq) in zip(share_figures, parent.windows, strict=True):
            p = _share_p(cell, obs, exp, rest, sq, fr, parent, lvl, disps, min_volume)
            ps.append(p)
            if best is None or p < best[0]:
                week = exp * rules.window_days / w if w >= rules.window_days else share_figures[0][2]
                best = (p, w, obs, exp, week)
    assert best is not None
    return CellTest(cell, best[2], best[3], best[1], simes(ps), best[4])


def _window_p(cell: Cell, obs: float, exp: float, fw: tuple[float, float], fw2: tuple[float, float], fr: Frame,
              rates: tuple[float, float], disps: Sequence[tuple[float, float]], min_volume: float,
              own_pack: Callable[[float], float] | None = None) -> float:
    if obs < min_volume or (exp > 0 and obs / exp - 1.0 < fr.min_effect):
        return 1.0
    if exp <= 0:  # use where there was none: new for the group, not a rise for a cell of it
        return 0.0 if cell.kind == GROUP else 1.0
    var, scale, quad = exp, 1.0, 0.0
    for a, b in disps:
        v = _variance(a, b, exp, fw, fw2, fr, rates)
        if v > var:
            var, scale, quad = v, a, b
    p = _tail(cell, obs, exp, var, scale, fr, rates)
    if own_pack is not None and p < EXACT_BELOW:
        # the box is the lattice of the cell's days, which one split box (拆零) in six weeks breaks:
        # a cell of boxes of 28 read as by the unit took a box for 28 dispensings. Before it is
        # called a rise, its pack term is checked against its own days' spread (given the
        # quadratic term), and the wider tail kept
        own = own_pack(quad) * fr.b_safety  # six weeks of one cell's days tell it roughly: the quadratic term's margin
        if own > scale:
            p = max(p, _tail(cell, obs, exp, _variance(own, quad, exp, fw, fw2, fr, rates), own, fr, rates))
    return p


def _variance(a: float, b: float, exp: float, fw: tuple[float, float], fw2: tuple[float, float], fr: Frame,
              rates: tuple[float, float]) -> float:
    """The variance of a window's units about what its level predicts, with ``var = a * mu + b * mu^2``."""
    rw, rr = rates
    v = a * exp + fr.b_safety * b * (rw * rw * fw2[0] + rr * rr * fw2[1])
    for k in (0, 1):  # the level's own uncertainty
        if fr.f_level[k]:
            level_var = a * rates[k] * fr.f_level[k] + b * rates[k] ** 2 * fr.f2_level[k]
            v += (fw[k] / fr.f_level[k]) ** 2 * level_var
    return v + (fr.drift * exp) ** 2  # and its drift since: a busy cell's level is precise, not current


def _tail(cell: Cell, obs: float, exp: float, var: float, scale: float, fr: Frame, rates: tuple[float, float]) -> float:
    # far inside the body (z < 1.28, a normal tail above 0.1, a right-skewed one above that)
    # the exact tail cannot matter at any level the procedure uses: 1 is conservative.
    # The tail is taken on dispensings, not units (quasi-Poisson scaling by the pack term
    # a, as Farrington's method scales by its dispersion): units come in packs, and a
    # negative binomial spread over units would put a gamma's tail on a lattice of boxes
    rw, rr = rates
    level_units = rw * fr.f_level[0] + rr * fr.f_level[1]
    if cell.kind != GROUP and level_units / scale < fr.min_events:
        return 1.0  # a handful of dispensings in six weeks is no level to rise from: new use
    if obs - exp < Z_BODY * math.sqrt(var):
        return 1.0
    p = nbinom_sf(obs / scale, exp / scale, var / (scale * scale))
    if fr.exact_level and p < EXACT_BELOW:
        # the level is an estimate: given the dispensings of the window and of the level span
        # together, the window's are binomial (two Poisson rates compared exactly); at a few
        # dispensings a week this tail is wider than the negative binomial with the level's variance
        # added, and the wider of the two is kept
        p = max(p, binom_sf(obs / scale, (obs + level_units) / scale, exp / (exp + level_units)))
    return p


def own_pack(fit: Fit, b: float, box: float) -> float:
    """A cell's own pack term in units from its :func:`fit_sums`, given the quadratic term ``b``
    (the mean of ``z - b * mu`` over its days), where it is at least ``BROKEN_BOX`` times its
    ``box``: the lattice is broken; else 0."""
    n, sx, sz, _sxx, _sxz = fit
    own = (sz - b * sx) / n if n else 0.0
    return own if own >= BROKEN_BOX * box else 0.0


def _share_p(cell: Cell, obs: float, exp: float, rest: tuple[float, float], sq: tuple[float, float], fr: Frame,
             parent: Parent, lvl: tuple[float, float], disps: Sequence[tuple[float, float]], min_volume: float) -> float:
    """The share test of one window: the cell's units against its baseline odds to the rest of the
    group times the rest's units in the window, per kind of day. Season, weekday and holiday shape
    move the cell and the rest of its group together and cancel; what is left is the cell's own
    noise in the window, the uncertainty of its baseline odds (its level's noise and the rest's),
    and the rest's noise in the window, with the cell's (a, b) and the group total's own."""
    if obs < min_volume or exp <= 0 or obs / exp - 1.0 < fr.min_effect:
        return 1.0
    var, scale = exp, 1.0
    a_p, b_p = parent.disp
    for a, b in disps:
        v = a * exp
        for k in (0, 1):
            rest_l = parent.level[k] - lvl[k]
            odds = lvl[k] / rest_l
            r = rest[k] / rest_l  # the window's rest against the level's
            share_w = 1.0 - lvl[k] / parent.level[k]  # the rest's part of the group's squared days (about)
            sq_w = sq[k] * share_w * share_w
            sq_l = parent.level_sq[k] * share_w * share_w
            v += fr.b_safety * b * odds * odds * sq_w  # the cell's own noise in the window
            v += r * r * (a * lvl[k] + b * odds * odds * sq_l)  # its level's
            v += odds * odds * (a_p * rest[k] + fr.b_safety * b_p * sq_w + r * r * (a_p * rest_l + b_p * sq_l))  # the rest's
        if v > var:
            var, scale = v, a
    level_events = (lvl[0] + lvl[1]) / scale
    if cell.kind != GROUP and level_events < fr.min_events:
        return 1.0
    if obs - exp < Z_BODY * math.sqrt(var):
        return 1.0
    return nbinom_sf(obs / scale, exp / scale, var / (scale * scale))
