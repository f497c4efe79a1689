from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import structlog
from sqlalchemy import select

from agent.clock import FakeClock
from agent.errors import SourceError
from agent.logging import configure
from agent.service.metrics import Metrics
from agent.service.runner import JobRunner, JobSpec
from agent.store import open_store
from agent.store.schema.core import job_health


def make(tmp_path: Path) -> tuple[JobRunner, Metrics]:
    configure(json=True)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", "H1")
    metrics = Metrics()
    return JobRunner(store, FakeClock(datetime(2026, 11, 25, 9, 0)), metrics), metrics


def test_a_failing_job_is_logged_once_down_and_once_back(tmp_path: Path) -> None:
    runner, metrics = make(tmp_path)
    outcomes = iter([SourceError("HIS unreachable: connection refused", transient=True)] * 3 + [None, None])

    def poll() -> None:
        exc = next(outcomes)
        if exc:
            raise exc

    spec = JobSpec("usage-his", poll, interval_s=60, labels={"source": "his"})
    with structlog.testing.capture_logs() as logs:
        results = [runner.run(spec) for _ in range(5)]
    assert results == [False, False, False, True, True]
    assert [(e["event"], e.get("kind")) for e in logs] == [("job down", "transient"), ("job back", None)]
    assert metrics.value("vbp_job_errors_total", {"job": "usage-his", "class": "SourceError", "kind": "transient"}) == 3
    assert runner.healthy()
    with runner.store.read() as conn:
        row = conn.execute(select(job_health)).one()
    assert (row.state, row.runs, row.failures, row.last_error_class) == ("up", 5, 0, "SourceError")


def test_an_unexpected_exception_is_permanent_and_never_escapes(tmp_path: Path) -> None:
    runner, metrics = make(tmp_path)

    def broken() -> None:
        raise KeyError("column QTY missing")

    with structlog.testing.capture_logs() as logs:
        assert runner.run(JobSpec("evaluate", broken)) is False
    assert logs[0]["event"] == "job down" and logs[0]["kind"] == "permanent" and logs[0]["error_class"] == "KeyError"
    assert not runner.healthy()
    assert metrics.value("vbp_job_up", {"job": "evaluate"}) == 0


def test_a_hung_job_is_abandoned_at_its_deadline_and_never_runs_twice(tmp_path: Path) -> None:
    runner, metrics = make(tmp_path)
    release = threading.Event()
    started = []

    def hung() -> None:
        started.append(1)
        release.wait(10)

    spec = JobSpec("usage-slow", hung, timeout_s=0.2)
    assert runner.run(spec) is False
    assert runner.run(spec) is False  # still running: not started again
    assert len(started) == 1
    assert metrics.value("vbp_job_errors_total", {"job": "usage-slow", "class": "JobStillRunning", "kind": "transient"}) == 1
    release.set()
    runner.state("usage-slow").running.join(5)
    assert runner.run(JobSpec("usage-slow", lambda: None, timeout_s=1)) is True


def test_metrics_render_in_prometheus_text_format() -> None:
    m = Metrics()
    m.describe("vbp_rows_read_total", "counter", "rows read from each source")
    m.inc("vbp_rows_read_total", 5, {"source": "his"})
    m.inc("vbp_rows_read_total", 2, {"source": "his"})
    m.collector("vbp_outbox_depth", lambda: [({"channel": "notify:pharmacy"}, 3.0)])
    text = m.render()
    assert "# TYPE vbp_rows_read_total counter" in text
    assert 'vbp_rows_read_total{source="his"} 7' in text
    assert 'vbp_outbox_depth{channel="notify:pharmacy"} 3' in text


