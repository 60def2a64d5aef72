"""The JSON bodies of ``/api/v1/rules`` and ``/api/v1/alerts``, in Prometheus 2.42's exact shape
(``web/api/v1/api.go``), built from evaluated :class:`RuleGroup` objects. Routing is elsewhere."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

from tripod.server.rules._gofmt import float_e
from tripod.server.rules.alerting import Alert, AlertingRule
from tripod.server.rules.group import RuleGroup

__all__ = ["alerts_body", "rfc3339", "rfc3339_ms", "rfc3339_ns", "rules_body"]

_ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339_ns(nanos: int | None) -> str:
    """Go's ``time.Time`` JSON in UTC (RFC 3339, trailing fraction zeros trimmed, ``Z``) of
    integer nanoseconds since the epoch; ``None`` is Go's zero time."""
    if nanos is None:
        return _ZERO_TIME
    whole, frac = divmod(nanos, 1_000_000_000)
    stamp = dt.datetime.fromtimestamp(whole, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f".{frac:09d}".rstrip("0") if frac else ""
    return f"{stamp}{fraction}Z"


def rfc3339_ms(ms: int) -> str:
    """:func:`rfc3339_ns` of integer milliseconds (evaluation timestamps: ``activeAt``)."""
    return rfc3339_ns(ms * 1_000_000)


def rfc3339(seconds: float | None) -> str:
    """:func:`rfc3339_ns` of a wall-clock reading in float seconds (``lastEvaluation``), taken
    to whole microseconds: a float near 1.8e9 s holds no more, and finer digits would be noise
    (``.617000103`` for ``.617``)."""
    return _ZERO_TIME if seconds is None else rfc3339_ns(round(seconds * 1_000_000) * 1000)


def _value(v: float) -> str:
    """``strconv.FormatFloat(v, 'e', -1, 64)``."""
    text = float_e(v)
    return text if math.isnan(v) or math.isinf(v) else text.lower()


def _alert(a: Alert) -> dict[str, Any]:
    out: dict[str, Any] = {
        "labels": dict(sorted(a.labels.items())),
        "annotations": dict(sorted(a.annotations.items())),
        "state": str(a.state),
        "activeAt": rfc3339_ms(a.active_at_ms),
        "value": _value(a.value),
    }
    if a.keep_firing_since_ms is not None:
        out["keepFiringSince"] = rfc3339_ms(a.keep_firing_since_ms)
    return out


def _alerts(rule: AlertingRule) -> list[dict[str, Any]]:
    active = sorted(rule.active_alerts(), key=lambda a: sorted(a.labels.items()))
    return [_alert(a) for a in active]


def rules_body(groups: Sequence[RuleGroup], rule_type: str = "") -> dict[str, Any]:
    """``/api/v1/rules`` (``type`` = ``alert``, ``record`` or empty for both).

    Raises ValueError with Prometheus's message for another ``type``.
    """
    kind = rule_type.lower()
    if kind not in {"", "alert", "record"}:
        msg = f'invalid parameter "type": not supported value "{rule_type}"'
        raise ValueError(msg)
    out = []
    for group in groups:
        rules: list[dict[str, Any]] = []
        for rule, status in zip(group.rules, group.status, strict=True):
            common = {
                "health": status.health,
                **({"lastError": status.last_error} if status.last_error else {}),
                "evaluationTime": status.evaluation_s,
                "lastEvaluation": rfc3339(status.last_evaluation_s),
            }
            if isinstance(rule, AlertingRule):
                if kind == "record":
                    continue
                rules.append(
                    {
                        "state": str(rule.state()),
                        "name": rule.name,
                        "query": rule.expr,
                        "duration": rule.hold_ms / 1000,
                        "keepFiringFor": rule.keep_firing_for_ms / 1000,
                        "labels": rule.labels,
                        "annotations": rule.annotations,
                        "alerts": _alerts(rule),
                        **common,
                        "type": "alerting",
                    }
                )
            elif kind != "alert":
                rules.append(
                    {
                        "name": rule.name,
                        "query": rule.expr,
                        **({"labels": rule.labels} if rule.labels else {}),
                        **common,
                        "type": "recording",
                    }
                )
        out.append(
            {
                "name": group.name,
                "file": group.file,
                "rules": rules,
                "interval": group.interval_ms / 1000,
                "limit": group.limit,
                "evaluationTime": group.evaluation_s,
                "lastEvaluation": rfc3339(group.last_evaluation_s),
            }
        )
    return {"status": "success", "data": {"groups": out}}


def alerts_body(groups: Sequence[RuleGroup]) -> dict[str, Any]:
    """``/api/v1/alerts``: every pending and firing alert of every alerting rule."""
    alerts = [a for g in groups for r in g.alerting_rules() for a in _alerts(r)]
    return {"status": "success", "data": {"alerts": alerts}}
