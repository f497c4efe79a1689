"""Run the daemon's jobs on an accelerated clock: the demo and the soak test use it.

The same ``JobSpec``s, the same ``JobRunner`` and apscheduler's own triggers decide what runs
when; only the clock is a ``FakeClock`` that jumps from one fire time to the next, so 90 days
pass in seconds. ``before_step`` lets a simulated world write the source rows of the time that
just passed (a hospital does not know tomorrow's prescriptions).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from agent.clock import FakeClock
from agent.service.runner import JobRunner, JobSpec


def trigger_of(spec: JobSpec, start: datetime) -> Any:
    if spec.cron is not None:
        return CronTrigger(timezone=start.tzinfo, **spec.cron)
    return IntervalTrigger(seconds=spec.interval_s or 300, start_date=start, timezone=start.tzinfo)


class SimulatedScheduler:
    def __init__(self, specs: list[JobSpec], runner: JobRunner, clock: FakeClock) -> None:
        self.specs = specs
        self.runner = runner
        self.clock = clock
        start = clock.now()
        self._triggers = {s.name: trigger_of(s, start) for s in specs}
        self._next: dict[str, datetime | None] = {
            s.name: (start + timedelta(seconds=s.first_run_s) if s.first_run_s is not None
                     else self._triggers[s.name].get_next_fire_time(None, start))
            for s in specs
        }
        self._order = {s.name: i for i, s in enumerate(specs)}
        self.runs: dict[str, int] = {s.name: 0 for s in specs}

    def run_until(self, end: datetime, before_step: Callable[[datetime, datetime], None] | None = None,
                  on_progress: Callable[[datetime], None] | None = None) -> None:
        by_name = {s.name: s for s in self.specs}
        while True:
            due = [(t, n) for n, t in self._next.items() if t is not None and t <= end]
            if not due:
                break
            when = min(due)[0]
            before = self.clock.now()
            if when > before and before_step is not None:
                before_step(before, when)
            if when > before:
                self.clock.set(when)
            for name in sorted((n for t, n in due if t == when), key=self._order.__getitem__):
                self.runner.run(by_name[name])
                self.runs[name] += 1
                self._next[name] = self._triggers[name].get_next_fire_time(when, when + timedelta(microseconds=1))
            if on_progress is not None:
                on_progress(when)
        if self.clock.now() < end:
            if before_step is not None:
                before_step(self.clock.now(), end)
            self.clock.set(end)
