"""The check loop wrapped once: run a job, classify its failure, log on state change, count.

A job is a short function over ports and the store. The runner never lets it stop the daemon:
an ``AgentError`` is transient or permanent as it says; anything else is permanent and logged
with its class. "down" is logged once when a job starts failing and "back" once when it
recovers; steady polling is silent. A job that overruns its deadline is abandoned (its thread
keeps the slot, so the same job never runs twice at once) and reported as transient.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.clock import Clock
from agent.errors import AgentError
from agent.logging import get_logger, redact_text
from agent.service.metrics import Metrics
from agent.store import Store, service
from agent.store.errors import store_went_away

log = get_logger("agent.runner")


@dataclass
class JobSpec:
    name: str
    func: Callable[[], Any]
    interval_s: float | None = None
    cron: dict[str, Any] | None = None  # apscheduler cron fields, e.g. {"hour": 7, "minute": 30}
    timeout_s: float | None = None
    misfire_grace_s: int = 300
    first_run_s: float | None = 0.0  # delay of the first run after start; None: wait for the trigger
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class JobState:
    up: bool = True
    failures: int = 0
    runs: int = 0
    last_success: datetime | None = None
    last_error: str | None = None
    running: threading.Thread | None = None


class JobRunner:
    def __init__(self, store: Store, clock: Clock, metrics: Metrics) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.states: dict[str, JobState] = {}
        self._lock = threading.Lock()
        metrics.describe("vbp_job_runs_total", "counter", "job runs by outcome")
        metrics.describe("vbp_job_errors_total", "counter", "job failures by error class and kind")
        metrics.describe("vbp_job_last_success_timestamp_seconds", "gauge", "last successful run of each job")
        metrics.describe("vbp_job_up", "gauge", "1 when the job's last run succeeded")

    def state(self, name: str) -> JobState:
        with self._lock:
            return self.states.setdefault(name, JobState())

    def healthy(self) -> bool:
        with self._lock:
            return all(s.up for s in self.states.values())

    def run(self, spec: JobSpec) -> bool:
        """Run once; True when it succeeded. Never raises."""
        st = self.state(spec.name)
        if st.running is not None and st.running.is_alive():
            self._fail(spec, st, "JobStillRunning", "the previous run has not finished (abandoned at its deadline)", True)
            return False
        refused = self._schema_refusal()
        if refused is not None:
            self._fail(spec, st, "StoreSchemaNewer", refused, False)
            return False
        outcome: dict[str, Any] = {}

        def target() -> None:
            try:
                outcome["result"] = spec.func()
            except BaseException as exc:  # classified below, in the runner's thread
                outcome["error"] = exc

        started = time.monotonic()
        thread = threading.Thread(target=target, name=f"job-{spec.name}", daemon=True)
        st.running = thread
        thread.start()
        thread.join(spec.timeout_s)
        if thread.is_alive():
            self._fail(spec, st, "JobTimeout", f"no answer after {spec.timeout_s:g} s; abandoned", True)
            return False
        st.running = None
        duration = time.monotonic() - started
        exc = outcome.get("error")
        if exc is None:
            self._succeed(spec, st, duration)
            return True
        if isinstance(exc, AgentError):
            self._fail(spec, st, type(exc).__name__, str(exc), exc.transient, duration)
        elif store_went_away(exc):  # the state store went away (restart, network): retrying helps
            self._fail(spec, st, type(exc).__name__, str(exc), True, duration)
        else:
            self._fail(spec, st, type(exc).__name__, str(exc), False, duration, unexpected=exc)
        return False

    def _schema_refusal(self) -> str | None:
        """A newer vbp-agent sharing the store has upgraded its schema since this one started: it must not write."""
        try:
            return self.store.newer_schema()
        except Exception:  # the store being down is the job's own failure to meet and classify
            return None

    def _succeed(self, spec: JobSpec, st: JobState, duration: float) -> None:
        now = self.clock.now()
        was_down = not st.up
        st.up, st.runs, st.last_success, st.last_error = True, st.runs + 1, now, None
        self.metrics.inc("vbp_job_runs_total", labels={"job": spec.name, "outcome": "ok"})
        self.metrics.set("vbp_job_last_success_timestamp_seconds", now.timestamp(), {"job": spec.name})
        self.metrics.set("vbp_job_up", 1, {"job": spec.name})
        if was_down:
            log.info("job back", job=spec.name, after_failures=st.failures, **spec.labels)
        st.failures = 0
        self._record(spec.name, "up", now, None, None, 0, st.runs, duration, success=True)

    def _fail(
        self, spec: JobSpec, st: JobState, cls: str, message: str, transient: bool,
        duration: float | None = None, unexpected: BaseException | None = None,
    ) -> None:
        now = self.clock.now()
        message = redact_text(message)
        kind = "transient" if transient else "permanent"
        first = st.up
        st.up, st.runs, st.failures, st.last_error = False, st.runs + 1, st.failures + 1, message
        self.metrics.inc("vbp_job_runs_total", labels={"job": spec.name, "outcome": "error"})
        self.metrics.inc("vbp_job_errors_total", labels={"job": spec.name, "class": cls, "kind": kind})
        self.metrics.set("vbp_job_up", 0, {"job": spec.name})
        if first:
            if unexpected is not None:
                log.error("job down", job=spec.name, error_class=cls, kind=kind, error=message,
                          exc_info=(type(unexpected), unexpected, unexpected.__traceback__), **spec.labels)
            else:
                log.warning("job down", job=spec.name, error_class=cls, kind=kind, error=message, **spec.labels)
        self._record(spec.name, "down", now, cls, message, st.failures, st.runs, duration, success=False)

    def _record(self, job: str, state: str, now: datetime, cls: str | None, error: str | None,
                failures: int, runs: int, duration: float | None, success: bool) -> None:
        try:
            with self.store.begin() as conn:
                service.record_job_health(conn, self.store.hospital_code, job, state, now, cls, error, failures, runs,
                                          duration, success)
        except Exception as exc:  # the store being down must not kill the runner; counted and logged once per class
            self.metrics.inc("vbp_job_errors_total", labels={"job": "job_health", "class": type(exc).__name__, "kind": "transient"})
