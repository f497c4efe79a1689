"""The notify job: findings -> lifecycle -> routes -> outbox -> senders.

``process_findings`` and ``drain_notifications`` are separate so the scheduler can drain more
often than rules are evaluated; ``run_notify`` does both.
"""

from __future__ import annotations

from typing import Any

from agent.alerts.config import AlertingSettings, check_references
from agent.alerts.delivery import DrainReport, drain
from agent.alerts.groups import flush_groups, queue_digest
from agent.alerts.lifecycle import apply_findings
from agent.calendar import WorkCalendar
from agent.domain.alerting import Notice
from agent.domain.findings import Finding
from agent.domain.headline import progress_line
from agent.errors import ConfigError
from agent.notify import build_senders
from agent.store import Store
from agent.store.alerts import active_findings
from agent.store.monitoring import last_progress_day, progress_on


def _check(cfg: Any) -> None:
    try:
        check_references(cfg.receivers, cfg.routes, cfg.alerts)
    except ValueError as exc:
        raise ConfigError(f"{cfg.source_file}: {exc}") from None


def process_findings(
    store: Any, cfg: AlertingSettings | Any, clock: Any, findings: list[Finding] | None = None,
    calendar: WorkCalendar | None = None, headline: str | None = None,
) -> list[Notice]:
    """Advance every alert from the current active findings (read from the ``findings`` table when
    None), queue due groups and the morning digest into the outbox. One transaction. ``cfg`` is the
    alerting part of the config (``AgentConfig.alerting()``; a whole ``AgentConfig`` reads the same)."""
    _check(cfg)
    if calendar is None:
        calendar = WorkCalendar(cfg.calendar.holidays, cfg.calendar.workdays, cfg.calendar.assume_weekends_for)
    now = clock.now()
    with store.begin() as conn:
        current = findings if findings is not None else active_findings(conn, store.hospital_code)
        notices = apply_findings(conn, store.hospital_code, cfg, now, current)
        flush_groups(conn, store.hospital_code, cfg, now, clock.tz)
        queue_digest(conn, store.hospital_code, cfg, now, clock.tz, calendar, headline)
    return notices


def drain_notifications(store: Any, cfg: Any, clock: Any, senders: dict[str, Any] | None = None) -> DrainReport:
    """Send what the outbox holds for every receiver. Keep ``senders`` between runs (token buckets)."""
    if senders is not None:
        return drain(store, cfg, clock, senders)
    built = build_senders(cfg.receivers, clock)
    try:
        return drain(store, cfg, clock, built)
    finally:
        for sender in built.values():
            sender.close()


def run_notify(store: Any, cfg: Any, clock: Any, senders: dict[str, Any], findings: list[Finding] | None = None) -> DrainReport:
    process_findings(store, cfg, clock, findings)
    return drain_notifications(store, cfg, clock, senders)


def progress_headline(store: Store) -> str | None:
    """The morning digest's progress line, per programme, from the last evaluation's snapshot."""
    with store.read() as conn:
        as_of = last_progress_day(conn, store.hospital_code)
        if as_of is None:
            return None
        rows = progress_on(conn, store.hospital_code, as_of)
    return progress_line(rows)
