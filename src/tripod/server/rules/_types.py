"""Small shared types of rule evaluation: the query function, template expansion, rule errors."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Mapping
from typing import Protocol

from tripod.server.promql import Engine, PromQLError

__all__ = [
    "LITERAL",
    "Expander",
    "QueryFunc",
    "RuleEvalError",
    "TemplateData",
    "engine_query_func",
    "set_label",
    "with_subquery_step",
]

#: ``(query, time_ms) -> [(labels, value)]``: an instant query whose answer is a vector (a
#: scalar becomes one sample with no labels), as Prometheus's ``EngineQueryFunc``.
QueryFunc = Callable[[str, int], list[tuple[dict[str, str], float]]]


class RuleEvalError(Exception):
    """A rule's evaluation failed; the message is what Prometheus reports as ``lastError``."""


_SUBQUERY_NO_STEP = re.compile(r"\[(\s*[0-9]+(?:ms|[smhdwy])(?:[0-9]+(?:ms|[smhdwy]))*\s*):\s*\]")
_STRING = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|`[^`]*`")
_ENGINE_SUBQUERY_STEP_MS = 60_000  # what the engine uses for a subquery without a step


@functools.lru_cache(maxsize=1024)  # pure; every rule's text comes back at every evaluation
def with_subquery_step(expr: str, step_ms: int) -> str:
    """``expr`` with every step-less subquery ``[10m:]`` given ``step_ms`` explicitly (string
    literals untouched): how promtool's engine evaluates them, its default subquery step being
    the evaluation interval where tripod's engine uses one minute."""
    if step_ms == _ENGINE_SUBQUERY_STEP_MS or ":" not in expr:
        return expr
    out, pos = [], 0
    for m in _STRING.finditer(expr):
        out.append(_SUBQUERY_NO_STEP.sub(rf"[\1:{step_ms}ms]", expr[pos : m.start()]))
        out.append(m.group())
        pos = m.end()
    out.append(_SUBQUERY_NO_STEP.sub(rf"[\1:{step_ms}ms]", expr[pos:]))
    return "".join(out)


def engine_query_func(engine: Engine, subquery_step_ms: int | None = None) -> QueryFunc:
    """Instant queries on ``engine``; ``subquery_step_ms`` sets the step of subqueries written
    without one (the engine's default is one minute, Prometheus's the evaluation interval)."""

    def query(expr: str, time_ms: int) -> list[tuple[dict[str, str], float]]:
        if subquery_step_ms is not None:
            expr = with_subquery_step(expr, subquery_step_ms)
        try:
            result = engine.instant(expr, time_ms)
        except PromQLError as exc:
            raise RuleEvalError(str(exc)) from exc
        if result.kind not in {"vector", "scalar"}:
            msg = "rule result is not a vector or scalar"
            raise RuleEvalError(msg)
        return result.samples()

    return query


@dataclasses.dataclass(frozen=True)
class TemplateData:
    """What a label or annotation template sees: ``$labels``, ``$externalLabels``,
    ``$externalURL``, ``$value``, and the evaluation time and query function for ``query``."""

    labels: Mapping[str, str]
    external_labels: Mapping[str, str]
    external_url: str
    value: float
    time_ms: int
    query: QueryFunc | None = None


class Expander(Protocol):
    """Expands one Go template; a failure is returned as Prometheus's
    ``<error expanding template: ...>`` text, never raised."""

    def __call__(self, text: str, data: TemplateData, alert_name: str) -> str: ...


def _literal(text: str, data: TemplateData, alert_name: str) -> str:
    return text


#: The expander used when none is given: returns the text unchanged.
LITERAL: Expander = _literal


def set_label(labels: dict[str, str], name: str, value: str) -> None:
    """Prometheus's ``labels.Builder.Set``: an empty value deletes the label."""
    if value == "":
        labels.pop(name, None)
    else:
        labels[name] = value
