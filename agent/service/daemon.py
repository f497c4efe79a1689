"""``vbp-agent run``: the scheduler daemon.

apscheduler 3.x runs each job with ``max_instances=1``, ``coalesce=True`` and an explicit
``misfire_grace_time`` (3.x defaults to one second). SIGTERM lets the running step finish and
commit, then exits 0 within 10 seconds; SIGHUP reloads the config after validating it and keeps
the old one when the new one is bad. systemd hears READY once the first checks pass, WATCHDOG
on every turn of the main loop while the scheduler runs (the process is alive and turning: a HIS
or platform outage is not a reason for systemd to restart it, which would only stop the platform
confirmations too), a STATUS line when the jobs' health changes, and STOPPING on the way out.
Dependency health goes to ``/healthz``, the metrics, the findings and ``vbp-agent status``.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from agent.config import AgentConfig, load_config
from agent.errors import AgentError, ConfigError
from agent.logging import configure, get_logger
from agent.runtime import Runtime
from agent.service.health import HealthServer
from agent.service.metrics import Metrics
from agent.service.runner import JobRunner, JobSpec
from agent.store import alerts, outbox, service
from agent.store import platform as platform_repo
from agent.systemd import Notifier, watchdog_interval_s

log = get_logger("agent.daemon")
STOP_GRACE_S = 8.0

JobsBuilder = Callable[[Runtime, Metrics], list[JobSpec]]
RuntimeBuilder = Callable[[AgentConfig], Runtime]


class Daemon:
    """The scheduler around the jobs; the composition root hands it how to build a runtime and its jobs
    (again on every reload), so the service knows nothing of what the jobs are made of."""

    def __init__(self, config_path: str | Path, build: RuntimeBuilder, jobs_builder: JobsBuilder,
                 notifier: Notifier | None = None) -> None:
        self.config_path = Path(config_path)
        self.build = build
        self.jobs_builder = jobs_builder
        self.notifier = notifier or Notifier()
        self.metrics = Metrics()
        self._stop = threading.Event()
        self._reload = threading.Event()
        self.runtime: Runtime | None = None
        self.runner: JobRunner | None = None
        self.scheduler: BackgroundScheduler | None = None
        self.health: HealthServer | None = None
        self.specs: list[JobSpec] = []
        self._status_text = ""

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        cfg = load_config(self.config_path)
        configure(cfg.logging.level, cfg.logging.json_output)
        self.runtime = self.build(cfg)
        self.runner = JobRunner(self.runtime.store, self.runtime.clock, self.metrics)
        self._install_collectors()
        self.health = HealthServer(cfg.http.host, cfg.http.port, self._health, self.metrics.render).start()
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
            timezone=cfg.hospital.tz,
        )
        self._schedule(cfg)
        self.scheduler.start()
        log.info("agent started", hospital=cfg.hospital.code, jobs=len(self.specs), http_port=self.health.port)
        self.notifier.ready(f"{len(self.specs)} jobs scheduled")

    def _schedule(self, cfg: AgentConfig) -> None:
        assert self.scheduler is not None and self.runtime is not None and self.runner is not None
        self.specs = self.jobs_builder(self.runtime, self.metrics)
        for spec in self.specs:
            trigger: dict[str, Any]
            if spec.cron is not None:
                trigger = {"trigger": "cron", **spec.cron}
            else:
                trigger = {"trigger": "interval", "seconds": spec.interval_s or 300}
            self.scheduler.add_job(
                self.runner.run, args=[spec], id=spec.name, name=spec.name, replace_existing=True,
                coalesce=True, max_instances=1, misfire_grace_time=spec.misfire_grace_s,
                next_run_time=(None if spec.first_run_s is None
                               else self.runtime.clock.now() + timedelta(seconds=spec.first_run_s)), **trigger,
            )

    def serve(self) -> int:
        """Block until SIGTERM/SIGINT; handle SIGHUP. Returns the exit code."""
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self._reload.set())
        tick = watchdog_interval_s() or 5.0
        while not self._stop.wait(min(tick, 5.0)):
            self.turn()
        return self.shutdown()

    def turn(self) -> None:
        """One turn of the main loop: a pending reload, then the watchdog and the status line."""
        if self._reload.is_set():
            self._reload.clear()
            self.reload()
        if self.scheduler is not None and self.scheduler.running:
            self.notifier.watchdog()
        failing = sorted(n for n, st in list(self.runner.states.items()) if not st.up) if self.runner is not None else []
        text = f"{len(self.specs)} jobs, failing: {', '.join(failing)}" if failing else f"{len(self.specs)} jobs, all up"
        if text != self._status_text:
            self._status_text = text
            self.notifier.status(text)

    def reload(self) -> bool:
        self.notifier.reloading()
        try:
            cfg = load_config(self.config_path)
        except ConfigError as exc:
            log.error("config reload refused; keeping the running config", problems=exc.problems)
            self.notifier.ready("config reload refused")
            return False
        assert self.runtime is not None and self.scheduler is not None
        old = self.runtime
        try:
            self.runtime = self.build(cfg)
        except AgentError as exc:
            log.error("config reload failed; keeping the running config", error=str(exc))
            self.runtime = old
            self.notifier.ready("config reload failed")
            return False
        self.runner = JobRunner(self.runtime.store, self.runtime.clock, self.metrics)
        self.scheduler.remove_all_jobs()
        self._schedule(cfg)
        old.close()
        log.info("config reloaded", jobs=len(self.specs))
        self.notifier.ready("config reloaded")
        return True

    def shutdown(self) -> int:
        self.notifier.stopping()
        started = time.monotonic()
        if self.scheduler is not None:
            self.scheduler.pause()
            done = threading.Event()
            threading.Thread(target=lambda: (self.scheduler.shutdown(wait=True), done.set()), daemon=True).start()
            if not done.wait(STOP_GRACE_S):
                log.warning("a job did not finish in time; its open transaction is rolled back", waited_s=STOP_GRACE_S)
        if self.health is not None:
            self.health.stop()
        if self.runtime is not None:
            self.runtime.close()
        log.info("agent stopped", after_s=round(time.monotonic() - started, 2))
        return 0

    def request_stop(self) -> None:
        self._stop.set()

    # -- health ----------------------------------------------------------------------------
    def _health(self) -> tuple[bool, dict[str, Any]]:
        if self.runner is None:
            return False, {"jobs": {}}
        jobs = {name: {"up": st.up, "failures": st.failures, "last_success": st.last_success, "last_error": st.last_error}
                for name, st in sorted(self.runner.states.items())}
        detail: dict[str, Any] = {"jobs": jobs}
        link_up = True
        if self.runtime is not None:
            try:
                link = _link(self.runtime)
            except Exception as exc:  # the store away: the store-check job reports it; health still answers
                detail["platform_link"] = {"state": "unknown", "error": type(exc).__name__}
            else:
                if link is not None:
                    link_up = link.state == "up"
                    detail["platform_link"] = {"state": link.state, "since": link.changed_at, "failures": link.failures,
                                               "held_until": link.hold_until, "last_error": link.last_error}
        return self.runner.healthy() and link_up, detail

    def _install_collectors(self) -> None:
        runtime = self.runtime
        assert runtime is not None
        self.metrics.describe("vbp_outbox_depth", "gauge", "messages waiting in the outbox by channel")

        def depth() -> list[tuple[dict[str, str], float]]:
            with runtime.store.read() as conn:
                return [({"channel": ch}, float(n)) for ch, n in outbox.depth(conn, runtime.store.hospital_code).items()]

        self.metrics.collector("vbp_outbox_depth", depth)
        self.metrics.describe("vbp_oldest_unconfirmed_receipt_age_seconds", "gauge",
                              "age of the oldest accepted receipt not yet confirmed on the platform (到货确认)")
        self.metrics.describe("vbp_alerts_firing", "gauge", "alerts firing by severity")
        self.metrics.collector("vbp_oldest_unconfirmed_receipt_age_seconds", lambda: _oldest_unconfirmed(runtime))
        self.metrics.collector("vbp_alerts_firing", lambda: _alerts_firing(runtime))
        self.metrics.describe("vbp_platform_link_up", "gauge", "1 while the procurement platform answers, 0 while it is held down")
        self.metrics.describe("vbp_platform_link_down_since_timestamp_seconds", "gauge",
                              "when the platform link went down (0 while it is up)")
        self.metrics.collector("vbp_platform_link_up", lambda: _link_up(runtime))
        self.metrics.collector("vbp_platform_link_down_since_timestamp_seconds", lambda: _link_down_since(runtime))


def _oldest_unconfirmed(runtime: Runtime) -> list[tuple[dict[str, str], float]]:
    with runtime.store.read() as conn:
        oldest = service.oldest_unconfirmed_acceptance(conn, runtime.store.hospital_code)
    if oldest is None:
        return [({}, 0.0)]
    return [({}, max(0.0, (runtime.clock.now() - oldest).total_seconds()))]


def _alerts_firing(runtime: Runtime) -> list[tuple[dict[str, str], float]]:
    with runtime.store.read() as conn:
        counts = {sev: float(n) for sev, n in alerts.firing_counts(conn, runtime.store.hospital_code).items()}
    return [({"severity": sev}, counts.get(sev, 0.0)) for sev in ("critical", "warning", "info")]


def _link(runtime: Runtime) -> platform_repo.LinkState | None:
    with runtime.store.read() as conn:
        return platform_repo.link_state(conn, runtime.store.hospital_code)


def _link_up(runtime: Runtime) -> list[tuple[dict[str, str], float]]:
    link = _link(runtime)
    return [({}, 0.0 if link is not None and link.state != "up" else 1.0)]


def _link_down_since(runtime: Runtime) -> list[tuple[dict[str, str], float]]:
    link = _link(runtime)
    if link is None or link.state == "up":
        return [({}, 0.0)]
    at = link.changed_at if link.changed_at.tzinfo is not None else link.changed_at.replace(tzinfo=UTC)
    return [({}, at.timestamp())]
