"""Progress and group shares from ``MonitoringInputs``: the figures both the evaluation job and the
reports use. Usage is read as sums over a few date ranges (one per agreement-year start), so
the store does the adding."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache

from agent.domain.acceptance import AcceptedSum, accepted_units, with_acceptance
from agent.domain.group_share import GroupShare, group_shares
from agent.domain.monitoring_model import ItemLink, ProductYear
from agent.domain.online_rate import OnlineRate, online_rates, periods
from agent.domain.progress import ProductProgress, ProgressRules, product_progress, recent_window, smallest_units
from agent.domain.reporting import programme_spans
from agent.monitoring_config import MonitoringConfig
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
        out.append(with_acceptance(p, accepted(prod.year_start, day)))
    out.sort(key=lambda p: (p.product.programme, p.product.name, p.product.product_id, p.product.year_start))
    return out


def shares_between(inputs: MonitoringInputs, day_from: date, day_to: date, links: list[ItemLink]) -> list[GroupShare]:
    return group_shares(inputs.groups(), links, inputs.usage_totals(day_from, day_to))


def year_to_date_shares(inputs: MonitoringInputs, progress: list[ProductProgress], links: list[ItemLink]) -> list[GroupShare]:
    """Each programme's groups over its own agreement year to date."""
    groups = inputs.groups()
    out: list[GroupShare] = []
    for programme, (a, b) in sorted(programme_spans(progress).items()):
        mine = [g for g in groups if g.programme == programme]
        out += group_shares(mine, links, inputs.usage_totals(a, b))
    return out



def online_rate_table(inputs: MonitoringInputs, as_of: date, mcfg: MonitoringConfig | None = None) -> list[OnlineRate]:
    """网采率 for the month, each agreement year running on ``as_of`` and the calendar year, each to ``as_of``."""
    d = (mcfg or MonitoringConfig()).deadlines
    floors = {"drug": d.online_rate_drug, "high_value_consumable": d.online_rate_hv_consumable}
    starts = [p.year_start for p in inputs.product_years(as_of, as_of)]
    return online_rates([(p, inputs.purchase_mix(p.start, p.end)) for p in periods(as_of, starts)], floors)
