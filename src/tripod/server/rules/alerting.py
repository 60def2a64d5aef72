"""Alerting rules: Prometheus 2.42's alert state machine (``rules/alerting.go``), reimplemented.

Each evaluation runs the rule's query; every result sample is an alert identified by its label
set (the sample's labels without ``__name__``, plus the rule's expanded labels and
``alertname``). A new alert is pending; after ``for`` it fires; when it leaves the result it is
resolved, unless ``keep_firing_for`` keeps it firing a while. Resolved alerts stay 15 minutes so
Alertmanager hears about the resolution. Times are integer milliseconds.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from tripod.server.rules._types import (
    LITERAL,
    Expander,
    QueryFunc,
    RuleEvalError,
    TemplateData,
    set_label,
)
from tripod.server.rules.rulefile import RuleSpec

__all__ = [
    "ALERTS_FOR_STATE_METRIC",
    "ALERTS_METRIC",
    "RESOLVED_RETENTION_MS",
    "Alert",
    "AlertState",
    "AlertingRule",
    "LabelKey",
]

ALERTS_METRIC = "ALERTS"
ALERTS_FOR_STATE_METRIC = "ALERTS_FOR_STATE"
RESOLVED_RETENTION_MS = 15 * 60_000

LabelKey = tuple[tuple[str, str], ...]


class AlertState(enum.IntEnum):
    INACTIVE = 0
    PENDING = 1
    FIRING = 2

    def __str__(self) -> str:
        return self.name.lower()


@dataclasses.dataclass
class Alert:
    """One alert instance; ``None`` times are Go's zero time (never happened)."""

    labels: dict[str, str]
    annotations: dict[str, str]
    state: AlertState
    value: float
    active_at_ms: int
    fired_at_ms: int | None = None
    resolved_at_ms: int | None = None
    last_sent_at_ms: int | None = None
    valid_until_ms: int | None = None
    keep_firing_since_ms: int | None = None

    def needs_sending(self, ts_ms: int, resend_delay_ms: int) -> bool:
        if self.state == AlertState.PENDING:
            return False
        if self.resolved_at_ms is not None and (
            self.last_sent_at_ms is None or self.resolved_at_ms > self.last_sent_at_ms
        ):
            return True
        return self.last_sent_at_ms is None or self.last_sent_at_ms + resend_delay_ms < ts_ms


def _key(labels: Mapping[str, str]) -> LabelKey:
    return tuple(sorted(labels.items()))


class AlertingRule:
    """An ``alert:`` rule and its active alerts."""

    kind = "alerting"

    def __init__(
        self,
        spec: RuleSpec,
        *,
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
        expander: Expander = LITERAL,
        restored: bool = False,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.expr = spec.expr
        self.hold_ms = spec.for_ms
        self.keep_firing_for_ms = spec.keep_firing_for_ms
        self.labels = dict(sorted(spec.labels.items()))
        self.annotations = dict(sorted(spec.annotations.items()))
        self.external_labels = dict(external_labels or {})
        self.external_url = external_url
        self.expander = expander
        #: ALERTS / ALERTS_FOR_STATE are written only once the ``for`` state was restored.
        self.restored = restored
        self.active: dict[LabelKey, Alert] = {}

    def _expand(self, text: str, data: TemplateData) -> str:
        return self.expander(text, data, self.name) if "{{" in text else text

    def eval(
        self, ts_ms: int, query: QueryFunc, limit: int = 0
    ) -> list[tuple[dict[str, str], float]]:
        """Update the alerts from one evaluation; returns the ALERTS/ALERTS_FOR_STATE samples."""
        result = query(self.expr, ts_ms)
        fresh: dict[LabelKey, Alert] = {}
        for metric, value in result:
            data = TemplateData(
                metric, self.external_labels, self.external_url, value, ts_ms, query
            )
            labels = {k: v for k, v in metric.items() if k != "__name__"}
            for name, template in self.labels.items():
                set_label(labels, name, self._expand(template, data))
            labels["alertname"] = self.name
            annotations = {k: self._expand(v, data) for k, v in self.annotations.items()}
            key = _key(labels)
            if key in fresh:
                msg = "vector contains metrics with the same labelset after applying alert labels"
                raise RuleEvalError(msg)
            fresh[key] = Alert(
                dict(sorted(labels.items())), annotations, AlertState.PENDING, value, ts_ms
            )

        for key, alert in fresh.items():
            known = self.active.get(key)
            if known is not None and known.state != AlertState.INACTIVE:
                known.value = alert.value
                known.annotations = alert.annotations
                continue
            self.active[key] = alert

        out: list[tuple[dict[str, str], float]] = []
        active_count = 0
        for key, alert in list(self.active.items()):
            if key not in fresh:
                keep_firing = False
                if alert.state == AlertState.FIRING and self.keep_firing_for_ms > 0:
                    if alert.keep_firing_since_ms is None:
                        alert.keep_firing_since_ms = ts_ms
                    keep_firing = ts_ms - alert.keep_firing_since_ms < self.keep_firing_for_ms
                if alert.state == AlertState.PENDING or (
                    alert.resolved_at_ms is not None
                    and ts_ms - alert.resolved_at_ms > RESOLVED_RETENTION_MS
                ):
                    del self.active[key]
                if alert.state != AlertState.INACTIVE and not keep_firing:
                    alert.state = AlertState.INACTIVE
                    alert.resolved_at_ms = ts_ms
                if not keep_firing:
                    continue
            else:
                alert.keep_firing_since_ms = None
            active_count += 1
            if alert.state == AlertState.PENDING and ts_ms - alert.active_at_ms >= self.hold_ms:
                alert.state = AlertState.FIRING
                alert.fired_at_ms = ts_ms
            if self.restored:
                out.append((self.series_labels(alert, ALERTS_METRIC), 1.0))
                out.append(
                    (
                        self.series_labels(alert, ALERTS_FOR_STATE_METRIC),
                        float(alert.active_at_ms // 1000),
                    )
                )
        if limit > 0 and active_count > limit:
            self.active = {}
            msg = f"exceeded limit of {limit} with {active_count} alerts"
            raise RuleEvalError(msg)
        return out

    def series_labels(self, alert: Alert, metric: str) -> dict[str, str]:
        """The labels of the alert's ``ALERTS`` or ``ALERTS_FOR_STATE`` series."""
        labels = {k: v for k, v in self.labels.items() if v != ""}
        labels.update(alert.labels)
        labels["__name__"] = metric
        labels["alertname"] = self.name
        if metric == ALERTS_METRIC:
            labels["alertstate"] = str(alert.state)
        return labels

    def state(self) -> AlertState:
        """The highest state among the rule's alerts."""
        return max((a.state for a in self.active.values()), default=AlertState.INACTIVE)

    def active_alerts(self) -> list[Alert]:
        """Pending and firing alerts (resolved ones kept for notification are left out)."""
        return [a for a in self.active.values() if a.resolved_at_ms is None]

    def firing_alerts(self) -> list[Alert]:
        return [a for a in self.active_alerts() if a.state == AlertState.FIRING]
