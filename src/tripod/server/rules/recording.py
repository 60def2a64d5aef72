"""Recording rules (Prometheus 2.42 ``rules/recording.go``): the query's samples renamed to the
rule's name, with the rule's labels set (an empty value removes a label)."""

from __future__ import annotations

from tripod.server.rules._types import QueryFunc, RuleEvalError, set_label
from tripod.server.rules.rulefile import RuleSpec

__all__ = ["RecordingRule"]


class RecordingRule:
    """A ``record:`` rule."""

    kind = "recording"

    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.expr = spec.expr
        self.labels = dict(sorted(spec.labels.items()))

    def eval(
        self, ts_ms: int, query: QueryFunc, limit: int = 0
    ) -> list[tuple[dict[str, str], float]]:
        out = []
        seen: set[tuple[tuple[str, str], ...]] = set()
        for metric, value in query(self.expr, ts_ms):
            labels = dict(metric)
            labels["__name__"] = self.name
            for name, label_value in self.labels.items():
                set_label(labels, name, label_value)
            key = tuple(sorted(labels.items()))
            if key in seen:
                msg = "vector contains metrics with the same labelset after applying rule labels"
                raise RuleEvalError(msg)
            seen.add(key)
            out.append((labels, value))
        if limit > 0 and len(out) > limit:
            msg = f"exceeded limit of {limit} with {len(out)} series"
            raise RuleEvalError(msg)
        return out
