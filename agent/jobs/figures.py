"""Progress and group shares from ``MonitoringInputs``: the figures both the evaluation job and the
reports use. Usage is read as sums over a few date ranges (one per agreement-year start), so
the store does the adding."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache

from agent.domain.acceptance import AcceptedSum, accepted_units
from agent.domain.group_share import GroupShare, group_shares
from agent.domain.monitoring_model import ItemLink, ProductYear
from agent.domain.progress import (
    ProductProgress,
    ProgressRules,
    product_progress,
    recent_window,
    smallest_units,
    time_progress,
)
from agent.domain.reporting import ProgrammeSummary, summarise
from agent.ports import MonitoringInputs, WorkdayCalendar


def progress_of(inputs: MonitoringInputs, products: Iterable[ProductYear], as_of: date, rules: ProgressRules,
                calendar: WorkdayCalendar | None, links: dict[str, ItemLink] | None = None) -> list[ProductProgress]:
    """Progress of each product-year as of ``as_of`` (clipped to its agreement year)."""
    links = links if links is not None else {lk.item_code: lk for lk in inputs.item_links()}
    # one store query per distinct range: many products share their agreement year's range

    @cache
    def sums(a: date, b: date) -> dict[str, tuple[float, float]]:
        """Per-product usage in smallest units."""
        return smallest_units(inputs.usage_totals(a, b), links)

    @cache
    def accepted(a: date, b: date) -> dict[str, AcceptedSum] | None:
        """Per-product acceptances in smallest units; None without any warehouse receipt."""
        totals = inputs.accepted_totals(a, b)
        return None if totals is None else accepted_units(totals, links)

    out = []
    for prod in products:
        day = min(as_of, prod.year_end)
        if day < prod.year_start:
            continue
        used, amount = sums(prod.year_start, day).get(prod.product_id, (0.0, 0.0))
        a, b = recent_window(prod, day, rules.recent_days)
        recent = sums(a, b).get(prod.product_id, (0.0, 0.0))[0]
        p = product_progress(prod, day, used, amount, recent, rules, calendar)
        out.append(_with_acceptance(p, accepted(prod.year_start, day)))
    out.sort(key=lambda p: (p.product.programme, p.product.name, p.product.product_id, p.product.year_start))
    return out


def _with_acceptance(p: ProductProgress, by_product: dict[str, AcceptedSum] | None) -> ProductProgress:
    """Completion by acceptance beside completion by usage: none without receipts for its items, or
    when every on-platform line was left out (its unit unknown)."""
    acc = (by_product or {}).get(p.product.product_id)
    if acc is None or not acc.received:
        return p
    agreed = p.product.agreed_qty
    known = acc.qty > 0 or not acc.unconvertible
    completion = (acc.qty / agreed if agreed > 0 else 0.0) if known else None
    return dataclasses.replace(p, accepted=acc.qty, accepted_completion=completion,
                               accepted_unconvertible=acc.unconvertible)


def shares_between(inputs: MonitoringInputs, day_from: date, day_to: date, links: list[ItemLink]) -> list[GroupShare]:
    return group_shares(inputs.groups(), links, inputs.usage_totals(day_from, day_to))


def year_to_date_shares(inputs: MonitoringInputs, progress: list[ProductProgress], links: list[ItemLink]) -> list[GroupShare]:
    """Each programme's groups over its own agreement year to date."""
    groups = inputs.groups()
    starts: dict[str, tuple[date, date]] = {}
    for p in progress:
        s = starts.get(p.product.programme)
        starts[p.product.programme] = (min(s[0], p.product.year_start) if s else p.product.year_start,
                                       max(s[1], p.as_of) if s else p.as_of)
    out: list[GroupShare] = []
    for programme, (a, b) in sorted(starts.items()):
        mine = [g for g in groups if g.programme == programme]
        out += group_shares(mine, links, inputs.usage_totals(a, b))
    return out


def programme_summaries(progress: list[ProductProgress], shares: list[GroupShare], rules: ProgressRules,
                        calendar: WorkdayCalendar | None) -> list[ProgrammeSummary]:
    """One summary per programme and agreement year; a programme with two agreement years in
    ``progress`` (a renewal) gets one row per year, labelled with its start."""
    years: dict[str, set[date]] = {}
    for p in progress:
        years.setdefault(p.product.programme, set()).add(p.product.year_start)
    out = []
    for programme in sorted(years):
        groups = [g for g in shares if g.group.programme == programme]
        for start in sorted(years[programme]):
            mine = [p for p in progress if p.product.programme == programme and p.product.year_start == start]
            end = max(p.product.year_end for p in mine)
            tp = time_progress(start, end, max(p.as_of for p in mine), rules.time_basis, calendar)
            label = programme if len(years[programme]) == 1 else f"{programme}（{start.isoformat()}起）"
            # non-winning figures belong to the programme, shown once, on its latest year
            out.append(summarise(label, mine, groups if start == max(years[programme]) else [], tp))
    return out


def month_bounds(month: str) -> tuple[date, date]:
    first = date.fromisoformat(f"{month}-01")
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)
