"""The composition root: the one place that builds the real parts from the config.

The daemon (``vbp-agent run``), every CLI command (through ``agent.cli.common.runtime_of``) and the
demo get their store, clock, calendar, sources, platform link and senders from here, and the daemon
its jobs. The only module of the agent (with the CLI above it) that imports ``adapters``; the only
one that makes a system clock. Each builder takes the typed config section it needs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from adapters.registry import build_source
from agent.calendar import WorkCalendar
from agent.catalogue.consumables import value_rule
from agent.clock import Clock, SystemClock
from agent.config import AgentConfig, SourceConfig
from agent.domain.kept_tests import KeptTests
from agent.jobs.annual import annual_report_duty
from agent.jobs.departments import check_departments
from agent.jobs.evaluate import evaluate
from agent.jobs.ingest import poll_source, reconcile_source, refresh_items_and_map
from agent.jobs.notify import drain_notifications, process_findings, progress_headline
from agent.jobs.platform import (
    check_platform_deadlines,
    drain_platform,
    queue_platform_report,
    sync_platform,
    sync_platform_ledgers,
)
from agent.jobs.reporting import upload_rows, write_last_month
from agent.jobs.uploads import watch_uploads
from agent.notify import build_senders
from agent.runtime import Runtime
from agent.service.metrics import Metrics
from agent.service.runner import JobSpec
from agent.store import Store, open_store
from agent.store.monitoring_inputs import StoreInputs, usage_source_names
from agent.upstream.link import PlatformLink, build_platform

__all__ = ["Runtime", "build", "build_jobs", "build_monitoring_inputs", "build_platform_link", "build_sources",
           "build_store", "system_clock"]


def system_clock(cfg: AgentConfig) -> Clock:
    """The one place the production agent makes its clock: the system's, in the hospital's zone."""
    return SystemClock(cfg.hospital.tz)


def build_calendar(cfg: AgentConfig) -> WorkCalendar:
    return WorkCalendar(cfg.calendar.holidays, cfg.calendar.workdays, cfg.calendar.assume_weekends_for)


def build_store(cfg: AgentConfig) -> Store:
    return open_store(cfg.state.effective_url, cfg.hospital.code)


def build(cfg: AgentConfig, clock: Clock | None = None) -> Runtime:
    """The runtime of one command or of the daemon; ``clock`` replaces the system clock (tests, demo)."""
    return Runtime(config=cfg, clock=clock or system_clock(cfg), calendar=build_calendar(cfg), store=build_store(cfg))


def build_sources(sources: list[SourceConfig], clock: Clock) -> dict[str, Any]:
    """Every configured source, by name (ingestion's adapters; they connect on first use)."""
    return {s.name: build_source(s, clock) for s in sources}


def build_platform_link(cfg: AgentConfig) -> PlatformLink | None:
    """The platform link (client, drainer, ingestion callback), or None without a [platform] section."""
    return build_platform(cfg.platform, cfg.hospital.code)


def build_monitoring_inputs(runtime: Runtime, keep_series: bool = False) -> StoreInputs:
    """Monitoring's view of the catalogue and ingestion tables; ``keep_series`` for the daemon, whose
    evaluations read the same days every poll interval (:mod:`agent.store.series_cache`)."""
    return StoreInputs(runtime.store, usage_source_names(runtime.config.sources), runtime.config.hospital.tz,
                       value_rule(runtime.config.catalogue), keep_series)


# -- the daemon's jobs ---------------------------------------------------------------------


def build_jobs(runtime: Runtime, metrics: Metrics) -> list[JobSpec]:
    """Every scheduled job of this configuration; what they hold open is closed with the runtime."""
    store = runtime.store
    link = build_platform_link(runtime.config)
    if link is not None:
        runtime.closers.append(link.close)
    specs = [JobSpec("store-check", store.versions, interval_s=60, timeout_s=30)]
    specs += _source_jobs(runtime, link, metrics)
    specs += _platform_jobs(runtime, link)
    specs += _monitoring_jobs(runtime, link)
    specs += _notify_jobs(runtime)
    return specs


def _source_jobs(runtime: Runtime, link: PlatformLink | None, metrics: Metrics) -> list[JobSpec]:
    """Per source: a poll (usage or receipts), a weekly reconciliation, a daily refresh of the item
    dictionary + 对码 and of the department dictionary (科室字典)."""
    cfg, store, clock = runtime.config, runtime.store, runtime.clock
    sources = build_sources(cfg.sources, clock)
    runtime.closers.extend(s.close for s in sources.values() if hasattr(s, "close"))
    metrics.describe("vbp_rows_read_total", "counter", "aggregate rows and receipt lines read per source")
    metrics.describe("vbp_source_last_success_timestamp_seconds", "gauge", "last successful poll per source")
    specs = []
    swept: dict[str, date] = {}  # source -> the day of its last lookback sweep
    for sc in cfg.sources:
        src = sources[sc.name]
        on_stored = link.on_stored(clock) if (link is not None and sc.kind == "warehouse") else None
        deadline = sc.query_timeout_s * 4 + 60

        def poll(src: Any = src, sc: SourceConfig = sc, on_stored: Any = on_stored) -> None:
            today = clock.today()  # a usage source's first poll of the day (and at start) is its lookback sweep
            stats = poll_source(store, src, sc, clock, on_stored=on_stored, sweep=swept.get(sc.name) != today)
            swept[sc.name] = today
            metrics.inc("vbp_rows_read_total", float(getattr(stats, "rows", 0) or getattr(stats, "read", 0) or 0), {"source": sc.name})
            metrics.set("vbp_source_last_success_timestamp_seconds", clock.now().timestamp(), {"source": sc.name})

        specs.append(JobSpec(f"poll:{sc.name}", poll, interval_s=sc.poll_interval_s, timeout_s=deadline,
                             labels={"source": sc.name}))
        if sc.kind != "warehouse":
            specs.append(JobSpec(f"reconcile:{sc.name}", lambda src=src, sc=sc: reconcile_source(store, src, sc, clock),
                                 cron={"day_of_week": "sun", "hour": 2, "minute": 15}, timeout_s=3600, first_run_s=None,
                                 labels={"source": sc.name}))
        if sc.kind == "his" and src.has("insurance_uploads"):
            # 医保 进销存 uploads (3501-3507): the interface log re-read and the deadline watched, hourly
            specs.append(JobSpec(f"uploads:{sc.name}", lambda src=src: watch_uploads(store, src, clock, cfg.monitoring.uploads),
                                 interval_s=3600, timeout_s=sc.query_timeout_s * 2 + 60, first_run_s=300,
                                 labels={"source": sc.name}))
        if sc.kind == "his":
            # the item dictionary and 对码 also run at start, so evaluation never sees unmapped usage
            specs.insert(0, JobSpec(f"items:{sc.name}",
                                    lambda src=src, sc=sc: refresh_items_and_map(store, src, sc, clock, cfg.catalogue),
                                    cron={"hour": 5, "minute": 40}, timeout_s=1800, first_run_s=0, labels={"source": sc.name}))
    return specs


def poll_once(runtime: Runtime, only: str | None = None) -> list[tuple[str, Any]]:
    """Each source read once now, as the daemon does at start: a HIS's item dictionary and 对码 first,
    then its usage (open day and the whole lookback: a sweep) or the warehouse's new receipt lines (their arrival
    confirmations queued as the daemon would). Returns (source, stats) in config order."""
    cfg, store, clock = runtime.config, runtime.store, runtime.clock
    chosen = [sc for sc in cfg.sources if only in (None, sc.name)]
    sources = build_sources(chosen, clock)
    link = build_platform_link(cfg) if any(sc.kind == "warehouse" for sc in chosen) else None
    out: list[tuple[str, Any]] = []
    try:
        for sc in sorted(chosen, key=lambda s: s.kind == "warehouse"):
            src = sources[sc.name]
            if sc.kind == "his":
                refresh_items_and_map(store, src, sc, clock, cfg.catalogue)
            on_stored = link.on_stored(clock) if (link is not None and sc.kind == "warehouse") else None
            out.append((sc.name, poll_source(store, src, sc, clock, on_stored=on_stored, sweep=True)))
    finally:
        for src in sources.values():
            src.close()
        if link is not None:
            link.close()
    return out


def _platform_jobs(runtime: Runtime, link: PlatformLink | None) -> list[JobSpec]:
    if link is None:
        return []
    store, clock = runtime.store, runtime.clock
    return [
        JobSpec("platform-sync", lambda: sync_platform(store, link, clock), interval_s=900, timeout_s=600),
        JobSpec("platform-ledgers", lambda: sync_platform_ledgers(store, link, clock), interval_s=900, timeout_s=600),
        JobSpec("platform-drain", lambda: drain_platform(store, link, clock), interval_s=60, timeout_s=600),
        JobSpec("platform-deadlines", lambda: check_platform_deadlines(store, link, clock), interval_s=300, timeout_s=120),
    ]


def _monitoring_jobs(runtime: Runtime, link: PlatformLink | None) -> list[JobSpec]:
    """Evaluation after the polls; the monthly report on the 1st (xlsx, and upstream when supported)."""
    cfg, store, clock, calendar = runtime.config, runtime.store, runtime.clock, runtime.calendar
    inputs = build_monitoring_inputs(runtime, keep_series=True)
    kept = KeptTests()  # the rise tests of groups whose figures did not change are not computed again
    every = min([s.poll_interval_s for s in cfg.sources if s.kind != "warehouse"] or [900])

    def report() -> None:
        month, rep, _path = write_last_month(inputs, calendar, clock.today(), cfg.hospital.code, cfg.hospital.name,
                                             cfg.monitoring, Path(cfg.state.directory) / "reports", store, clock)
        if link is not None:
            queue_platform_report(store, link, clock, month, upload_rows(rep))

    return [
        # after the first polls have landed; also records today's programme figures for the group's side by side
        JobSpec("evaluate", lambda: evaluate(store, inputs, calendar, clock, cfg.monitoring, cfg.hospital.name, kept),
                interval_s=every, timeout_s=600, first_run_s=120),
        JobSpec("monthly-report", report, cron={"day": 1, "hour": 6, "minute": 30}, timeout_s=1800, first_run_s=None),
        # 科室分配: a department far behind its confirmed share, once a day after the morning polls
        JobSpec("departments", lambda: check_departments(store, inputs, calendar, clock, cfg.monitoring),
                cron={"hour": 7, "minute": 50}, timeout_s=900, first_run_s=240),
        # the annual report due 15 January: drafted on January's first working day, reminded daily until sent
        JobSpec("annual-report", lambda: annual_report_duty(store, inputs, calendar, clock, cfg.hospital.name, cfg.monitoring,
                                                            Path(cfg.state.directory) / "reports"),
                cron={"hour": 8, "minute": 5}, timeout_s=1800, first_run_s=180),
    ]


def _notify_jobs(runtime: Runtime) -> list[JobSpec]:
    """Findings -> alert lifecycle -> outbox -> robots and mail, once a minute."""
    cfg, store, clock = runtime.config, runtime.store, runtime.clock
    if not cfg.receivers:
        return []
    senders = build_senders(cfg.receivers, clock)  # built once: the token buckets live here

    alerting = cfg.alerting()

    def notify() -> None:
        process_findings(store, alerting, clock, calendar=runtime.calendar, headline=progress_headline(store))
        drain_notifications(store, alerting, clock, senders)

    return [JobSpec("notify", notify, interval_s=60, timeout_s=120, first_run_s=180)]
