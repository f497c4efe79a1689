"""The evaluation job (监测评估): after each ingestion, progress, rise detection and deadline
clocks become findings in the core ``findings`` table, for the alerts to pick up.

Active findings are upserted per (hospital, rule, subject); a finding of one of monitoring's
rules that is no longer seen is marked inactive. Rise-test flags are kept per group and day so
persistence (2 of the last 3 evaluations) survives restarts.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from agent.clock import Clock
from agent.domain.deadlines import DEADLINE_RULES, deadline_findings
from agent.domain.detect import DetectRules, RiseTest, build_dept_series, build_series, detect_rises
from agent.domain.findings import Finding
from agent.domain.monitoring_model import DailyUsage, GenericGroup, ItemLink
from agent.domain.progress import ProductProgress
from agent.domain.reporting import PROGRESS_RULES, drift_findings, progress_findings, year_end_findings
from agent.domain.rise_evidence import RULE_RISE, contributors, rise_finding
from agent.jobs.figures import progress_of
from agent.jobs.ingest_items import department_names
from agent.monitoring_config import MonitoringConfig
from agent.ports import MonitoringInputs, WorkdayCalendar
from agent.store import Store
from agent.store.findings import write_findings
from agent.store.schema.core import findings
from agent.store.schema.monitoring import progress_snapshots, rise_history

RULES = (*PROGRESS_RULES, RULE_RISE, *DEADLINE_RULES)
MAX_SPAN = timedelta(days=400)  # how far back a rise under alert keeps its baseline (an agreement year and its baseline)


def evaluate(store: Store, inputs: MonitoringInputs, calendar: WorkdayCalendar, clock: Clock,
             cfg: Any = None) -> list[Finding]:
    """Run every monitoring rule as of now; store and return the active findings."""
    mcfg: MonitoringConfig = getattr(cfg, "monitoring", cfg) or MonitoringConfig()
    now = clock.now()
    today = now.date()
    links = inputs.item_links()
    link_map = {lk.item_code: lk for lk in links}
    progress = progress_of(inputs, inputs.product_years(today, today), today, mcfg.progress_rules(), calendar, link_map)
    found = progress_findings(progress, now) + year_end_findings(progress, now)
    found += drift_findings(progress, now, mcfg.drift_points)
    end = today - timedelta(days=1)  # the last closed day
    rises, tests = _rises(store, inputs, calendar, mcfg, now, end, links, link_map)
    found += rises
    found += deadline_findings(inputs.deadline_inputs(now), now, calendar, mcfg.deadline_rules())
    with store.begin() as conn:
        _record(conn, store.hospital_code, end, tests, now)
        write_findings(conn, store.hospital_code, found, now, replace_rules=RULES)
        _snapshot(conn, store.hospital_code, progress, now)
    return found


def _rises(store: Store, inputs: MonitoringInputs, calendar: WorkdayCalendar, mcfg: MonitoringConfig,
           now: datetime, end: date, links: list[ItemLink],
           link_map: dict[str, ItemLink]) -> tuple[list[Finding], list[RiseTest]]:
    rules = mcfg.detect_rules()
    start = plain = end - timedelta(days=rules.baseline_days + rules.window_days - 1)
    frozen = _rise_starts(store, end, rules)
    if frozen:  # a rise under alert is still measured against the weeks before it began
        start = min(start, max(min(frozen.values()) - timedelta(days=rules.baseline_days), end - MAX_SPAN))
    grouped = [lk.item_code for lk in links if lk.factor is not None]
    series = build_series(inputs.daily_usage(start, end, grouped), link_map, start, end)
    if not series:
        return [], []
    history = _history(store, end, rules.persistence_of - 1)
    rivals: dict[str, list[str]] = {}
    for lk in links:
        if not lk.winning and lk.factor is not None:
            rivals.setdefault(lk.group_id, []).append(lk.item_code)
    dept_rows: dict[str, list[DailyUsage]] = {}

    def by_dept(gids: list[str]) -> dict[str, dict[str, list[float]]]:
        wanted = [g for g in gids if g not in dept_rows and g in rivals]
        rows = list(inputs.dept_usage(start, end, [i for g in wanted for i in rivals[g]]))
        for g in wanted:
            dept_rows[g] = []
        for row in rows:
            dept_rows[link_map[row.item_code].group_id].append(row)
        return build_dept_series([r for g in gids for r in dept_rows.get(g, [])], link_map, start, end)

    tests = detect_rises(series, calendar, end, rules, history, dept_series=by_dept, frozen=frozen)
    groups = {g.group_id: g for g in inputs.groups()}
    baseline = (plain, end - timedelta(days=rules.window_days))
    out = []
    names = department_names(store) if any(t.alert for t in tests) else {}
    for t in tests:
        if not t.alert:
            continue
        group = groups.get(t.group_id) or GenericGroup(t.group_id, t.group_id, "")
        by_dept([t.group_id])
        since = frozen.get(t.group_id)
        span = (max(start, since - timedelta(days=rules.baseline_days)), since - timedelta(days=1)) if since else baseline
        evidence = contributors(dept_rows.get(t.group_id, []), link_map, t.group_id, span, t, mcfg.detect.top_departments)
        out.append(rise_finding(t, group, evidence, now, names))
    return out, tests


def _history(store: Store, end: date, days: int) -> dict[str, list[bool]]:
    if days <= 0:
        return {}
    t = rise_history
    with store.read() as conn:
        rows = conn.execute(
            select(t.c.group_id, t.c.day, t.c.flagged)
            .where(t.c.hospital_code == store.hospital_code, t.c.day >= end - timedelta(days=days), t.c.day < end)
            .order_by(t.c.day)
        ).all()
    out: dict[str, list[bool]] = {}
    for gid, _day, flagged in rows:
        out.setdefault(gid, []).append(bool(flagged))
    return out


def _rise_starts(store: Store, end: date, rules: DetectRules) -> dict[str, date]:
    """For each group whose rise alert is still active: the first day of the window that first
    flagged the current run of flagged evaluations (one unflagged evaluation does not end a run
    while the alert needs only ``persistence`` of ``persistence_of``)."""
    with store.read() as conn:
        active = [s for (s,) in conn.execute(select(findings.c.subject).where(
            findings.c.hospital_code == store.hospital_code, findings.c.rule == RULE_RISE, findings.c.active == 1))]
        if not active:
            return {}
        t = rise_history
        rows = conn.execute(
            select(t.c.group_id, t.c.day, t.c.flagged)
            .where(t.c.hospital_code == store.hospital_code, t.c.group_id.in_(active),
                   t.c.day >= end - MAX_SPAN, t.c.day < end)
            .order_by(t.c.group_id, t.c.day.desc())
        ).all()
    gaps_allowed = max(rules.persistence_of - rules.persistence, 0)
    out: dict[str, date] = {}
    state: dict[str, int] = {}  # unflagged evaluations met so far, walking back from the newest
    for gid, day, flagged in rows:
        if state.get(gid, 0) > gaps_allowed:
            continue
        if flagged:
            out[gid] = day - timedelta(days=rules.window_days - 1)
            state[gid] = 0
        else:
            state[gid] = state.get(gid, 0) + 1
    return out


def _record(conn: Any, hospital: str, end: date, tests: list[RiseTest], now: datetime) -> None:
    t = rise_history
    if not tests:
        return
    conn.execute(t.delete().where(t.c.hospital_code == hospital, t.c.day == end))
    conn.execute(t.insert(), [
        {"hospital_code": hospital, "group_id": x.group_id, "day": end, "flagged": int(x.flagged_now),
         "observed": x.observed, "expected": x.expected, "p_value": x.p_value, "q_value": x.q_value,
         "evaluated_at": now} for x in tests
    ])


def _snapshot(conn: Any, hospital: str, progress: list[ProductProgress], now: datetime) -> None:
    t = progress_snapshots
    if not progress:
        return
    conn.execute(t.delete().where(t.c.hospital_code == hospital, t.c.as_of.in_(sorted({p.as_of for p in progress}))))
    conn.execute(t.insert(), [
        {"hospital_code": hospital, "product_id": p.product.product_id, "year_start": p.product.year_start,
         "as_of": p.as_of, "programme": p.product.programme, "agreed": p.product.agreed_qty, "used": p.used,
         "completion": p.completion, "time_progress": p.time_progress, "status": p.status.value,
         "accepted": None if p.accepted_completion is None else p.accepted,
         "accepted_completion": p.accepted_completion, "evaluated_at": now} for p in progress
    ])
