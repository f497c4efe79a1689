"""Assemble the monthly and yearly reports from ``MonitoringInputs`` (writers live in
``agent.reports``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from agent.clock import Clock
from agent.domain.findings import Finding
from agent.domain.reporting import AnnualReport, MonthlyReport, month_bounds, programme_summaries
from agent.errors import ConfigError
from agent.jobs.departments import with_departments
from agent.jobs.figures import online_rate_table, progress_of, shares_between, year_to_date_shares
from agent.jobs.uploads import with_uploads
from agent.monitoring_config import MonitoringConfig
from agent.ports import MonitoringInputs, WorkdayCalendar
from agent.reports.monthly import write_monthly
from agent.store import Store


def monthly_report(inputs: MonitoringInputs, calendar: WorkdayCalendar, month: str, hospital_code: str,
                   hospital_name: str, cfg: MonitoringConfig | None = None, as_of: date | None = None) -> MonthlyReport:
    """带量执行报表 for ``month`` (YYYY-MM) as of its last day, or as of ``as_of`` when that comes
    first (a month still running is counted to today, 序时进度 of today): agreement years running
    that day, counted from their start to it; 一院一档 usage of the month to that day."""
    rules = (cfg or MonitoringConfig()).progress_rules()
    first, last = month_bounds(month)
    if as_of is not None:
        if as_of < first:
            raise ConfigError(f"--as-of {as_of.isoformat()}: before the month {month} begins")
        last = min(last, as_of)
    links = inputs.item_links()
    link_map = {lk.item_code: lk for lk in links}
    progress = progress_of(inputs, inputs.product_years(last, last), last, rules, calendar, link_map)
    year_shares = year_to_date_shares(inputs, progress, links)
    programmes = {p.product.programme for p in progress}
    month_shares = [g for g in shares_between(inputs, first, last, links) if g.group.programme in programmes]
    return MonthlyReport(hospital_code, hospital_name, month, last,
                         programme_summaries(progress, year_shares, rules, calendar), progress, month_shares,
                         year_shares, online_rate_table(inputs, last, cfg))


def annual_report(inputs: MonitoringInputs, calendar: WorkdayCalendar, year: int, hospital_code: str,
                  hospital_name: str, cfg: MonitoringConfig | None = None,
                  findings: Sequence[Finding] = (), as_of: date | None = None) -> AnnualReport:
    """The yearly report: every agreement year that overlaps the calendar year, as of its end or
    31 December (or ``as_of`` when that comes first); group shares over the calendar year to then."""
    rules = (cfg or MonitoringConfig()).progress_rules()
    first, last = date(year, 1, 1), date(year, 12, 31)
    if as_of is not None:
        if as_of < first:
            raise ConfigError(f"--as-of {as_of.isoformat()}: before the year {year} begins")
        last = min(last, as_of)
    links = inputs.item_links()
    link_map = {lk.item_code: lk for lk in links}
    progress = progress_of(inputs, inputs.product_years(first, last), last, rules, calendar, link_map)
    programmes = {p.product.programme for p in progress}
    shares = [g for g in shares_between(inputs, first, last, links) if g.group.programme in programmes]
    return AnnualReport(hospital_code, hospital_name, year, programme_summaries(progress, shares, rules, calendar),
                        progress, shares, list(findings), last)


def write_last_month(inputs: MonitoringInputs, calendar: WorkdayCalendar, today: date, hospital_code: str,
                     hospital_name: str, mcfg: MonitoringConfig, directory: Path,
                     store: Store | None = None, clock: Clock | None = None) -> tuple[str, MonthlyReport, Path]:
    """The monthly job: last month's 带量执行报表 as xlsx under ``directory``; returns (month, report, path).
    With the ``store``, the departments' progress against their confirmed splits (科室分配) is added,
    and with the ``clock`` too, the month's 医保 进销存 upload days."""
    month = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    rep = monthly_report(inputs, calendar, month, hospital_code, hospital_name, mcfg)
    if store is not None:
        rep = with_departments(rep, inputs, store)
        if clock is not None:
            rep = with_uploads(rep, store, clock, mcfg.uploads.rules())
    out = directory / f"带量执行报表_{hospital_code}_{month}.xlsx"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_monthly(rep, out)
    return month, rep, out


def upload_rows(rep: MonthlyReport) -> list[dict[str, object]]:
    """The month's per-product aggregates as the platform's report upload takes them."""
    return [{"product_code": p.product.product_id, "product_name": p.product.name, "programme": p.product.programme,
             "quantity": p.used, "amount": p.used_amount, "agreed_volume": p.product.agreed_qty,
             "completion": p.completion, "time_progress": p.time_progress, "winning": True}
            for p in rep.products]
