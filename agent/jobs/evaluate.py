"""The evaluation job (监测评估): after each ingestion, progress, rise detection, returns exceeding a
month of issues (data quality) and deadline clocks become findings in the core ``findings`` table, for the alerts to pick up.

Active findings are upserted per (hospital, rule, subject); a finding of one of monitoring's
rules that is no longer seen is marked inactive. Rise-test flags are kept per group and day so
persistence (2 of the last 3 evaluations) survives restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from agent.clock import Clock
from agent.domain.deadlines import DEADLINE_RULES, deadline_findings
from agent.domain.detect import RiseTest, add_products, build_series, day_classes, detect_rises, rise_starts
from agent.domain.findings import Finding
from agent.domain.kept_tests import KeptTests
from agent.domain.monitoring_model import DailyUsage, GenericGroup, ItemLink
from agent.domain.net_negative import (
    RULE_NET_NEGATIVE,
    net_negative_finding,
    net_negative_usage,
    reading_span,
)
from agent.domain.prescriber_share import (
    RULE_PRESCRIBER,
    PrescriberShare,
    ShareRules,
    concentrated_prescribers,
    prescriber_finding,
)
from agent.domain.progress import ProductProgress
from agent.domain.reporting import PROGRESS_RULES, drift_findings, progress_findings, year_end_findings
from agent.domain.rise_cells import cell_series
from agent.domain.rise_evidence import RULE_RISE, contributors, rise_finding
from agent.domain.rival_stop import RULE_STOPPED, stopped_finding, stopped_groups
from agent.domain.usage_series import UsageSeries, series_rows
from agent.jobs.figures import progress_of
from agent.jobs.gcpause import collection_paused
from agent.jobs.group import programme_figures
from agent.jobs.ingest_items import department_names
from agent.monitoring_config import MonitoringConfig
from agent.ports import MonitoringInputs, WorkdayCalendar
from agent.store import Store
from agent.store.findings import write_findings
from agent.store.group import save_day
from agent.store.monitoring import flags_under_alert, record_rise_tests, rise_flags, write_progress

RULES = (*PROGRESS_RULES, RULE_RISE, RULE_PRESCRIBER, RULE_STOPPED, RULE_NET_NEGATIVE, *DEADLINE_RULES)
MAX_SPAN = timedelta(days=400)  # how far back a rise under alert keeps its baseline (an agreement year and its baseline)


@dataclass(frozen=True)
class Assessment:
    """Every monitoring rule's view of one moment: the findings, the progress table and the rise
    tests (the last closed day ``end``), computed without writing anything, with the item links
    and settings they were computed from."""

    now: datetime
    found: list[Finding]
    progress: list[ProductProgress]
    tests: list[RiseTest]
    end: date
    links: list[ItemLink]
    config: MonitoringConfig


def assess(store: Store, inputs: MonitoringInputs, calendar: WorkdayCalendar, now: datetime,
           cfg: Any = None, kept: KeptTests | None = None) -> Assessment:
    """Run every monitoring rule as of ``now``; reads the store, writes nothing (``vbp-agent
    evaluate --as-of`` shows a past day with it). ``kept``: the daemon's rise tests from its last
    evaluation, given again where nothing they were computed from changed."""
    mcfg: MonitoringConfig = getattr(cfg, "monitoring", cfg) or MonitoringConfig()
    today = now.date()
    links = inputs.item_links()
    link_map = {lk.item_code: lk for lk in links}
    progress = progress_of(inputs, inputs.product_years(today, today), today, mcfg.progress_rules(), calendar, link_map)
    found = progress_findings(progress, now) + year_end_findings(progress, now)
    found += drift_findings(progress, now, mcfg.drift_points)
    end = today - timedelta(days=1)  # the last closed day
    rises, tests = _rises(store, inputs, calendar, mcfg, now, end, links, link_map, kept)
    found += rises
    found += _net_negative(store, inputs, links, now, end)
    found += deadline_findings(inputs.deadline_inputs(now), now, calendar, mcfg.deadline_rules())
    return Assessment(now, found, progress, tests, end, links, mcfg)


def evaluate(store: Store, inputs: MonitoringInputs, calendar: WorkdayCalendar, clock: Clock,
             cfg: Any = None, hospital_name: str | None = None, kept: KeptTests | None = None) -> list[Finding]:
    """Run every monitoring rule as of now; store and return the active findings. With
    ``hospital_name`` (the daemon's), today's programme figures are recorded too, for the group's
    side by side (``report group``), from the progress just computed; with ``kept`` (the
    daemon's), the rise tests of groups whose figures did not change since its last evaluation are
    not computed again."""
    now = clock.now()
    with collection_paused():
        a = assess(store, inputs, calendar, now, cfg, kept)
    figures = None if hospital_name is None else programme_figures(inputs, calendar, a.progress, a.links, a.config)
    with store.begin() as conn:
        record_rise_tests(conn, store.hospital_code, a.end, a.tests, now)
        write_findings(conn, store.hospital_code, a.found, now, replace_rules=RULES)
        write_progress(conn, store.hospital_code, a.progress, now)
        if hospital_name is not None and figures is not None:
            save_day(conn, store.hospital_code, hospital_name, now.date(), figures, now)
    return a.found


def as_of_moment(day: date, now: datetime) -> datetime:
    """The moment ``--as-of DAY`` stands for: now when DAY is today (or later), else the day's last second."""
    if day >= now.date():
        return now
    return datetime.combine(day, time(23, 59, 59), now.tzinfo)


def _rises(store: Store, inputs: MonitoringInputs, calendar: WorkdayCalendar, mcfg: MonitoringConfig,
           now: datetime, end: date, links: list[ItemLink],
           link_map: dict[str, ItemLink], kept: KeptTests | None = None) -> tuple[list[Finding], list[RiseTest]]:
    """Read, then detect: the flags, the groups' daily usage and every non-winning item's usage
    per department (and prescriber) first; the domain computes on what was read and calls
    nothing back. Every cell of every group is tested: there is no screen deciding what to read."""
    rules = mcfg.detect_rules()
    start = end - timedelta(days=rules.baseline_days + rules.window_days - 1)
    with store.read() as conn:
        frozen = rise_starts(flags_under_alert(conn, store.hospital_code, end - MAX_SPAN, end), rules)
    if frozen:  # a rise under alert is still measured against the weeks before it began
        start = min(start, max(min(frozen.values()) - timedelta(days=rules.baseline_days), end - MAX_SPAN))
    rivals = [lk.item_code for lk in links if not lk.winning and lk.factor is not None]
    winning = [lk.item_code for lk in links if lk.winning and lk.factor is not None]
    # the cells' level and dispersion come from the last level_days before each window (or before a
    # rise under alert began): only those days are read per department and prescriber
    longest = max((rules.window_days, *rules.long_windows))
    level_from = max(start, end - timedelta(days=rules.level_days + longest - 1))
    if frozen:
        level_from = max(start, min(level_from, min(frozen.values()) - timedelta(days=rules.level_days)))
    # the store reads by day first: the level span once for the rivals by department and once for
    # the winning items' daily sums (their departments and prescribers are many and not needed),
    # the days before it once for every item's daily sums
    got = inputs.usage_series(level_from, end, rivals) if rivals else {}
    cells = cell_series(got, link_map, start, end, level_from)
    before = inputs.usage_series(start, level_from - timedelta(days=1), [*winning, *rivals], departments=False) \
        if (winning or rivals) and level_from > start else {}
    series = build_series(before, link_map, start, end)
    if winning:
        build_series(inputs.usage_series(level_from, end, winning, departments=False), link_map, start, end, level_from,
                     series)
    add_products(series, cells.units, start, end)  # the rivals' days from level_from: their product cells
    if not series:
        return [], []
    history = _history(store, end, rules.persistence_of - 1)
    classes = day_classes(calendar, start, (end - start).days + 1)  # the series' days, for detection and the stop notice
    tests = detect_rises(series, calendar, end, rules, history, classes, cells=cells.units, frozen=frozen, lines=cells.lines,
                         kept=kept)
    alerts = [t for t in tests if t.alert]
    groups = {g.group_id: g for g in inputs.groups()}

    def group_of(gid: str) -> GenericGroup:
        return groups.get(gid) or GenericGroup(gid, gid, "")

    shares = _prescriber_shares(inputs, got, level_from, links, link_map, end)
    names = department_names(store) if alerts or shares else {}
    out = [prescriber_finding(sh, group_of(sh.group_id), now, ShareRules().days, names) for sh in shares]
    products = {lk.item_code: lk.name for lk in links}
    units = {lk.group_id: lk.smallest_unit for lk in links if lk.winning and lk.smallest_unit}
    out += [stopped_finding(st, group_of(st.group_id), now, products=products, unit=units.get(st.group_id) or "单位")
            for st in stopped_groups(series, cells.units, cells.lines, classes, end)]
    if alerts:
        alerted = {t.group_id for t in alerts}
        by_group: dict[str, list[DailyUsage]] = {}
        for row in series_rows(got, level_from, lambda key: link_map[key[0]].group_id in alerted):
            by_group.setdefault(link_map[row.item_code].group_id, []).append(row)
        for t in alerts:
            group = group_of(t.group_id)
            since = frozen.get(t.group_id)
            window = max(t.window_days, rules.window_days)  # the level before the window that gave the figures
            since = min(since, end - timedelta(days=window - 1)) if since else end - timedelta(days=window - 1)
            span = (max(level_from, since - timedelta(days=rules.level_days)), since - timedelta(days=1))
            evidence = contributors(by_group.get(t.group_id, []), link_map, t.group_id, span, t,
                                    mcfg.detect.top_departments)
            out.append(rise_finding(t, group, evidence, now, names, products, units.get(t.group_id) or "单位"))
    return out, tests


def _net_negative(store: Store, inputs: MonitoringInputs, links: list[ItemLink], now: datetime, end: date) -> list[Finding]:
    """Returns exceeding a month of issues, per item and department (a data-quality finding). The
    store names the last week's days below zero; the month before them is read only for those items."""
    first, _ = reading_span(end, span_days=1)
    recent = inputs.negative_days(first, end, [lk.item_code for lk in links]) if links else []
    suspects = sorted({r.item_code for r in recent})
    if not suspects:
        return []
    a, b = reading_span(end)
    found = net_negative_usage(inputs.dept_usage(a, b, suspects), end)
    if not found:
        return []
    names, products = department_names(store), {lk.item_code: lk.name for lk in links}
    return [net_negative_finding(n, now, names, products) for n in found]


def _prescriber_shares(inputs: MonitoringInputs, got: UsageSeries, got_from: date, links: list[ItemLink],
                       link_map: dict[str, ItemLink], end: date) -> list[PrescriberShare]:
    """Prescribers whose non-winning share of a group stands far above their department's, where
    the source gives prescribers (``got``: the rivals' series from ``got_from``): the winning items
    of those groups are read for their shares."""
    rules = ShareRules()
    first = end - timedelta(days=rules.days - 1)
    recent = series_rows(got, got_from, lambda key: bool(key[2]), since=first)
    if not recent:
        return []
    gids = {link_map[r.item_code].group_id for r in recent}
    winning = [lk.item_code for lk in links if lk.winning and lk.factor is not None and lk.group_id in gids]
    recent += [r for r in inputs.dept_usage(first, end, winning) if r.prescriber] if winning else []
    return concentrated_prescribers(recent, link_map, end, rules)


def _history(store: Store, end: date, days: int) -> dict[str, list[bool]]:
    if days <= 0:
        return {}
    with store.read() as conn:
        return rise_flags(conn, store.hospital_code, end - timedelta(days=days), end)
