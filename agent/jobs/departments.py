"""Department allocation (科室分配): proposals from last year's usage, each department's progress
against its confirmed share, and the finding for a department far behind (routed by its label).

Usage per department is read only for the winning items of products that have a split, over
their agreement year to date (the store sums it per day x item x department)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from agent.catalogue.allocations import AllocationRow
from agent.clock import Clock
from agent.domain.departments import (
    DEPT_BEHIND_POINTS,
    RULE_DEPT_BEHIND,
    DeptProgress,
    dept_findings,
    dept_progress,
    propose_split,
)
from agent.domain.findings import Finding
from agent.domain.monitoring_model import ItemLink, ProductYear
from agent.domain.progress import ProductProgress
from agent.domain.reporting import MonthlyReport
from agent.errors import DataError
from agent.jobs.figures import progress_of
from agent.jobs.ingest_items import department_names
from agent.monitoring_config import MonitoringConfig
from agent.ports import MonitoringInputs, WorkdayCalendar
from agent.store import Store
from agent.store.bureau import Allocation, allocations, replace_allocations
from agent.store.findings import write_findings

Key = tuple[str, date]  # (product id, agreement year start)


def _splits(rows: Iterable[Allocation]) -> dict[Key, dict[str, float]]:
    out: dict[Key, dict[str, float]] = {}
    for a in rows:
        out.setdefault((a.product_key, a.year_start), {})[a.dept_code] = a.quantity
    return out


def dept_units(inputs: MonitoringInputs, product_id: str, first: date, last: date,
               links: Sequence[ItemLink]) -> dict[str, float]:
    """A product's usage per department over [first, last], in smallest units (factorless items skipped)."""
    factors = {lk.item_code: lk.factor for lk in links if lk.product_id == product_id and lk.factor is not None}
    out: dict[str, float] = {}
    if not factors or last < first:
        return out
    for row in inputs.dept_usage(first, last, sorted(factors)):
        out[row.dept] = out.get(row.dept, 0.0) + row.qty * (factors[row.item_code] or 0.0)
    return out


def department_rows(inputs: MonitoringInputs, progress: Sequence[ProductProgress], store: Store,
                    links: Sequence[ItemLink] | None = None) -> list[DeptProgress]:
    """Each confirmed split's departments against their share, as of each product's as-of day."""
    with store.read() as conn:
        splits = _splits(allocations(conn, store.hospital_code, confirmed_only=True))
    links = list(links if links is not None else inputs.item_links())
    used = {(p.product.product_id, p.product.year_start): dept_units(inputs, p.product.product_id, p.product.year_start,
                                                                        p.as_of, links)
            for p in progress if (p.product.product_id, p.product.year_start) in splits}
    return dept_progress(progress, splits, used)


def check_departments(store: Store, inputs: MonitoringInputs, calendar: WorkdayCalendar, clock: Clock,
                      mcfg: MonitoringConfig | None = None, points: float = DEPT_BEHIND_POINTS) -> list[Finding]:
    """The daily check: a department far behind its share is a finding labelled with it."""
    mcfg = mcfg or MonitoringConfig()
    now = clock.now()
    today = now.date()
    links = inputs.item_links()
    with store.read() as conn:
        split_keys = set(_splits(allocations(conn, store.hospital_code, confirmed_only=True)))
    years = [p for p in inputs.product_years(today, today) if (p.product_id, p.year_start) in split_keys]
    progress = progress_of(inputs, years, today, mcfg.progress_rules(), calendar, {lk.item_code: lk for lk in links})
    found = dept_findings(department_rows(inputs, progress, store, links), now, department_names(store), points)
    with store.begin() as conn:
        write_findings(conn, store.hospital_code, found, now, replace_rules=[RULE_DEPT_BEHIND])
    return found


def propose_allocations(store: Store, inputs: MonitoringInputs, clock: Clock, *, replace: bool = False) -> list[tuple[ProductYear, dict[str, float]]]:
    """Proposals for the agreement years running today: the agreed volume split by each
    department's share of the year before; stored unconfirmed. A product-year that already has a
    split keeps it unless ``replace``."""
    today, now = clock.today(), clock.now()
    links = inputs.item_links()
    with store.read() as conn:
        have = set(_splits(allocations(conn, store.hospital_code)))
    out = []
    for p in inputs.product_years(today, today):
        if (p.product_id, p.year_start) in have and not replace:
            continue
        last_year = dept_units(inputs, p.product_id, p.year_start - timedelta(days=365), p.year_start - timedelta(days=1), links)
        split = propose_split(p.agreed_qty, last_year)
        if split:
            out.append((p, split))
    with store.begin() as conn:
        for p, split in out:
            replace_allocations(conn, store.hospital_code, p.product_id, p.year_start, p.programme, split, "proposed",
                                now, None)
    return out


def import_allocations(store: Store, inputs: MonitoringInputs, clock: Clock, rows: Sequence[AllocationRow], by: str,
                       source: str) -> list[tuple[ProductYear, dict[str, float]]]:
    """A sheet's splits for the agreement years running today, confirmed by ``by`` as imported.

    Refused whole (nothing written) when a product is unknown or a split exceeds its agreed volume."""
    today, now = clock.today(), clock.now()
    running = {p.product_id: p for p in inputs.product_years(today, today)}
    splits: dict[str, dict[str, float]] = {}
    for r in rows:
        p = running.get(r.product)
        if p is None:
            raise DataError(f"{source}: row {r.row}: 产品编码 {r.product} has no agreement year running on "
                            f"{today.isoformat()} (import the winners and volumes first)")
        qty = float(r.qty) if r.qty is not None else float(r.share or 0) * p.agreed_qty
        dept = splits.setdefault(r.product, {})
        dept[r.dept] = dept.get(r.dept, 0.0) + qty
    for key, split in splits.items():
        p = running[key]
        if sum(split.values()) > p.agreed_qty * 1.001:
            raise DataError(f"{source}: 产品编码 {key}: the departments' allocations add up to {sum(split.values()):,.0f}, "
                            f"more than the agreed volume {p.agreed_qty:,.0f}")
    with store.begin() as conn:
        for key, split in splits.items():
            p = running[key]
            replace_allocations(conn, store.hospital_code, p.product_id, p.year_start, p.programme, split, "sheet", now, by)
    return [(running[k], s) for k, s in splits.items()]


def with_departments(report: MonthlyReport, inputs: MonitoringInputs, store: Store) -> MonthlyReport:
    """The monthly report with its 科室分配进度 (confirmed splits, as of the month's end)."""
    rows = department_rows(inputs, report.products, store)
    return dataclasses.replace(report, departments=rows, department_names=department_names(store) if rows else {})
