"""The annual report's clock (年度报告, due 15 January): draft it on the first working day of
January, remind from 1 January until a person marks it sent (``report annual --mark-sent``)."""

from __future__ import annotations

from pathlib import Path

from agent.clock import Clock
from agent.domain.annual_duty import RULE_ANNUAL, annual_findings, duty_for
from agent.domain.findings import Finding
from agent.jobs.reporting import annual_report
from agent.monitoring_config import MonitoringConfig
from agent.ports import MonitoringInputs, WorkdayCalendar
from agent.reports.annual import write_annual
from agent.store import Store
from agent.store.bureau import annual_state, mark_annual_sent, record_annual_draft
from agent.store.findings import write_findings


def annual_report_duty(store: Store, inputs: MonitoringInputs, calendar: WorkdayCalendar, clock: Clock,
                       hospital_name: str, mcfg: MonitoringConfig, directory: Path) -> list[Finding]:
    """Run daily: drafts last year's report when it is due and not drafted yet, and writes the
    reminder due today (resolving the earlier stage's); returns the reminders written."""
    today, now, hospital = clock.today(), clock.now(), store.hospital_code
    duty = duty_for(today, calendar)
    with store.read() as conn:
        state = annual_state(conn, hospital, duty.year) or {}
    sent, path = state.get("sent_at") is not None, state.get("path")
    if not sent and duty.drafting_due(today, state.get("drafted_at") is not None):
        rep = annual_report(inputs, calendar, duty.year, hospital, hospital_name, mcfg)
        path = str(write_annual(rep, directory / f"年度报告_{hospital}_{duty.year}.xlsx"))
        with store.begin() as conn:
            record_annual_draft(conn, hospital, duty.year, path, now)
    found = annual_findings(duty, today, now, sent=sent, draft_path=path, calendar=calendar)
    with store.begin() as conn:
        write_findings(conn, hospital, found, now, replace_rules=[RULE_ANNUAL])
    return found


def mark_sent(store: Store, clock: Clock, year: int, by: str) -> None:
    """A person sent the report: record it and resolve its reminders."""
    with store.begin() as conn:
        mark_annual_sent(conn, store.hospital_code, year, by, clock.now())
        write_findings(conn, store.hospital_code, [], clock.now(), replace_rules=[RULE_ANNUAL])
