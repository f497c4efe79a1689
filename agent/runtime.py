"""What the composition root hands a command or the daemon: the config, the clock, the calendar, the
store, and what must be closed when they are done. Built only by ``agent.bootstrap``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agent.calendar import WorkCalendar
from agent.clock import Clock
from agent.config import AgentConfig
from agent.store import Store


@dataclass
class Runtime:
    config: AgentConfig
    clock: Clock
    calendar: WorkCalendar
    store: Store
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for closer in reversed(self.closers):
            closer()
        self.closers.clear()
        self.store.close()
