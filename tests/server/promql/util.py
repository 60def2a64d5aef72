"""Small helpers to read engine results in tests."""

from __future__ import annotations

import math

from tripod.server.promql.engine import Engine
from tripod.server.promql.values import Scalar, Vector


def instant(engine: Engine, query: str, at_s: float) -> dict[str, float]:
    """``{'{a="b"}': value}`` for a vector result (labels rendered without the braces' spaces)."""
    result = engine.instant(query, round(at_s * 1000))
    value = result.value
    if isinstance(value, Scalar):
        return {"scalar": float(value.values[0])}
    assert isinstance(value, Vector), type(value)
    out = {}
    for i, labels in enumerate(value.labels):
        if value.present[i, 0]:
            key = ",".join(f"{k}={v}" for k, v in labels)
            out[key] = float(value.values[i, 0])
    return out


def one(engine: Engine, query: str, at_s: float) -> float:
    values = list(instant(engine, query, at_s).values())
    assert len(values) == 1, values
    return values[0]


def close(a: float, b: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