def test_a_state_store_outage_is_transient(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    runner, metrics = make(tmp_path)
    gone = create_engine(f"sqlite:///{tmp_path / 'missing' / 'nope.db'}")

    def poll() -> None:
        with gone.connect() as conn:  # the directory does not exist: the database cannot be opened
            conn.execute(text("select 1"))

    with structlog.testing.capture_logs() as logs:
        assert runner.run(JobSpec("evaluate", poll)) is False
    assert logs[0]["kind"] == "transient"
    assert metrics.value("vbp_job_errors_total", {"job": "evaluate", "class": OperationalError.__name__, "kind": "transient"}) == 1


def test_metrics_write_a_timestamp_exactly_and_escape_label_values() -> None:
    m = Metrics()
    m.set("vbp_job_last_success_timestamp_seconds", 1796411714.0, {"job": "usage"})
    m.set("vbp_job_last_success_timestamp_seconds", 1796411714.25, {"job": 'say "hi"\\now'})
    text = m.render()
    line = next(x for x in text.splitlines() if x.startswith('vbp_job_last_success_timestamp_seconds{job="usage"}'))
    assert float(line.split()[-1]) == 1796411714.0  # `{:g}` wrote 1.79641e+09, up to 5,000 s off
    assert 'job="say \\"hi\\"\\\\now"} 1.79641171425e+09' in text


class HeardNotifier:
    """A Notifier that keeps what systemd would hear."""

    def __init__(self) -> None:
        self.heard: list[str] = []

    def watchdog(self) -> bool:
        self.heard.append("WATCHDOG=1")
        return True

    def status(self, text: str) -> bool:
        self.heard.append(f"STATUS={text}")
        return True


class RunningScheduler:
    running = True


def test_the_watchdog_is_fed_while_the_loop_turns_even_when_every_dependency_is_down(tmp_path: Path) -> None:
    from agent.service.daemon import Daemon

    runner, _ = make(tmp_path)
    heard = HeardNotifier()
    daemon = Daemon(tmp_path / "agent.toml", build=None, jobs_builder=None, notifier=heard)  # type: ignore[arg-type]
    daemon.runner, daemon.scheduler = runner, RunningScheduler()  # type: ignore[assignment]
    daemon.specs = [JobSpec("usage-his", lambda: None), JobSpec("platform-drain", lambda: None)]

    def his_down() -> None:
        raise SourceError("HIS unreachable", transient=True)

    for _ in range(3):  # a HIS outage far longer than WatchdogSec
        runner.run(JobSpec("usage-his", his_down))
        daemon.turn()
    assert heard.heard == ["WATCHDOG=1", "STATUS=2 jobs, failing: usage-his", "WATCHDOG=1", "WATCHDOG=1"]
    daemon.scheduler.running = False  # the loop's own machinery stopped: no more pings, systemd restarts us
    daemon.turn()
    assert heard.heard.count("WATCHDOG=1") == 3


def test_a_platform_outage_shows_in_healthz_and_the_metrics_not_in_the_watchdog(tmp_path: Path) -> None:
    from datetime import UTC, timedelta

    from agent.bootstrap import build_calendar
    from agent.config import AgentConfig
    from agent.runtime import Runtime
    from agent.service.daemon import Daemon
    from agent.store import platform as platform_repo

    runner, _ = make(tmp_path)
    store = runner.store
    down_at = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    with store.begin() as conn:
        platform_repo.link_down(conn, "H1", None, failures=4, hold_until=down_at + timedelta(minutes=5),
                                error="confirm: HTTP 503", now=down_at)
    cfg = AgentConfig.model_validate({"hospital": {"code": "H1", "name": "测试医院"}})
    heard = HeardNotifier()
    daemon = Daemon(tmp_path / "agent.toml", build=None, jobs_builder=None, notifier=heard)  # type: ignore[arg-type]
    daemon.runtime = Runtime(cfg, FakeClock(datetime(2026, 11, 25, 9, 0)), build_calendar(cfg), store)
    daemon.runner, daemon.scheduler = runner, RunningScheduler()  # type: ignore[assignment]
    daemon.metrics = runner.metrics
    daemon._install_collectors()
    ok, detail = daemon._health()
    assert not ok and detail["platform_link"]["state"] == "down" and detail["platform_link"]["failures"] == 4
    text = daemon.metrics.render()
    assert "vbp_platform_link_up 0.0" in text
    since = next(x for x in text.splitlines() if x.startswith("vbp_platform_link_down_since_timestamp_seconds "))
    assert float(since.split()[1]) == down_at.timestamp()
    daemon.turn()
    assert heard.heard[0] == "WATCHDOG=1"
