"""A hospital group on one store: each agent records its programme figures as of today (``snapshot``);
``group_month`` reads every hospital's side by side. No hospital is recomputed with another's
configuration, and nothing below programme level is shared: aggregates only."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from agent.clock import Clock
from agent.domain.monitoring_model import ItemLink
from agent.domain.progress import ProductProgress
from agent.domain.reporting import ProgrammeSummary, month_bounds, programme_summaries
from agent.jobs.figures import progress_of, year_to_date_shares
from agent.monitoring_config import MonitoringConfig
from agent.ports import MonitoringInputs, WorkdayCalendar
from agent.store import Store
from agent.store import group as group_repo
from agent.store.group import Snapshot


def figures_of(s: ProgrammeSummary) -> dict[str, Any]:
    """The summary as stored: plain numbers and ISO dates (readable by any agent version)."""
    return {
        "start": s.start.isoformat(), "end": s.end.isoformat(), "time_progress": s.time_progress,
        "signed": s.signed, "zero": s.zero, "behind": s.behind, "over": s.over, "normal": s.normal,
        "agreed_qty": s.agreed_qty, "used_qty": s.used_qty, "completion": s.completion,
        "non_winning_total": s.non_winning_total, "non_winning_used": s.non_winning_used,
        "winning_amount": s.winning_amount, "non_winning_amount": s.non_winning_amount,
    }


def snapshot(store: Store, inputs: MonitoringInputs, calendar: WorkdayCalendar, clock: Clock,
             hospital_name: str, cfg: MonitoringConfig | None = None) -> int:
    """Record today's programme figures of this hospital; returns how many programmes."""
    today = clock.today()
    rules = (cfg or MonitoringConfig()).progress_rules()
    links = inputs.item_links()
    progress = progress_of(inputs, inputs.product_years(today, today), today, rules, calendar,
                           {lk.item_code: lk for lk in links})
    figures = programme_figures(inputs, calendar, progress, links, cfg)
    with store.begin() as tx:
        group_repo.save_day(tx, store.hospital_code, hospital_name, today, figures, clock.now())
    return len(figures)


def programme_figures(inputs: MonitoringInputs, calendar: WorkdayCalendar, progress: list[ProductProgress],
                      links: list[ItemLink], cfg: MonitoringConfig | None = None) -> dict[str, dict[str, Any]]:
    """Each programme's figures from ``progress`` (today's, as the evaluation computed them), as stored."""
    rules = (cfg or MonitoringConfig()).progress_rules()
    summaries = programme_summaries(progress, year_to_date_shares(inputs, progress, links), rules, calendar)
    return {s.programme: figures_of(s) for s in summaries}


def group_month(store: Store, month: str, today: date) -> list[Snapshot]:
    """Each hospital's figures as of the last day of ``month`` it recorded (today, for the running month)."""
    first, last = month_bounds(month)
    with store.read() as tx:
        return group_repo.latest_in(tx, first, min(last, today))


def stale(snapshots: list[Snapshot], month: str, today: date) -> list[str]:
    """Hospitals whose latest figures of the month are more than two days older than its end (or today)."""
    _first, last = month_bounds(month)
    edge = min(last, today) - timedelta(days=2)
    return sorted({s.hospital_code for s in snapshots if s.day < edge})
