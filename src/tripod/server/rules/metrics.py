"""The rule manager's self-metrics, named as Prometheus 2.42 names them (``rules/manager.go``):
one series per group with ``rule_group="<file>;<group>"``, counters kept over reloads. The two
summaries export ``_count`` and ``_sum`` (no quantiles, as with the Python client)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from tripod.server.rules.group import RuleGroup
from tripod.server.rules.manager import GroupStats, RuleManager

__all__ = ["RuleMetrics", "rule_metrics"]

_Family = type[CounterMetricFamily] | type[GaugeMetricFamily]
_Value = Callable[[RuleGroup, GroupStats], float]

_TABLE: list[tuple[_Family, str, str, _Value]] = [
    (CounterMetricFamily, "prometheus_rule_evaluations",
     "The total number of rule evaluations.", lambda g, s: s.evaluations),
    (CounterMetricFamily, "prometheus_rule_evaluation_failures",
     "The total number of rule evaluation failures.", lambda g, s: s.failures),
    (CounterMetricFamily, "prometheus_rule_group_iterations",
     "The total number of scheduled rule group evaluations, whether executed or missed.",
     lambda g, s: s.iterations),
    (CounterMetricFamily, "prometheus_rule_group_iterations_missed",
     "The total number of rule group evaluations missed due to slow rule group evaluation.",
     lambda g, s: s.missed),
    (GaugeMetricFamily, "prometheus_rule_group_interval_seconds",
     "The interval of a rule group.", lambda g, s: g.interval_ms / 1000),
    (GaugeMetricFamily, "prometheus_rule_group_last_duration_seconds",
     "The duration of the last rule group evaluation.", lambda g, s: s.last_duration_s),
    (GaugeMetricFamily, "prometheus_rule_group_last_evaluation_timestamp_seconds",
     "The timestamp of the last rule group evaluation in seconds.",
     lambda g, s: s.last_evaluation_s),
    (GaugeMetricFamily, "prometheus_rule_group_rules",
     "The number of rules.", lambda g, s: len(g.rules)),
]  # fmt: skip


class RuleMetrics(Collector):
    """Reads a :class:`RuleManager`'s counters at each scrape."""

    def __init__(self, manager: RuleManager) -> None:
        self.manager = manager

    def collect(self) -> Iterator[Metric]:
        stats = sorted(
            (f"{file};{name}", g, s) for (file, name), (g, s) in self.manager.stats().items()
        )
        t = self.manager.totals
        yield SummaryMetricFamily(
            "prometheus_rule_evaluation_duration_seconds",
            "The duration for a rule to execute.",
            t.evaluations,
            t.rule_seconds,
        )
        yield SummaryMetricFamily(
            "prometheus_rule_group_duration_seconds",
            "The duration of rule group evaluations.",
            t.iterations - t.missed,
            t.group_seconds,
        )
        for kind, name, doc, value in _TABLE:
            family = kind(name, doc, labels=["rule_group"])
            for key, g, s in stats:
                family.add_metric([key], value(g, s))
            yield family


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, RuleMetrics] = (
    weakref.WeakKeyDictionary()
)


def rule_metrics(registry: CollectorRegistry, manager: RuleManager) -> RuleMetrics:
    """Serve ``manager``'s metrics from ``registry`` (registered once per registry; a later
    manager replaces the earlier one)."""
    found = _BY_REGISTRY.get(registry)
    if found is None:
        found = _BY_REGISTRY[registry] = RuleMetrics(manager)
        registry.register(found)
    found.manager = manager
    return found
