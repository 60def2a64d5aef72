"""The server's own metrics, in ``ctx.registry`` (served on ``/metrics``).

Every ingest path calls :func:`record_ingested` / :func:`record_rejected`; query endpoints wrap
their work in :func:`time_query`. The instruments are made once per registry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from tripod.server.deps import ServerContext

__all__ = [
    "GroupRound",
    "RuleMetrics",
    "SelfMetrics",
    "instruments",
    "record_ingested",
    "record_rejected",
    "rule_metrics",
    "set_store_size",
    "time_query",
]

_QUERY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class SelfMetrics:
    ingested: Counter
    rejected: Counter
    store_size: Gauge
    query_duration: Histogram


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, SelfMetrics] = (
    weakref.WeakKeyDictionary()
)


def instruments(registry: CollectorRegistry) -> SelfMetrics:
    """The server's instruments in ``registry``, made on first use."""
    found = _BY_REGISTRY.get(registry)
    if found is None:
        found = SelfMetrics(
            ingested=Counter(
                "tripod_server_ingested",
                "Items stored, by signal (samples, spans, logs) and source.",
                ["signal", "source"],
                registry=registry,
            ),
            rejected=Counter(
                "tripod_server_rejected",
                "Items refused at ingest, by signal and reason.",
                ["signal", "reason"],
                registry=registry,
            ),
            store_size=Gauge(
                "tripod_server_store_size_bytes",
                "Bytes the store uses on disk (database file and write-ahead log).",
                registry=registry,
            ),
            query_duration=Histogram(
                "tripod_server_query_duration_seconds",
                "Time to answer a query, by API.",
                ["api"],
                buckets=_QUERY_BUCKETS,
                registry=registry,
            ),
        )
        _BY_REGISTRY[registry] = found
    return found


def record_ingested(ctx: ServerContext, signal: str, source: str, n: int) -> None:
    """Count ``n`` stored items of ``signal`` ("samples", "spans", "logs") from ``source``."""
    if n > 0:
        instruments(ctx.registry).ingested.labels(signal, source).inc(n)


def record_rejected(ctx: ServerContext, signal: str, reason: str, n: int) -> None:
    """Count ``n`` refused items of ``signal`` with a short snake_case ``reason``."""
    if n > 0:
        instruments(ctx.registry).rejected.labels(signal, reason).inc(n)


def set_store_size(ctx: ServerContext, size: Callable[[], float]) -> None:
    """Make the store-size gauge read ``size()`` at each scrape of /metrics."""
    instruments(ctx.registry).store_size.set_function(size)


@contextlib.contextmanager
def time_query(ctx: ServerContext, api: str) -> Iterator[None]:
    """Observe the duration of the enclosed query under ``api`` (e.g. "traces", "query_range")."""
    start = time.perf_counter()
    try:
        yield
    finally:
        instruments(ctx.registry).query_duration.labels(api).observe(time.perf_counter() - start)


@dataclass(frozen=True)
class GroupRound:
    """What the rule loop reports of one rule group after a round (plain numbers, so this module
    needs nothing of ``rules/``). ``evaluated`` is false for a group that did not run."""

    key: str  # "<file>;<group name>", Prometheus's rule_group label
    interval_s: float
    rules: int
    evaluated: bool = False
    evaluations: int = 0  # rule evaluations in this round
    failures: int = 0
    duration_s: float = 0.0
    started_s: float = 0.0  # wall-clock start of the round
    rule_durations_s: Sequence[float] = ()


_Family = type[CounterMetricFamily] | type[GaugeMetricFamily]


@dataclass
class _Group:
    interval_s: float
    rules: int
    evaluations: int = 0
    failures: int = 0
    iterations: int = 0
    missed: int = 0
    last_duration_s: float = 0.0
    last_evaluation_s: float = 0.0


class RuleMetrics(Collector):
    """The rule manager's metrics named as Prometheus 2.42 names them (``rules/manager.go``).

    The two summaries export ``_count`` and ``_sum`` (no quantiles, as with the Python client).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, _Group] = {}
        self._rule_count = self._group_count = 0
        self._rule_sum = self._group_sum = 0.0

    def update(self, rounds: Iterable[GroupRound]) -> None:
        """Record a round; groups not in ``rounds`` (removed by a reload) lose their series."""
        with self._lock:
            seen: dict[str, _Group] = {}
            for r in rounds:
                g = self._groups.get(r.key) or _Group(r.interval_s, r.rules)
                g.interval_s, g.rules = r.interval_s, r.rules
                if r.evaluated:
                    if g.iterations and r.interval_s > 0:
                        slots = round((r.started_s - g.last_evaluation_s) / r.interval_s)
                        g.missed += max(slots - 1, 0)
                    g.iterations += 1
                    g.evaluations += r.evaluations
                    g.failures += r.failures
                    g.last_duration_s, g.last_evaluation_s = r.duration_s, r.started_s
                    self._group_count += 1
                    self._group_sum += r.duration_s
                    self._rule_count += len(r.rule_durations_s)
                    self._rule_sum += sum(r.rule_durations_s)
                seen[r.key] = g
            self._groups = seen

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            groups = {k: dataclasses.replace(g) for k, g in self._groups.items()}
            rule = (self._rule_count, self._rule_sum)
            group = (self._group_count, self._group_sum)
        yield SummaryMetricFamily(
            "prometheus_rule_evaluation_duration_seconds",
            "The duration for a rule to execute.",
            rule[0],
            rule[1],
        )
        yield SummaryMetricFamily(
            "prometheus_rule_group_duration_seconds",
            "The duration of rule group evaluations.",
            group[0],
            group[1],
        )
        table: list[tuple[_Family, str, str, Callable[[_Group], float]]] = [
            (CounterMetricFamily, "prometheus_rule_evaluations",
             "The total number of rule evaluations.", lambda g: g.evaluations),
            (CounterMetricFamily, "prometheus_rule_evaluation_failures",
             "The total number of rule evaluation failures.", lambda g: g.failures),
            (CounterMetricFamily, "prometheus_rule_group_iterations",
             "The total number of scheduled rule group evaluations, whether executed or missed.",
             lambda g: g.iterations + g.missed),
            (CounterMetricFamily, "prometheus_rule_group_iterations_missed",
             "The total number of rule group evaluations missed due to slow rule group evaluation.",
             lambda g: g.missed),
            (GaugeMetricFamily, "prometheus_rule_group_interval_seconds",
             "The interval of a rule group.", lambda g: g.interval_s),
            (GaugeMetricFamily, "prometheus_rule_group_last_duration_seconds",
             "The duration of the last rule group evaluation.", lambda g: g.last_duration_s),
            (GaugeMetricFamily, "prometheus_rule_group_last_evaluation_timestamp_seconds",
             "The timestamp of the last rule group evaluation in seconds.",
             lambda g: g.last_evaluation_s),
            (GaugeMetricFamily, "prometheus_rule_group_rules",
             "The number of rules.", lambda g: g.rules),
        ]  # fmt: skip
        for kind, name, doc, value in table:
            family = kind(name, doc, labels=["rule_group"])
            for key, g in sorted(groups.items()):
                family.add_metric([key], value(g))
            yield family


_RULE_METRICS: weakref.WeakKeyDictionary[CollectorRegistry, RuleMetrics] = (
    weakref.WeakKeyDictionary()
)


def rule_metrics(registry: CollectorRegistry) -> RuleMetrics:
    """The rule manager's metrics in ``registry``, registered on first use."""
    found = _RULE_METRICS.get(registry)
    if found is None:
        found = _RULE_METRICS[registry] = RuleMetrics()
        registry.register(found)
    return found
