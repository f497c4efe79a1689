"""A small in-process metrics registry, exposed by ``prometheus_client`` in the Prometheus text format.

Values are written exactly (prometheus_client's shortest round-trip repr: a timestamp of
1796411714 reads 1.796411714e+09, never a six-digit rounding), label values escaped by the library.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

Labels = tuple[tuple[str, str], ...]
GaugeFn = Callable[[], Iterable[tuple[dict[str, str], float]]]


def _labels(labels: dict[str, str] | None) -> Labels:
    return tuple(sorted((labels or {}).items()))


class _Families(Collector):
    """One scrape's families, handed to prometheus_client's exposition."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


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
        series: dict[str, tuple[str, dict[Labels, float]]]
        with self._lock:
            series = {n: ("counter", dict(v)) for n, v in self._counters.items()}
            series.update({n: ("gauge", dict(v)) for n, v in self._gauges.items()})
        for name, fn in self._collectors.items():
            try:
                series[name] = ("gauge", {_labels(lbl): float(val) for lbl, val in fn()})
            except Exception as exc:  # a broken collector must not break the scrape; counted instead
                self.inc("vbp_metrics_collector_errors_total", labels={"collector": name, "class": type(exc).__name__})
        families: list[Metric] = []
        for name in sorted(series):
            kind, values = series[name]
            text = self._help.get(name, (kind, name.replace("_", " ")))[1]
            family: Metric = CounterMetricFamily(name, text) if kind == "counter" else GaugeMetricFamily(name, text)
            sample = name if kind != "counter" or name.endswith("_total") else name + "_total"
            for labels, val in sorted(values.items()):
                family.add_sample(sample, dict(labels), val)
            families.append(family)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Families(families))
        return generate_latest(registry).decode("utf-8")
