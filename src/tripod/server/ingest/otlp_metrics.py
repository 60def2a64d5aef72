"""OTLP metrics to Prometheus series, following OpenTelemetry's Prometheus compatibility rules.

- Names: characters outside ``[a-zA-Z0-9]`` become single underscores; the unit is appended as
  a word (``s`` -> ``_seconds``, ``By`` -> ``_bytes``, ``By/s`` -> ``_bytes_per_second``,
  ``{packets}`` dropped); monotonic sums end in ``_total``; gauges of unit ``1`` in ``_ratio``.
- Labels: point attributes, sanitised (``http.method`` -> ``http_method``, a leading digit gets
  ``key_``; values of colliding keys are joined with ``;``), plus ``job`` (``service.namespace/
  service.name``), ``instance`` (``service.instance.id``), ``otel_scope_name``/``_version``.
  Resource attributes go to ``target_info{job, instance, ...} 1``.
- Histograms: ``_bucket{le}`` (cumulative), ``_sum``, ``_count``; summaries: ``{quantile}``,
  ``_sum``, ``_count``. Exponential histograms become classic ``le`` buckets: their buckets are
  merged down to at most scale 3 (boundaries ``2**(k/8)``), the zero bucket and all negative
  buckets count into ``le=<zero threshold>``, and ``+Inf`` is the total count.
- Delta temporality is accumulated to cumulative per series in memory (a restart starts again
  from zero, which PromQL's ``rate`` reads as a counter reset).
- A point flagged "no recorded value" becomes a staleness marker.
- Exemplars of sum and histogram points (as Prometheus's OTLP translator): ``trace_id`` and
  ``span_id`` as hex labels plus the exemplar's filtered attributes; a histogram exemplar is
  attached to the ``_bucket`` series of the first bound at or above its value.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tripod.server.ingest.otlp_convert import any_value
from tripod.server.store.model import STALE_NAN, AppendResult, Sample

__all__ = ["ExemplarRow", "MetricsConverter", "prometheus_label", "prometheus_name"]

#: (series labels, exemplar labels, value, timestamp ms)
ExemplarRow = tuple[dict[str, str], dict[str, str], float, int]

_UNITS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
    "us": "microseconds", "ns": "nanoseconds", "By": "bytes", "KiBy": "kibibytes",
    "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tebibytes", "KBy": "kilobytes",
    "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes", "m": "meters", "V": "volts",
    "A": "amperes", "J": "joules", "W": "watts", "g": "grams", "Cel": "celsius", "Hz": "hertz",
    "%": "percent",
}  # fmt: skip
_PER_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month",
              "y": "year"}  # fmt: skip
_SPLIT = re.compile(r"[^a-zA-Z0-9]+")
_LABEL_BAD = re.compile(r"[^a-zA-Z0-9_]")
_MAX_EXP_SCALE = 3
#: the smallest scale of the OTLP data model (base 2**1024: every bound but 1 past float64)
_MIN_EXP_SCALE = -10
_DELTA = 1
_NO_VALUE = 1
_RESOURCE_IDENTITY = ("service.name", "service.namespace", "service.instance.id")
_MAX_DELTA_STATE = 1_000_000


def _unit_words(unit: str) -> list[str]:
    unit = re.sub(r"\{[^}]*\}", "", unit).strip()
    if not unit or unit == "1":
        return []
    main, _, per = unit.partition("/")
    words = [w for w in _SPLIT.split(_UNITS.get(main, main)) if w] if main else []
    if per:
        per_word = _PER_UNITS.get(per, per)
        words += ["per", *[w for w in _SPLIT.split(per_word) if w]]
    return words


def prometheus_name(name: str, unit: str, kind: str) -> str:
    """The Prometheus name of an OTLP metric; ``kind`` is counter, gauge, histogram, summary."""
    tokens = [t for t in _SPLIT.split(name) if t]
    if kind == "counter":
        tokens = [t for t in tokens if t != "total"]
    for word in _unit_words(unit):
        if word not in tokens:
            tokens.append(word)
    if kind == "gauge" and unit.strip() == "1" and "ratio" not in tokens:
        tokens.append("ratio")
    if kind == "counter":
        tokens.append("total")
    out = "_".join(tokens) or "_"
    return "_" + out if out[0].isdigit() else out


def prometheus_label(key: str) -> str:
    """A Prometheus label name for an OTLP attribute key."""
    out = _LABEL_BAD.sub("_", key) or "_"
    if out[0].isdigit():
        return "key_" + out
    if out.startswith("_") and not out.startswith("__"):
        return "key" + out
    return out


def _format(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(np.format_float_positional(value, trim="-"))


def _label_value(value: Any) -> str:
    """An attribute value as label text: strings as they are, booleans lowercase, numbers as
    written, arrays and maps as JSON (the compatibility spec's rule for non-string values)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return "" if value is None else str(value)


def _labels(attrs: Iterable[Any], base: dict[str, str]) -> dict[str, str]:
    merged: dict[str, list[tuple[str, str]]] = {}
    for kv in attrs:
        text = _label_value(any_value(kv.value))
        merged.setdefault(prometheus_label(kv.key), []).append((kv.key, text))
    out = {name: ";".join(v for _, v in sorted(vals)) for name, vals in merged.items()}
    out.update(base)
    return out


class MetricsConverter:
    """Converts ExportMetricsServiceRequests, keeping the delta-to-cumulative running totals."""

    def __init__(self) -> None:
        self._totals: dict[tuple[tuple[str, str], ...], float] = {}
        self._lock = threading.Lock()

    def convert(
        self, request: Any, result: AppendResult, exemplars: list[ExemplarRow] | None = None
    ) -> tuple[list[Sample], dict[str, tuple[str, str, str]]]:
        """Samples and ``{name: (type, help, unit)}`` metadata of a request; the points'
        exemplars are added to ``exemplars`` when given."""
        samples: list[Sample] = []
        meta: dict[str, tuple[str, str, str]] = {}
        for rm in request.resource_metrics:
            res = {kv.key: any_value(kv.value) for kv in rm.resource.attributes}
            base: dict[str, str] = {}
            if res.get("service.name"):
                ns = res.get("service.namespace")
                base["job"] = f"{ns}/{res['service.name']}" if ns else str(res["service.name"])
            if res.get("service.instance.id"):
                base["instance"] = str(res["service.instance.id"])
            latest = 0
            for sm in rm.scope_metrics:
                scope = dict(base)
                if sm.scope.name:
                    scope["otel_scope_name"] = sm.scope.name
                    if sm.scope.version:
                        scope["otel_scope_version"] = sm.scope.version
                for metric in sm.metrics:
                    found = self._metric(metric, scope, samples, meta, result, exemplars=exemplars)
                    latest = max(latest, found)
            extra = {k: v for k, v in res.items() if k not in _RESOURCE_IDENTITY}
            if extra and latest:
                info = _labels(rm.resource.attributes, base)
                for key in ("service_name", "service_namespace", "service_instance_id"):
                    info.pop(key, None)
                info["__name__"] = "target_info"
                samples.append(Sample(info, latest, 1.0))
                meta["target_info"] = ("gauge", "Target metadata", "")
        return samples, meta

    def _metric(
        self,
        metric: Any,
        base: dict[str, str],
        out: list[Sample],
        meta: dict[str, tuple[str, str, str]],
        result: AppendResult,
        *,
        exemplars: list[ExemplarRow] | None = None,
    ) -> int:
        which = metric.WhichOneof("data")
        latest = 0
        if which in {"gauge", "sum"}:
            data = getattr(metric, which)
            counter = which == "sum" and data.is_monotonic
            kind = "counter" if counter else "gauge"
            name = prometheus_name(metric.name, metric.unit, kind)
            delta = which == "sum" and data.aggregation_temporality == _DELTA
            for p in data.data_points:
                emit = self._emitter(out, p.flags, delta, result)
                ts = p.time_unix_nano // 1_000_000
                latest = max(latest, ts)
                value = p.as_double if p.WhichOneof("value") == "as_double" else float(p.as_int)
                labels = _labels(p.attributes, base)
                emit(name, labels, ts, value)
                if exemplars is not None and which == "sum" and p.exemplars:
                    series = {**labels, "__name__": name}
                    exemplars.extend((series, *_exemplar(e)) for e in p.exemplars)
            meta[name] = (kind, metric.description, metric.unit)
        elif which in {"histogram", "exponential_histogram"}:
            data = getattr(metric, which)
            name = prometheus_name(metric.name, metric.unit, "histogram")
            delta = data.aggregation_temporality == _DELTA
            for p in data.data_points:
                if which == "exponential_histogram" and p.scale < _MIN_EXP_SCALE:
                    result.reject(
                        "invalid_scale",
                        f"exponential histogram {metric.name!r}: scale {p.scale} is below "
                        f"{_MIN_EXP_SCALE}, the smallest the OTLP data model allows",
                    )
                    continue
                emit = self._emitter(out, p.flags, delta, result)
                ts = p.time_unix_nano // 1_000_000
                latest = max(latest, ts)
                labels = _labels(p.attributes, base)
                buckets = _classic_buckets(p) if which == "histogram" else _exponential_buckets(p)
                for le, count in buckets:
                    lab = {**labels, "le": le}
                    emit(name + "_bucket", lab, ts, count)
                if exemplars is not None and which == "histogram" and p.exemplars:
                    _bucket_exemplars(p, name, labels, buckets, exemplars)
                if p.HasField("sum") or which == "exponential_histogram":
                    emit(name + "_sum", labels, ts, p.sum)
                emit(name + "_count", labels, ts, float(p.count))
            meta[name] = ("histogram", metric.description, metric.unit)
        elif which == "summary":
            name = prometheus_name(metric.name, metric.unit, "summary")
            for p in metric.summary.data_points:
                emit = self._emitter(out, p.flags, False, result)
                ts = p.time_unix_nano // 1_000_000
                latest = max(latest, ts)
                labels = _labels(p.attributes, base)
                for q in p.quantile_values:
                    lab = {**labels, "quantile": _format(q.quantile)}
                    emit(name, lab, ts, q.value)
                emit(name + "_sum", labels, ts, p.sum)
                emit(name + "_count", labels, ts, float(p.count))
            meta[name] = ("summary", metric.description, metric.unit)
        return latest

    def _emitter(
        self, out: list[Sample], flags: int, delta: bool, result: AppendResult
    ) -> Callable[[str, dict[str, str], int, float], None]:
        """A function adding one sample of a data point (with its flags and temporality)."""

        def emit(name: str, labels: dict[str, str], ts: int, value: float) -> None:
            full = {**labels, "__name__": name}
            if flags & _NO_VALUE:
                out.append(Sample(full, ts, STALE_NAN))
                return
            if delta:
                key = tuple(sorted(full.items()))
                with self._lock:
                    if key not in self._totals and len(self._totals) >= _MAX_DELTA_STATE:
                        result.reject(
                            "delta_state_full",
                            f"more than {_MAX_DELTA_STATE} delta series to accumulate; send "
                            "cumulative temporality",
                        )
                        return
                    value = self._totals.get(key, 0.0) + value
                    self._totals[key] = value
            out.append(Sample(full, ts, value))

        return emit


def _exemplar(e: Any) -> tuple[dict[str, str], float, int]:
    """Labels, value and ms of an OTLP exemplar (Prometheus's OTLP translator's labels)."""
    labels = {prometheus_label(kv.key): _label_value(any_value(kv.value))
              for kv in e.filtered_attributes}  # fmt: skip
    if len(e.trace_id) == 16:
        labels["trace_id"] = e.trace_id.hex()
    if len(e.span_id) == 8:
        labels["span_id"] = e.span_id.hex()
    value = e.as_double if e.WhichOneof("value") == "as_double" else float(e.as_int)
    return labels, value, e.time_unix_nano // 1_000_000


def _bucket_exemplars(
    p: Any,
    name: str,
    labels: dict[str, str],
    buckets: list[tuple[str, float]],
    out: list[ExemplarRow],
) -> None:
    bounds = list(p.explicit_bounds)
    for e in p.exemplars:
        ex_labels, value, ts = _exemplar(e)
        index = next((i for i, bound in enumerate(bounds) if value <= bound), len(bounds))
        series = {**labels, "le": buckets[index][0], "__name__": name + "_bucket"}
        out.append((series, ex_labels, value, ts))


def _classic_buckets(p: Any) -> list[tuple[str, float]]:
    bounds = list(p.explicit_bounds)
    counts = list(p.bucket_counts)
    out: list[tuple[str, float]] = []
    running = 0
    for i, bound in enumerate(bounds):
        running += counts[i] if i < len(counts) else 0
        out.append((_format(bound), float(running)))
    out.append(("+Inf", float(p.count)))
    return out


def _exponential_buckets(p: Any) -> list[tuple[str, float]]:
    scale = p.scale
    shift = max(0, scale - _MAX_EXP_SCALE)
    target = scale - shift
    merged: dict[int, int] = {}
    offset = p.positive.offset
    for i, count in enumerate(p.positive.bucket_counts):
        if count:
            index = (offset + i) >> shift
            merged[index] = merged.get(index, 0) + count
    low = p.zero_count + sum(p.negative.bucket_counts)
    out: list[tuple[str, float]] = [(_format(p.zero_threshold), float(low))]
    running = low
    for index in sorted(merged):
        running += merged[index]
        exponent = (index + 1) * 2.0**-target
        if exponent >= sys.float_info.max_exp:  # this and every later bound is past float64:
            break  # their counts are the +Inf bucket's
        le = _format(2.0**exponent)
        if le == out[-1][0]:  # bounds that round to the same float (underflow to 0): one le
            out[-1] = (le, float(running))
        else:
            out.append((le, float(running)))
    out.append(("+Inf", float(p.count)))
    return out
