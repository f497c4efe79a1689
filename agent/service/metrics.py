"""A small in-process metrics registry rendered in the Prometheus text format."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable

Labels = tuple[tuple[str, str], ...]
GaugeFn = Callable[[], Iterable[tuple[dict[str, str], float]]]


def _labels(labels: dict[str, str] | None) -> Labels:
    return tuple(sorted((labels or {}).items()))


def _fmt(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in labels)
    return "{" + inner + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = defaultdict(dict)
        self._gauges: dict[str, dict[Labels, float]] = defaultdict(dict)
        self._help: dict[str, tuple[str, str]] = {}
        self._collectors: dict[str, GaugeFn] = {}

    def describe(self, name: str, kind: str, text: str) -> None:
        self._help[name] = (kind, text)

    def inc(self, name: str, value: float = 1.0, labels: dict[str, str] | None = None) -> None:
        key = _labels(labels)
        with self._lock:
            self._counters[name][key] = self._counters[name].get(key, 0.0) + value

    def set(self, name: str, value: float, labels: dict[str, str] | None = None) -> None:
        with self._lock:
            self._gauges[name][_labels(labels)] = value

    def collector(self, name: str, fn: GaugeFn) -> None:
        """A gauge computed at scrape time (e.g. outbox depth read from the store)."""
        self._collectors[name] = fn

    def value(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        key = _labels(labels)
        with self._lock:
            if key in self._counters.get(name, {}):
                return self._counters[name][key]
            return self._gauges.get(name, {}).get(key)

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            series = {n: ("counter", dict(v)) for n, v in self._counters.items()}
            series.update({n: ("gauge", dict(v)) for n, v in self._gauges.items()})
        for name, fn in self._collectors.items():
            try:
                series[name] = ("gauge", {_labels(lbl): val for lbl, val in fn()})
            except Exception as exc:  # a broken collector must not break the scrape; counted instead
                self.inc("vbp_metrics_collector_errors_total", labels={"collector": name, "class": type(exc).__name__})
        for name in sorted(series):
            kind, values = series[name]
            kind, text = self._help.get(name, (kind, name.replace("_", " ")))
            lines.append(f"# HELP {name} {text}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, val in sorted(values.items()):
                lines.append(f"{name}{_fmt(labels)} {val:g}")
        return "\n".join(lines) + "\n"
