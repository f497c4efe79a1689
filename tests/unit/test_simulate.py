from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from agent.clock import FakeClock
from agent.service.metrics import Metrics
from agent.service.runner import JobRunner, JobSpec
from agent.service.simulate import SimulatedScheduler
from agent.store import open_store


def test_jobs_fire_at_their_interval_and_cron_times_on_the_fake_clock(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 0, 0))  # a Monday
    store = open_store(f"sqlite:///{tmp_path / 's.db'}", "H1")
    seen: dict[str, list[datetime]] = {"poll": [], "digest": []}
    specs = [
        JobSpec("poll", lambda: seen["poll"].append(clock.now()), interval_s=3600),
        JobSpec("digest", lambda: seen["digest"].append(clock.now()), cron={"hour": 7, "minute": 30, "day_of_week": "mon-fri"}, first_run_s=None),
    ]
    windows = []
    sim = SimulatedScheduler(specs, JobRunner(store, clock, Metrics()), clock)
    sim.run_until(clock.now() + timedelta(days=7), before_step=lambda a, b: windows.append((a, b)))
    assert len(seen["poll"]) == 7 * 24 + 1
    assert [d.strftime("%a %H:%M") for d in seen["digest"]] == [f"{d} 07:30" for d in ["Mon", "Tue", "Wed", "Thu", "Fri"]]
    assert all(a < b for a, b in windows) and windows[0][0] == datetime(2026, 11, 23, tzinfo=clock.tz)
    assert clock.now() == datetime(2026, 11, 30, tzinfo=clock.tz)
