"""The 医保 进销存 upload clock: read the HIS's 医保 interface log into the store, and flag each
business day whose purchase (3503) or sale (3505) data missed the province's deadline or failed.

The clock starts on the first business day the log was read for (an agent installed today does not
call last year's days missing); a sale is due every day, a purchase on days the warehouse accepted goods."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from agent.clock import Clock
from agent.domain.findings import Finding
from agent.domain.model import BadRow
from agent.domain.reporting import MonthlyReport, month_bounds
from agent.domain.uploads import RULE_UPLOAD, DayUpload, InsuranceUpload, UploadRules, day_statuses, upload_findings
from agent.monitoring_config import UploadConfig
from agent.ports import InsuranceLogSource
from agent.store import Store
from agent.store.bureau import first_upload_day, receipt_days, replace_uploads, uploads_between
from agent.store.findings import write_findings
from agent.store.quarantine import record as quarantine


def read_upload_log(store: Store, source: InsuranceLogSource, clock: Clock, lookback_days: int = 35) -> tuple[int, int]:
    """Re-read the log's last ``lookback_days`` business days (idempotent); returns (calls, set aside)."""
    today = clock.today()
    first = today - timedelta(days=lookback_days)
    good: list[InsuranceUpload] = []
    bad: list[BadRow] = []
    for row in source.read_insurance_uploads(first, today):
        if isinstance(row, BadRow):
            bad.append(row)
        else:
            good.append(row)
    with store.begin() as conn:
        n = replace_uploads(conn, store.hospital_code, first, today, good, clock.now())
        if bad:
            quarantine(conn, store.hospital_code, source.name, bad, clock.now())
    return n, len(bad)


def upload_statuses(store: Store, first: date, last: date, rules: UploadRules, clock: Clock) -> list[DayUpload]:
    """Each watched (business day, interface) in [first, last], from the log as last read."""
    tz = clock.tz
    with store.read() as conn:
        start = first_upload_day(conn, store.hospital_code)
        if start is None:
            return []
        first = max(first, start)
        calls = uploads_between(conn, store.hospital_code, first, last)
        bought = receipt_days(conn, store.hospital_code, first, last, tz)
    every = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    due = {"3503": sorted(bought), "3505": every}
    due.update({i: every for i in rules.interfaces if i not in due})  # other interfaces watched: assumed daily
    return day_statuses(due, calls, rules, clock.now(), tz)


def check_uploads(store: Store, clock: Clock, rules: UploadRules, watch_days: int = 92) -> list[Finding]:
    """The clock: open problems of the last ``watch_days`` business days become findings (a day
    older than that leaves the alerts; the monthly reports keep counting it)."""
    today = clock.today()
    statuses = upload_statuses(store, today - timedelta(days=watch_days), today, rules, clock)
    found = upload_findings(statuses, clock.now())
    with store.begin() as conn:
        write_findings(conn, store.hospital_code, found, clock.now(), replace_rules=[RULE_UPLOAD])
    return found


def with_uploads(report: MonthlyReport, store: Store, clock: Clock, rules: UploadRules) -> MonthlyReport:
    """The monthly report with the month's 进销存 upload days (late, failed or missing counted)."""
    first, last = month_bounds(report.month)
    return dataclasses.replace(report, uploads=upload_statuses(store, first, last, rules, clock))


def watch_uploads(store: Store, source: InsuranceLogSource, clock: Clock, cfg: UploadConfig) -> list[Finding]:
    """The hourly job: re-read the log, then run the clock."""
    read_upload_log(store, source, clock, cfg.lookback_days)
    return check_uploads(store, clock, cfg.rules(), max(cfg.watch_days, cfg.lookback_days))
