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


def build_sources(cfg: AgentConfig, clock: Clock) -> dict[str, Any]:
    """Every configured source, by name (ingestion's adapters; they connect on first use)."""
    from adapters.registry import build_source

    return {s.name: build_source(s, clock) for s in cfg.sources}
