"""Query results as Prometheus API JSON text, built directly as strings.

A range query over a thousand series answers hundreds of thousands of points; formatting each
value in a Python loop and handing nested lists to ``json.dumps`` took seconds, so values are
formatted a whole row at a time (``repr`` is already Go's shortest round-trip form; only
non-finite, very large and very small values need the slower path) and joined as text.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import numpy as np

from tripod.server.promql.engine import QueryResult
from tripod.server.promql.values import F64, Labels, Matrix, Scalar, String, Vector, format_value
from tripod.server.store.model import ExemplarSeries

__all__ = ["format_values", "json_value", "render_data", "render_exemplars"]


def json_value(value: float) -> str:
    """A sample value as Prometheus's API writes it (``jsonutil.MarshalValue``): Go's
    ``FormatFloat(v, 'f', -1, 64)``, but the shortest ``'e'`` form below 1e-6 and from 1e21 on
    (``-1e+300``, ``1.5e-07``), which is also what Python's ``repr`` gives there. (A scalar
    result is written by ``promql.Scalar``'s own marshaller: plain 'f' format.)"""
    magnitude = abs(value)
    if value != 0 and math.isfinite(value) and (magnitude < 1e-6 or magnitude >= 1e21):
        return repr(value)
    return format_value(value)


def format_values(values: F64) -> list[str]:
    """:func:`json_value` for a whole array."""
    out = [s[:-2] if s.endswith(".0") else s for s in map(repr, values.tolist())]
    with np.errstate(invalid="ignore"):
        magnitude = np.abs(values)
        special = ~np.isfinite(values) | (magnitude >= 1e16) | ((magnitude < 1e-4) & (values != 0))
    for i in np.flatnonzero(special).tolist():
        out[i] = json_value(float(values[i]))
    return out


def _time_text(ms: int) -> str:
    """Prometheus writes timestamps as seconds with up to three decimals."""
    return str(ms // 1000) if ms % 1000 == 0 else repr(ms / 1000.0)


def _metric(labels: Labels) -> str:
    return json.dumps(dict(labels), ensure_ascii=False, separators=(",", ":"))


def _points(times: list[str], values: list[str]) -> str:
    return ",".join([f'[{t},"{v}"]' for t, v in zip(times, values, strict=True)])


def render_data(result: QueryResult) -> str:
    """The ``data`` member of a query answer: ``{"resultType", "result"}`` as JSON text."""
    value = result.value
    steps = result.steps
    if isinstance(value, Scalar):
        t = _time_text(int(steps[0]))
        return f'{{"resultType":"scalar","result":[{t},"{format_value(float(value.values[0]))}"]}}'
    if isinstance(value, String):
        text = json.dumps(value.value, ensure_ascii=False)
        return f'{{"resultType":"string","result":[{_time_text(int(steps[0]))},{text}]}}'
    parts: list[str] = []
    if isinstance(value, Matrix):
        t0 = int(value.eval_ms[0])
        series = value.series
        for i, labels in enumerate(series.labels):
            ts = series.ts[series.starts[i] : series.ends[i]]
            vs = series.vs[series.starts[i] : series.ends[i]]
            keep = (ts >= t0 - value.range_ms) & (ts <= t0)
            if keep.any():
                times = [_time_text(t) for t in ts[keep].tolist()]
                points = _points(times, format_values(vs[keep]))
                parts.append(f'{{"metric":{_metric(labels)},"values":[{points}]}}')
        return '{"resultType":"matrix","result":[' + ",".join(parts) + "]}"
    assert isinstance(value, Vector)
    if result.kind == "vector":
        t = _time_text(int(steps[0]))
        rows = np.flatnonzero(value.present[:, 0])
        texts = format_values(value.values[rows, 0])
        for row, text in zip(rows.tolist(), texts, strict=True):
            parts.append(f'{{"metric":{_metric(value.labels[row])},"value":[{t},"{text}"]}}')
        return '{"resultType":"vector","result":[' + ",".join(parts) + "]}"
    all_times = [_time_text(t) for t in steps.tolist()]
    for i, labels in enumerate(value.labels):
        idx = np.flatnonzero(value.present[i])
        times = [all_times[j] for j in idx.tolist()]
        points = _points(times, format_values(value.values[i, idx]))
        parts.append(f'{{"metric":{_metric(labels)},"values":[{points}]}}')
    return '{"resultType":"matrix","result":[' + ",".join(parts) + "]}"


def _json(labels: Mapping[str, str]) -> str:
    return json.dumps(dict(labels), ensure_ascii=False, separators=(",", ":"))


def render_exemplars(found: list[ExemplarSeries]) -> str:
    """``/api/v1/query_exemplars``'s data: ``[{seriesLabels, exemplars: [{labels, value,
    timestamp}]}]`` with values as strings and timestamps as float seconds, as Prometheus."""
    parts = []
    for item in found:
        rows = ",".join(
            '{"labels":' + _json(e.labels) + ',"value":"' + json_value(e.value)
            + '","timestamp":' + _time_text(e.ts_ms) + "}"
            for e in item.exemplars
        )  # fmt: skip
        parts.append('{"seriesLabels":' + _json(item.series) + ',"exemplars":[' + rows + "]}")
    return "[" + ",".join(parts) + "]"
