"""Non-winning rise detection (非中选产品使用量上升预警) per generic group.

Each evaluation compares the last ``window_days`` of non-winning usage with what the preceding
``baseline_days`` (12 weeks) predict for the same kinds of day: Monday..Friday working days and adjusted
working weekends (调休上班) scaled by a weekday profile pooled over the hospital, rest days and
holidays at their own rate. The tail probability of the observed total comes from a negative
binomial whose dispersion is fitted to the group's own baseline (plus the uncertainty of the
baseline itself). Groups that pass a loose screen are scanned department by department (科室), the
departments sharing one dispersion fit, since a rise carried by one department is diluted in the
group total. Shorter windows (5 and 3 days) are tested too, combined by Simes, so a rise
that began a few days ago is not diluted by the days before it. Benjamini-Hochberg across groups,
a minimum volume, a minimum effect and persistence (2 of the last 3 evaluations, or one
overwhelming evaluation) keep false alarms rare.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from agent.domain.monitoring_model import DailyUsage, ItemLink
from agent.domain.rise_baseline import REST, DetectRules, baseline_span, pooled_dispersion, tail_p, window_test
from agent.domain.stats import benjamini_hochberg, simes
from agent.domain.workdays import WorkdayCalendar

__all__ = ["REST", "DetectRules", "GroupSeries", "RiseScreen", "RiseTest", "build_dept_series", "build_series",
           "day_classes", "detect_rises", "pooled_dispersion", "rise_starts", "screen_rises", "weekday_profile"]


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


def day_classes(calendar: WorkdayCalendar, start: date, n: int) -> list[int]:
    out = []
    for i in range(n):
        day = start + timedelta(days=i)
        wd = day.weekday()
        out.append((wd if wd < 5 else 5) if calendar.is_workday(day) else REST)
    return out


def build_series(rows: Iterable[DailyUsage], links: Mapping[str, ItemLink], start: date, end: date) -> dict[str, GroupSeries]:
    n = (end - start).days + 1
    start_ord = start.toordinal()
    out: dict[str, GroupSeries] = {}
    where: dict[str, tuple[list[float], list[float] | None, float] | None] = {}
    for row in rows:
        code = row.item_code
        if code in where:
            target = where[code]
        else:
            link = links.get(code)
            if link is None or link.factor is None:
                target = None
            else:
                s = out.get(link.group_id)
                if s is None:
                    s = out[link.group_id] = GroupSeries(link.group_id, start, [0.0] * n, [0.0] * n)
                target = (s.total, None if link.winning else s.non_winning, link.factor)
            where[code] = target
        if target is None:
            continue
        i = row.day.toordinal() - start_ord
        if 0 <= i < n:
            total, rival, factor = target
            qty = row.qty * factor
            total[i] += qty
            if rival is not None:
                rival[i] += qty
    return out


def build_dept_series(rows: Iterable[DailyUsage], links: Mapping[str, ItemLink], start: date,
                      end: date) -> dict[str, dict[str, list[float]]]:
    """Non-winning units per group, department and day (index 0 = ``start``)."""
    n = (end - start).days + 1
    out: dict[str, dict[str, list[float]]] = {}
    for row in rows:
        link = links.get(row.item_code)
        if link is None or link.winning or link.factor is None:
            continue
        i = (row.day - start).days
        if 0 <= i < n:
            depts = out.setdefault(link.group_id, {})
            y = depts.get(row.dept)
            if y is None:
                y = depts[row.dept] = [0.0] * n
            y[i] += row.qty * link.factor
    return out

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


DeptSeries = Mapping[str, Mapping[str, Sequence[float]]]  # group id -> department -> daily non-winning units


@dataclass(frozen=True)
class RiseScreen:
    """The group-level pass of :func:`detect_rises`: every group tested on its own total, and
    ``scan``, the groups that pass the loose screen (``screen_p``, ``min_effect``) and whose
    departments are worth scanning. The caller reads those departments' usage, then hands this
    screen back to :func:`detect_rises` with them: nothing is read while detection runs."""

    start: date
    end_i: int
    classes: Sequence[int]
    profile: list[float]
    windows: list[int]
    frozen_at: dict[str, int]  # group id -> index of the day its rise began, when its baseline is kept
    raw: dict[str, tuple[float, float, float, int]]  # group id -> (observed, expected, p, window)
    scan: list[str]


def screen_rises(series: Mapping[str, GroupSeries], calendar: WorkdayCalendar, end: date,
                 rules: DetectRules = DetectRules(), classes: Sequence[int] | None = None,
                 frozen: Mapping[str, date] | None = None) -> RiseScreen:
    """The first pass of :func:`detect_rises` over a non-empty ``series`` (same arguments)."""
    start = next(iter(series.values())).start
    end_i = (end - start).days
    n = end_i + 1
    classes = classes if classes is not None else day_classes(calendar, start, n)
    w0 = end_i - rules.window_days + 1
    profile = weekday_profile(series.values(), classes, max(w0 - rules.baseline_days, 0), w0)
    windows = sorted({rules.window_days, *(w for w in rules.short_windows if 0 < w < rules.window_days)}, reverse=True)
    fz = {gid: i for gid, day in (frozen or {}).items() if gid in series
          for i in [(day - start).days] if rules.freeze_min_days <= i < w0}
    raw = {gid: _best_window(s.non_winning, classes, profile, end_i, rules, windows, frozen_at=fz.get(gid))
           for gid, s in series.items()}
    screened = [gid for gid, (obs, exp, p, _w) in raw.items()
                if p < rules.screen_p and (exp <= 0 or obs / exp - 1 >= rules.min_effect)]
    return RiseScreen(start, end_i, classes, profile, windows, fz, raw, screened)


def detect_rises(series: Mapping[str, GroupSeries], calendar: WorkdayCalendar, end: date,
                 rules: DetectRules = DetectRules(), history: Mapping[str, Sequence[bool]] | None = None,
                 classes: Sequence[int] | None = None, dept_series: DeptSeries | None = None,
                 frozen: Mapping[str, date] | None = None, screen: RiseScreen | None = None) -> list[RiseTest]:
    """One test per group for the window ending on ``end``. ``history`` holds each group's
    earlier ``flagged_now`` values, oldest first.

    With ``dept_series`` (group id -> department -> daily non-winning units, same start; only the
    groups in the screen's ``scan`` are looked up, so the caller need read no others), the groups
    that pass a loose screen are also scanned department by department: a rise carried by one
    department stands out there. The departments share one dispersion fit; each group's p-value is
    the Simes combination of the group test and its best department test (x the number of
    departments). BH runs at ``fdr``, capped at ``fdr_per_group`` x the number of groups.

    ``frozen`` (group id -> the day a rise still under alert began) keeps those groups' baselines
    before that day, while at least ``freeze_min_days`` of it lie inside the series: a rise that
    goes on stays a rise instead of becoming, week by week, its own baseline.

    ``screen``: the first pass, from :func:`screen_rises` with the same arguments, when the caller
    has already run it (to know which departments to read); computed here otherwise."""
    if not series:
        return []
    sc = screen if screen is not None else screen_rises(series, calendar, end, rules, classes, frozen)
    end_i, classes, profile, windows, fz, raw = sc.end_i, sc.classes, sc.profile, sc.windows, sc.frozen_at, sc.raw
    n = end_i + 1
    w0 = end_i - rules.window_days + 1
    p_final = {gid: r[2] for gid, r in raw.items()}
    if dept_series is not None:
        by_dept = {gid: dept_series[gid] for gid in sc.scan if gid in dept_series}
        for gid, (_obs, _exp, p, _w) in raw.items():
            ys = [y for y in by_dept.get(gid, {}).values() if sum(y[max(w0 - rules.baseline_days, 0):w0]) > 0]
            disp = (pooled_dispersion(ys, classes, profile, end_i, rules, fz.get(gid))
                    if rules.pool_dispersion and len(ys) > 1 else None)
            dept_ps = [_best_window(y, classes, profile, end_i, rules, windows, rules.dept_min_volume, disp, fz.get(gid))[2]
                       for y in ys]
            best = min(1.0, min(dept_ps) * len(dept_ps)) if dept_ps else 1.0
            p_final[gid] = simes([p, best])
    gids = list(series)
    q = benjamini_hochberg([p_final[g] for g in gids])
    level = min(rules.fdr, rules.fdr_per_group * len(gids)) if rules.fdr_per_group > 0 else rules.fdr
    history = history or {}
    out = []
    for gid, qv in zip(gids, q, strict=True):
        s = series[gid]
        obs, exp, _p, window = raw[gid]
        eligible = obs >= rules.min_volume
        effect = obs / exp - 1.0 if exp > 0 else float("inf") if obs > 0 else 0.0
        flagged = eligible and qv <= level and effect >= rules.min_effect
        past = list(history.get(gid, ()))[-(rules.persistence_of - 1):] if rules.persistence_of > 1 else []
        alert = flagged and (sum(past) + 1 >= rules.persistence or qv <= level * rules.overwhelming)
        out.append(RiseTest(gid, end, obs, exp, effect, p_final[gid], qv, _share(s, *baseline_span(end_i, rules, fz.get(gid))),
                            _share(s, n - window, n), eligible, flagged, alert, window))
    return out


def _best_window(y: Sequence[float], classes: Sequence[int], profile: Sequence[float], end_i: int,
                 rules: DetectRules, windows: Sequence[int], min_volume: float | None = None,
                 dispersion: tuple[float, float] | None = None,
                 frozen_at: int | None = None) -> tuple[float, float, float, int]:
    """(observed, expected, p, window): the figures of the window with the smallest p, and the
    Simes combination of every window's p."""
    best: tuple[float, float, float, int] | None = None
    ps = []
    for w in windows:
        obs, exp, var = window_test(y, classes, profile, end_i, rules, w, dispersion, frozen_at)
        # a window below the minimum effect can never flag: spare its tail (p = 1 only makes BH stricter)
        hopeless = exp > 0 and obs / exp - 1.0 < rules.min_effect
        p = 1.0 if hopeless else tail_p(obs, exp, var, rules.min_volume if min_volume is None else min_volume)
        ps.append(p)
        if best is None or p < best[2]:
            best = (obs, exp, p, w)
    assert best is not None
    return best[0], best[1], simes(ps), best[3]


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
