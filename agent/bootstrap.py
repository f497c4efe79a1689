"""The composition root: builds the real parts from the config and lists the daemon's jobs.
The only place (with the CLI) that imports ``adapters``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from agent.calendar import WorkCalendar
from agent.clock import Clock, SystemClock
from agent.config import AgentConfig
from agent.domain.headline import progress_line
from agent.domain.model import LocalItem
from agent.store import Store, dictionaries, open_store
from agent.store.monitoring import last_progress_day, progress_on


@dataclass
class Runtime:
    config: AgentConfig
    clock: Clock
    calendar: WorkCalendar
    store: Store
    extras: dict[str, Any] = field(default_factory=dict)
    closers: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for closer in reversed(self.closers):
            closer()
        self.closers.clear()
        self.store.close()


def build_calendar(cfg: AgentConfig) -> WorkCalendar:
    return WorkCalendar(cfg.calendar.holidays, cfg.calendar.workdays, cfg.calendar.assume_weekends_for)


def build_store(cfg: AgentConfig) -> Store:
    return open_store(cfg.state.effective_url, cfg.hospital.code)


def system_clock(cfg: AgentConfig) -> Clock:
    """The one place the production agent makes its clock: the system's, in the hospital's zone."""
    return SystemClock(cfg.hospital.tz)


def build(cfg: AgentConfig, clock: Clock | None = None) -> Runtime:
    clock = clock or system_clock(cfg)
    return Runtime(config=cfg, clock=clock, calendar=build_calendar(cfg), store=build_store(cfg))


def build_sources(cfg: AgentConfig, clock: Clock) -> dict[str, Any]:
    """Every configured source, by name (ingestion's adapters; they connect on first use)."""
    from adapters.registry import build_source

    return {s.name: build_source(s, clock) for s in cfg.sources}


def build_platform_link(cfg: AgentConfig):  # type: ignore[no-untyped-def]
    """The platform link (client, drainer, ingestion callback), or None without a [platform] section."""
    from agent.upstream.link import build_platform

    return build_platform(cfg.platform, cfg.hospital.code)


def build_monitoring_inputs(runtime: Runtime) -> Any:
    """Monitoring's view of the catalogue and ingestion tables."""
    from agent.store.monitoring_inputs import StoreInputs, usage_source_names

    return StoreInputs(runtime.store, usage_source_names(runtime.config.sources), runtime.config.hospital.tz)


def stored_local_items(store: Store) -> list[LocalItem]:
    """The HIS item dictionaries as last read, for mapping (对码)."""
    with store.read() as conn:
        return dictionaries.local_items(conn, store.hospital_code)


# -- the daemon's jobs ---------------------------------------------------------------------


def build_jobs(runtime: Runtime, metrics: Any) -> list[Any]:
    """Every scheduled job of this configuration, as ``JobSpec``s."""
    from agent.service.runner import JobSpec

    store = runtime.store

    def store_check() -> None:
        store.versions()

    link = build_platform_link(runtime.config)
    if link is not None:
        runtime.closers.append(link.close)
        runtime.extras["platform"] = link
    specs = [JobSpec("store-check", store_check, interval_s=60, timeout_s=30)]
    specs += _source_jobs(runtime, link, metrics)
    specs += _platform_jobs(runtime, link)
    specs += _monitoring_jobs(runtime, link)
    specs += _notify_jobs(runtime)
    return specs


def _source_jobs(runtime: Runtime, link: Any, metrics: Any) -> list[Any]:
    """Per source: a poll (usage or receipts), a weekly reconciliation, a daily refresh of the item
    dictionary + 对码 and of the department dictionary (科室字典)."""
    from agent.catalogue.mapping import map_items
    from agent.jobs.ingest import poll_source, reconcile_source, refresh_departments, refresh_items
    from agent.service.runner import JobSpec

    cfg, store, clock = runtime.config, runtime.store, runtime.clock
    sources = build_sources(cfg, clock)
    runtime.extras["sources"] = sources
    runtime.closers.extend(s.close for s in sources.values() if hasattr(s, "close"))
    metrics.describe("vbp_rows_read_total", "counter", "aggregate rows and receipt lines read per source")
    metrics.describe("vbp_source_last_success_timestamp_seconds", "gauge", "last successful poll per source")
    specs = []
    for sc in cfg.sources:
        src = sources[sc.name]
        on_stored = link.on_stored(clock) if (link is not None and sc.kind == "warehouse") else None
        deadline = sc.query_timeout_s * 4 + 60

        def poll(src: Any = src, sc: Any = sc, on_stored: Any = on_stored) -> None:
            stats = poll_source(store, src, sc, clock, on_stored=on_stored)
            metrics.inc("vbp_rows_read_total", float(getattr(stats, "rows", 0) or getattr(stats, "read", 0) or 0), {"source": sc.name})
            metrics.set("vbp_source_last_success_timestamp_seconds", clock.now().timestamp(), {"source": sc.name})

        def items(src: Any = src, sc: Any = sc) -> None:
            refresh_items(store, src, sc, clock)
            local = stored_local_items(store)
            if local:
                map_items(store, local, clock.now(), auto_accept=cfg.catalogue.auto_accept, top=cfg.catalogue.candidates)
            refresh_departments(store, src, sc, clock)  # after 对码, so a broken custom query cannot hold it up

        specs.append(JobSpec(f"poll:{sc.name}", poll, interval_s=sc.poll_interval_s, timeout_s=deadline,
                             labels={"source": sc.name}))
        if sc.kind != "warehouse":
            specs.append(JobSpec(f"reconcile:{sc.name}", lambda src=src, sc=sc: reconcile_source(store, src, sc, clock),
                                 cron={"day_of_week": "sun", "hour": 2, "minute": 15}, timeout_s=3600, first_run_s=None,
                                 labels={"source": sc.name}))
        if sc.kind == "his":
            # the item dictionary and 对码 also run at start, so evaluation never sees unmapped usage
            specs.insert(0, JobSpec(f"items:{sc.name}", items, cron={"hour": 5, "minute": 40}, timeout_s=1800,
                                    first_run_s=0, labels={"source": sc.name}))
    return specs


def _platform_jobs(runtime: Runtime, link: Any) -> list[Any]:
    from agent.jobs.platform import check_platform_deadlines, drain_platform, sync_platform
    from agent.service.runner import JobSpec

    if link is None:
        return []
    store, clock = runtime.store, runtime.clock
    return [
        JobSpec("platform-sync", lambda: sync_platform(store, link, clock), interval_s=900, timeout_s=600),
        JobSpec("platform-drain", lambda: drain_platform(store, link, clock), interval_s=60, timeout_s=600),
        JobSpec("platform-deadlines", lambda: check_platform_deadlines(store, link, clock), interval_s=300, timeout_s=120),
    ]


def _monitoring_jobs(runtime: Runtime, link: Any) -> list[Any]:
    """Evaluation after the polls; the monthly report on the 1st (xlsx, and upstream when supported)."""
    from agent.jobs.evaluate import evaluate
    from agent.jobs.reporting import monthly_report
    from agent.reports.monthly import write_monthly
    from agent.service.runner import JobSpec

    cfg, store, clock, calendar = runtime.config, runtime.store, runtime.clock, runtime.calendar
    inputs = build_monitoring_inputs(runtime)
    runtime.extras["inputs"] = inputs
    every = min([s.poll_interval_s for s in cfg.sources if s.kind != "warehouse"] or [900])

    def run_evaluation() -> None:
        evaluate(store, inputs, calendar, clock, cfg)

    def report() -> None:
        last_month = (clock.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        rep = monthly_report(inputs, calendar, last_month, cfg.hospital.code, cfg.hospital.name, cfg.monitoring)
        out = Path(cfg.state.directory) / "reports" / f"带量执行报表_{cfg.hospital.code}_{last_month}.xlsx"
        out.parent.mkdir(parents=True, exist_ok=True)
        write_monthly(rep, out)
        runtime.extras["last_report"] = out
        if link is not None:
            from agent.jobs.platform import queue_platform_report

            rows = [{"product_code": p.product.product_id, "product_name": p.product.name, "programme": p.product.programme,
                     "quantity": p.used, "amount": p.used_amount, "agreed_volume": p.product.agreed_qty,
                     "completion": p.completion, "time_progress": p.time_progress, "winning": True}
                    for p in rep.products]
            queue_platform_report(store, link, clock, last_month, rows)

    runtime.extras["headline"] = lambda: progress_headline(store)
    return [
        # after the first polls have landed
        JobSpec("evaluate", run_evaluation, interval_s=every, timeout_s=600, first_run_s=120),
        JobSpec("monthly-report", report, cron={"day": 1, "hour": 6, "minute": 30}, timeout_s=1800, first_run_s=None),
    ]


def progress_headline(store: Store) -> str | None:
    """The morning digest's progress line, per programme, from the last evaluation's snapshot."""
    with store.read() as conn:
        as_of = last_progress_day(conn, store.hospital_code)
        if as_of is None:
            return None
        rows = progress_on(conn, store.hospital_code, as_of)
    return progress_line(rows)


def _notify_jobs(runtime: Runtime) -> list[Any]:
    """Findings -> alert lifecycle -> outbox -> robots and mail, once a minute."""
    from agent.jobs.notify import drain_notifications, process_findings
    from agent.notify import build_senders
    from agent.service.runner import JobSpec

    cfg, store, clock = runtime.config, runtime.store, runtime.clock
    if not cfg.receivers:
        return []
    senders = build_senders(cfg.receivers, clock)  # built once: the token buckets live here

    def notify() -> None:
        headline = runtime.extras.get("headline")
        process_findings(store, cfg, clock, calendar=runtime.calendar, headline=headline() if headline else None)
        drain_notifications(store, cfg, clock, senders)

    return [JobSpec("notify", notify, interval_s=60, timeout_s=120, first_run_s=180)]


