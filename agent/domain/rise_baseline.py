"""The baseline of rise detection: what the last 12 weeks predict for a window, and how surely.

A weekday profile pooled over the hospital scales working days; rest days and holidays (休息日)
keep their own rate. The variance ``a·mu + b·mu²`` is fitted once per group across its departments
(``pooled_dispersion``); ``window_test`` turns an observed window total into a negative-binomial
tail probability (``tail_p``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.domain.stats import nbinom_sf

REST = 6  # day class of weekends and holidays; 0-4 Monday..Friday, 5 an adjusted working weekend


@dataclass(frozen=True)
class DetectRules:
    baseline_days: int = 84
    window_days: int = 7
    fdr: float = 0.35  # Benjamini-Hochberg level across groups, per evaluation (persistence does the rest) ...
    fdr_per_group: float = 0.0005  # ... but at most this x the number of groups: a hospital with few groups
    # gets a stricter level, so false alarms per group-week do not grow as the group count falls (0.0003 while the
    # level's drift was not allowed for: 0.0005 then gave 0.35-0.40 false alarms per 100 group-weeks on bench-detect)
    min_volume: float = 30.0  # observed non-winning units in the window
    min_effect: float = 0.2  # observed / expected - 1
    persistence: int = 1  # flagged in at least this many ... (1: a stricter level at once beats a looser one twice)
    persistence_of: int = 3  # ... of the last evaluations (this one included)
    short_windows: tuple[int, ...] = (5, 3)  # also tested, combined by Simes: early detection
    long_windows: tuple[int, ...] = ()  # also tested, each against the level before it: a doubling too small to
    # see in a week is seen in four (opt-in: it holds an alert up to that long after the rise ends)
    long_min_effect: float = 0.5  # a long window's effect gate: its level is weeks older, so seasonal drift
    # (up to a quarter a year) is not a rise there
    screen_p: float = 0.2  # unused since every cell is tested, without a screen (kept for old configs)
    dept_min_volume: float = 0.0  # a floor under cell_min_volume (kept for old configs)
    cell_min_volume: float = 10.0  # a cell's window (product, department, prescriber) needs this many units (30
    # would be 30 dispensings of an injection: a quiet department's tripling would wait a week for the gate)
    pool_dispersion: bool = True  # departments of a group share one (a, b) dispersion fit
    overwhelming: float = 0.07  # q at or below this x the BH level alerts without waiting for persistence
    freeze_min_days: int = 28  # a rise under alert keeps its pre-rise baseline while this many days of it remain
    level_days: int = 42  # the expected level comes from the last this-many baseline days (slow seasonal drift);
    # the dispersion from all ``baseline_days``
    level_drift: float = 0.05  # relative sd of seasonal drift between the level's weeks and the window: a busy
    # cell's level is precise but three to six weeks old; on bench-detect's null runs the group totals' p-values below
    # 1e-5 were 3-8x more frequent than nominal without it, and it halved the false alarms (busy cells' 1.4-1.8x weeks)
    family_shares: tuple[float, ...] = ()  # each family's share of a group's weight in its weighted Simes: group
    # total, products, departments, products in departments, products of prescribers; () = every cell weight 1
    kind_dispersion: bool = True  # the second dispersion fit (beside the group's pooled one) pools the cells of the
    # same kind (prescribers, products in departments, ...) with the group's pack term, instead of each cell's own
    # six weeks: fitted alone, a lumpy series of boxes reads now and then as a small pack term and a large quadratic
    # one, and its tail is then far too wide (a tripled cell at p 1e-4 instead of 1e-7)
    exact_level: bool = True  # a cell's tail is also the exact conditional one of its window against its level span
    # (binomial, two Poisson rates compared), and the wider is kept: few dispensings a week make a level uncertain
    share_test: bool = False  # each cell also read against the rest of its group (the conditional share test, see
    # agent.domain.rise_cells.share_part; opt-in: on bench-detect it found no more and cost half again the time)
    b_safety: float = 1.5  # the quadratic variance term's margin (agent.domain.rise_cells.B_SAFETY)
    cell_min_baseline: float = 1.0  # a cell (department, product, prescriber) with less baseline use than this is
    # new use, not a rise: it is not tested (the prescriber finding covers a prescriber's sudden new use)


def _base_rates(y: Sequence[float], classes: Sequence[int], profile: Sequence[float], b0: int,
                b1: int) -> tuple[list[float], list[float]]:
    """Rate per family (working days, rest days) over the baseline [b0, b1), and each family's
    summed profile weight."""
    f_sum, y_sum = [0.0, 0.0], [0.0, 0.0]
    for i in range(b0, b1):
        fam = classes[i] == REST
        f_sum[fam] += profile[classes[i]]
        y_sum[fam] += y[i]
    rate = [y_sum[k] / f_sum[k] if f_sum[k] else 0.0 for k in (0, 1)]
    if not f_sum[1]:
        rate[1] = rate[0]
    return rate, f_sum


def baseline_span(end_i: int, rules: DetectRules, frozen_at: int | None = None) -> tuple[int, int]:
    """[b0, b1): the baseline ends where the full window begins, or earlier, where a rise still
    under alert began (``frozen_at``), so that the rise never becomes its own baseline."""
    b1 = end_i - rules.window_days + 1
    if frozen_at is not None:
        b1 = min(b1, frozen_at)
    return max(b1 - rules.baseline_days, 0), b1


def pooled_dispersion(ys: Sequence[Sequence[float]], classes: Sequence[int], profile: Sequence[float], end_i: int,
                      rules: DetectRules, frozen_at: int | None = None) -> tuple[float, float]:
    """(a, b) of ``var = a * mu + b * mu^2`` shared by several series of one group (its
    departments: same products, same packs), by least squares of (y - mu)^2 / mu on mu over
    their baselines. Departments of different sizes pin down both terms, which one short
    department series cannot; a stays at least 1 (units are counted)."""
    b0, b1 = baseline_span(end_i, rules, frozen_at)
    n = sx = sz = sxx = sxz = 0.0
    for y in ys:
        rate, _f = _base_rates(y, classes, profile, b0, b1)
        for i in range(b0, b1):
            mu = rate[classes[i] == REST] * profile[classes[i]]
            if mu > 0:
                z = (y[i] - mu) ** 2 / mu
                n, sx, sz, sxx, sxz = n + 1, sx + mu, sz + z, sxx + mu * mu, sxz + mu * z
    return dispersion_from_sums(n, sx, sz, sxx, sxz)


def dispersion_from_sums(n: float, sx: float, sz: float, sxx: float, sxz: float) -> tuple[float, float]:
    """The least-squares (a, b) of ``z = a + b * mu`` from its sums (count, mu, z, mu^2, mu*z), with
    b not negative and a at least 1 (units are counted: never less dispersed than Poisson)."""
    if n < 2:
        return 1.0, 0.0
    det = n * sxx - sx * sx
    b = (n * sxz - sx * sz) / det if det > 0 else 0.0
    a = (sz - b * sx) / n
    if b < 0:
        a, b = sz / n, 0.0
    if a < 1.0:
        a = 1.0
        b = max((sxz - sx) / sxx, 0.0) if sxx > 0 else 0.0
    return a, b


def window_test(y: Sequence[float], classes: Sequence[int], profile: Sequence[float], end_i: int,
                rules: DetectRules, window: int | None = None,
                dispersion: tuple[float, float] | None = None, frozen_at: int | None = None) -> tuple[float, float, float]:
    """(observed, expected, variance) of ``y`` over the last ``window`` days up to index ``end_i``.
    The baseline ends where the full ``window_days`` window begins (see :func:`baseline_span` for
    ``frozen_at``). ``dispersion`` (a, b)
    gives ``var = a * mu + b * mu^2``; without it both terms are fitted on this series' own
    baseline (working and rest days give it two levels of mu): the pack term ``a`` matters most
    when prescriptions are few and each is a pack of 28, as on a quiet holiday."""
    b0, b1 = baseline_span(end_i, rules, frozen_at)
    w0 = end_i - (window or rules.window_days) + 1
    rate, f_sum = _base_rates(y, classes, profile, b0, b1)
    mus = [rate[c == REST] * profile[c] for c in classes[b0:b1]]
    a, b = dispersion if dispersion is not None else pooled_dispersion([y], classes, profile, end_i, rules, frozen_at)
    base_var = [0.0, 0.0]
    for i, mu in zip(range(b0, b1), mus, strict=False):
        base_var[classes[i] == REST] += a * mu + b * mu * mu
    observed = expected = var = 0.0
    f_win = [0.0, 0.0]
    for i in range(w0, end_i + 1):
        fam = classes[i] == REST
        mu = rate[fam] * profile[classes[i]]
        observed += y[i]
        expected += mu
        var += a * mu + b * mu * mu
        f_win[fam] += profile[classes[i]]
    for k in (0, 1):  # the baseline's own uncertainty
        if f_sum[k]:
            var += (f_win[k] / f_sum[k]) ** 2 * base_var[k]
    return observed, expected, var


def tail_p(observed: float, expected: float, var: float, min_volume: float) -> float:
    if observed < min_volume:
        return 1.0
    if expected <= 0:
        return 0.0
    return nbinom_sf(observed, expected, max(var, expected))
