"""The composition root: builds the real parts from the config. The only place (with the CLI)
that imports ``adapters``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.calendar import WorkCalendar
from agent.clock import Clock, SystemClock
from agent.config import AgentConfig
from agent.store import Store, open_store


@dataclass
class Runtime:
    config: AgentConfig
    clock: Clock
    calendar: WorkCalendar
    store: Store
    extras: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        self.store.close()


def build_calendar(cfg: AgentConfig) -> WorkCalendar:
    return WorkCalendar(cfg.calendar.holidays, cfg.calendar.workdays, cfg.calendar.assume_weekends_for)


def build_store(cfg: AgentConfig) -> Store:
    return open_store(cfg.state.effective_url, cfg.hospital.code)


def build(cfg: AgentConfig, clock: Clock | None = None) -> Runtime:
    clock = clock or SystemClock(cfg.hospital.tz)
    return Runtime(config=cfg, clock=clock, calendar=build_calendar(cfg), store=build_store(cfg))


def build_jobs(runtime: Runtime, metrics: Any) -> list[Any]:
    """Every scheduled job of this configuration, as ``JobSpec``s."""
    from agent.service.runner import JobSpec

    store = runtime.store

    def store_check() -> None:
        store.versions()

    specs = [JobSpec("store-check", store_check, interval_s=60, timeout_s=30)]
    specs += _notify_jobs(runtime)
    return specs


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

    return [JobSpec("notify", notify, interval_s=60, timeout_s=120)]
def build_platform_link(cfg: AgentConfig):  # type: ignore[no-untyped-def]
    """The platform link (client, drainer, ingestion callback), or None without a [platform] section."""
    from agent.upstream.link import build_platform

    return build_platform(cfg)
def build_sources(cfg: AgentConfig, clock: Clock) -> dict[str, Any]:
    """Every configured source, by name (ingestion's adapters; they connect on first use)."""
    from adapters.registry import build_source

    return {s.name: build_source(s, clock) for s in cfg.sources}
