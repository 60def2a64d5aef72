"""What the fuzz tests send: one :class:`Target` per decoder or API of `tripod serve`, each a
hypothesis strategy of inputs and the function that sends one input over HTTP.

Inputs are of three kinds: random bytes; valid requests mutated at the byte level (flips,
truncation, insertion, deletion, duplication), which reach deep into the decoders; and
structure-aware inputs (a valid message with random leaves, random label sets and values, PromQL
built from its own tokens, every query parameter drawn from values that break parsers), which
get past the decoders into conversion, storage and evaluation. ``benchmarks/fuzz.py`` runs the
same targets for the long mode.
"""

from __future__ import annotations

import json
import math
import struct
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import cramjam
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

from tripod.server.ingest._prompb import WriteRequest
from tripod.server.ingest.otlp import decode_body
from tripod.server.promql.parse import FUNCTIONS_242

NOW_NS = time.time_ns()
NOW_MS = NOW_NS // 1_000_000
STALE_BITS = 0x7FF0000000000002
STALE = struct.unpack("<d", struct.pack("<Q", STALE_BITS))[0]
PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}
RW = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"}

# --- OTLP seeds: one valid request per signal, every value type and optional part present ---


def _any_values() -> list[dict[str, Any]]:
    return [
        {"stringValue": "s"},
        {"boolValue": True},
        {"intValue": "-9223372036854775808"},
        {"doubleValue": 1.5},
        {"bytesValue": "AAEC"},
        {"arrayValue": {"values": [{"intValue": 1}, {"stringValue": "x"}]}},
        {"kvlistValue": {"values": [{"key": "n", "value": {"doubleValue": "NaN"}}]}},
        {},
    ]


def _attrs() -> list[dict[str, Any]]:
    return [{"key": f"a{i}", "value": v} for i, v in enumerate(_any_values())]


def _resource() -> dict[str, Any]:
    attrs = [{"key": "service.name", "value": {"stringValue": "fuzz"}}, *_attrs()]
    return {"attributes": attrs, "droppedAttributesCount": 1}


SPANS_JSON: dict[str, Any] = {
    "resourceSpans": [{
        "resource": _resource(),
        "scopeSpans": [{
            "scope": {"name": "fz", "version": "1", "attributes": _attrs()},
            "spans": [{
                "traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
                "parentSpanId": "00f067aa0ba902b7", "traceState": "a=b", "name": "op",
                "kind": 2, "startTimeUnixNano": str(NOW_NS - 10**9),
                "endTimeUnixNano": str(NOW_NS), "attributes": _attrs(),
                "events": [{"timeUnixNano": str(NOW_NS), "name": "ev", "attributes": _attrs()}],
                "links": [{"traceId": "0af7651916cd43dd8448eb211c80319d",
                           "spanId": "b7ad6b7169203332", "attributes": _attrs()}],
                "status": {"code": 2, "message": "boom"}, "flags": 1,
            }],
        }],
    }],
}  # fmt: skip

LOGS_JSON: dict[str, Any] = {
    "resourceLogs": [{
        "resource": _resource(),
        "scopeLogs": [{
            "scope": {"name": "fz"},
            "logRecords": [
                {"timeUnixNano": str(NOW_NS), "observedTimeUnixNano": str(NOW_NS),
                 "severityNumber": 17, "severityText": "ERROR", "body": {"stringValue": "hello"},
                 "attributes": _attrs(), "traceId": "0af7651916cd43dd8448eb211c80319c",
                 "spanId": "b7ad6b7169203331", "flags": 1},
                {"body": {"kvlistValue": {"values": [{"key": "k", "value": {"intValue": 3}}]}}},
                {"body": {"arrayValue": {"values": [{"boolValue": False}]}}, "severityNumber": 99},
            ],
        }],
    }],
}  # fmt: skip

_POINT = {"timeUnixNano": str(NOW_NS), "startTimeUnixNano": str(NOW_NS - 10**9),
          "attributes": _attrs()[:3]}  # fmt: skip
METRICS_JSON: dict[str, Any] = {
    "resourceMetrics": [{
        "resource": _resource(),
        "scopeMetrics": [{
            "scope": {"name": "fz"},
            "metrics": [
                {"name": "fz.gauge", "unit": "ms", "description": "d",
                 "gauge": {"dataPoints": [{**_POINT, "asDouble": 1.5},
                                          {**_POINT, "asInt": "7", "flags": 1}]}},
                {"name": "fz.sum", "sum": {"aggregationTemporality": 2, "isMonotonic": True,
                                           "dataPoints": [{**_POINT, "asInt": "3"}]}},
                {"name": "fz.delta", "sum": {"aggregationTemporality": 1,
                                             "dataPoints": [{**_POINT, "asDouble": 2}]}},
                {"name": "fz.hist", "histogram": {"aggregationTemporality": 2, "dataPoints": [
                    {**_POINT, "count": "3", "sum": 4.5, "min": 0.1, "max": 3,
                     "bucketCounts": ["1", "1", "1"], "explicitBounds": [1, 2],
                     "exemplars": [{"timeUnixNano": str(NOW_NS), "asDouble": 1,
                                    "traceId": "0af7651916cd43dd8448eb211c80319c",
                                    "spanId": "b7ad6b7169203331"}]}]}},
                {"name": "fz.exp", "exponentialHistogram": {"aggregationTemporality": 2,
                 "dataPoints": [{**_POINT, "count": "4", "sum": 3, "scale": 2, "zeroCount": "1",
                                 "positive": {"offset": -1, "bucketCounts": ["1", "2"]},
                                 "negative": {"offset": 0, "bucketCounts": []}}]}},
                {"name": "fz.summary", "summary": {"dataPoints": [
                    {**_POINT, "count": "2", "sum": 3,
                     "quantileValues": [{"quantile": 0.5, "value": 1},
                                        {"quantile": 1, "value": 2}]}]}},
            ],
        }],
    }],
}  # fmt: skip

OTLP_SEEDS: dict[str, tuple[dict[str, Any], type[Any]]] = {
    "/v1/traces": (SPANS_JSON, trace_pb.ExportTraceServiceRequest),
    "/v1/logs": (LOGS_JSON, logs_pb.ExportLogsServiceRequest),
    "/v1/metrics": (METRICS_JSON, metrics_pb.ExportMetricsServiceRequest),
}


def _pb_seed(path: str) -> bytes:
    doc, kind = OTLP_SEEDS[path]
    message = decode_body(json.dumps(doc).encode(), "application/json", kind())
    return bytes(message.SerializeToString())


# --- remote write seeds ---


def write_request(series: list[tuple[list[tuple[str, str]], list[tuple[int, float]]]]) -> bytes:
    req = WriteRequest()
    for labels, points in series:
        ts = req.timeseries.add()
        for name, value in labels:
            ts.labels.add(name=name, value=value)
        for t, v in points:
            ts.samples.add(timestamp=t, value=v)
    return bytes(req.SerializeToString())


def _rw_seed() -> bytes:
    req = WriteRequest.FromString(
        write_request(
            [
                ([("__name__", "fz_rw"), ("job", "a")], [(NOW_MS - 2000, 1.0), (NOW_MS, STALE)]),
                ([("__name__", "fz_rw"), ("job", "b"), ("e", "")], [(NOW_MS, math.nan)]),
            ]
        )
    )
    ex = req.timeseries[0].exemplars.add(value=1.0, timestamp=NOW_MS)
    ex.labels.add(name="trace_id", value="0af7651916cd43dd8448eb211c80319c")
    h = req.timeseries[1].histograms.add(count_int=2, sum=3.0, schema=1, timestamp=NOW_MS)
    h.positive_spans.add(offset=0, length=2)
    h.positive_deltas.extend([1, 0])
    req.metadata.add(type=1, metric_family_name="fz_rw", help="h", unit="")
    return bytes(req.SerializeToString())


EXPOSITION_SEED = f"""# HELP fz_total A counter.
# TYPE fz_total counter
fz_total{{a="1",b="x\\"y\\\\z\\n"}} 1 {NOW_MS}
fz_total{{a="2"}} +Inf {NOW_MS}
# TYPE fz_h histogram
fz_h_bucket{{le="0.5"}} 1 {NOW_MS}
fz_h_bucket{{le="+Inf"}} 2 {NOW_MS}
fz_h_sum 3.5 {NOW_MS}
fz_h_count 2 {NOW_MS}
fz_g NaN
fz_g2{{}} -1e-300 {NOW_MS}
"""

# --- generic strategies ---


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with 1-4 byte-level edits."""
    raw = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        if not raw:
            raw += draw(st.binary(min_size=1, max_size=8))
            continue
        i = draw(st.integers(0, len(raw) - 1))
        op = draw(st.sampled_from(("flip", "truncate", "insert", "delete", "duplicate", "bit")))
        if op == "flip":
            raw[i] = draw(st.integers(0, 255))
        elif op == "bit":
            raw[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del raw[i:]
        elif op == "insert":
            raw[i:i] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del raw[i : i + draw(st.integers(1, 16))]
        else:
            raw[i:i] = raw[i : i + draw(st.integers(1, 64))]
    return bytes(raw)


_OTLP_KEYS = [
    "resourceSpans", "resourceLogs", "resourceMetrics", "scopeSpans", "scopeLogs",
    "scopeMetrics", "spans", "logRecords", "metrics", "resource", "scope", "attributes", "key",
    "value", "stringValue", "intValue", "doubleValue", "boolValue", "arrayValue", "kvlistValue",
    "bytesValue", "values", "traceId", "spanId", "parentSpanId", "name", "kind", "body",
    "startTimeUnixNano", "endTimeUnixNano", "timeUnixNano", "severityNumber", "gauge", "sum",
    "histogram", "dataPoints", "asInt", "asDouble", "bucketCounts", "explicitBounds", "count",
    "events", "links", "status", "code", "quantileValues", "positive", "offset", "scale",
]  # fmt: skip
_WEIRD_STRINGS = [
    "", "NaN", "Infinity", "-Infinity", "1e999", "-1", "9" * 30, "0x10", "zz", "\x00", "\ud7ff",
    "é", "0af7651916cd43dd8448eb211c80319c", "b7ad6b71692033",
]  # fmt: skip
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(_WEIRD_STRINGS),
    st.text(max_size=12),
)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_OTLP_KEYS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def tweaked_json(draw: st.DrawFn, seed: dict[str, Any]) -> bytes:
    """``seed`` with 1-3 of its nodes (anywhere, the root included) replaced by random JSON."""
    doc: Any = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        value = draw(JSON_VALUES)
        if not path:
            doc = value
            continue
        parent = doc
        try:
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement removed this path
    return json.dumps(doc).encode()


# --- Prometheus-side strategies ---

_LABEL_NAMES = st.sampled_from(["__name__", "job", "instance", "le", "a", "", "1bad", "é", "a-b"])
_LABEL_VALUES = st.sampled_from(["fz_rw", "fz_total", "x", "", "é", "a" * 300]) | st.text(
    max_size=20
)
_TIMESTAMPS = st.sampled_from(
    [NOW_MS, NOW_MS - 1, NOW_MS + 10**9, 0, -1, -(2**63), 2**63 - 1]
) | st.integers(min_value=-(2**63), max_value=2**63 - 1)
_VALUES = st.floats() | st.sampled_from([STALE, math.nan, math.inf, -0.0])


@st.composite
def random_write(draw: st.DrawFn) -> bytes:
    series = draw(
        st.lists(
            st.tuples(
                st.lists(st.tuples(_LABEL_NAMES, _LABEL_VALUES), max_size=5),
                st.lists(st.tuples(_TIMESTAMPS, _VALUES), max_size=4),
            ),
            max_size=4,
        )
    )
    return write_request(series)


def _snappy(raw: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(raw))


_EXPO_TOKENS = [
    "fz_total", "fz_g", "fz_h_bucket", "{", "}", ",", "=", '"', '\\"', "\\", "\\n", " ", "\t",
    "\n", "# TYPE", "# HELP", "# UNIT", "# EOF", "#", "counter", "gauge", "histogram", "summary",
    "le", 'le="+Inf"', 'a="1"', "1", "-1", "1.5e3", "NaN", "+Inf", "-Inf", "Inf", "0x1f",
    str(NOW_MS), str(2**63), "9" * 40, "1e400", "_", ":", "é", "\x00", "\r",
]  # fmt: skip


@st.composite
def exposition(draw: st.DrawFn) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["text/plain", "application/openmetrics-text"]))
    if draw(st.booleans()):
        body = draw(mutated([EXPOSITION_SEED.encode(), (EXPOSITION_SEED + "# EOF\n").encode()]))
    else:
        tokens = draw(st.lists(st.sampled_from(_EXPO_TOKENS) | st.text(max_size=4), max_size=40))
        body = "".join(tokens).encode("utf-8", "surrogatepass")
    return body, kind


_FUNCS = sorted(FUNCTIONS_242)
_AGGS = ["sum", "avg", "min", "max", "count", "stddev", "stdvar", "group", "topk", "bottomk",
         "quantile", "count_values"]  # fmt: skip
_GROUPING = ["", " by (job)", " without (a)"]
_RANGES = ["[1s]", "[5s]", "[1m]", "[5m]", "[1h]", "[0s]", "[1ms]", "[1m:1s]", "[5m:]", "[1y]"]
_SELECTORS = ["fz_rw", "fz_total", "fz_h_bucket", "fz_g", "up", 'fz_rw{job="a"}',
              'fz_rw{job=~"a|b"}', '{__name__=~"fz.*"}', 'fz_total{a!="1"}', "nope"]  # fmt: skip
_NUMBERS = ["0", "1", "-1", "0.5", "1e308", "NaN", "Inf", "-Inf", "0x10", "1e-320"]


def promql_valid() -> st.SearchStrategy[str]:
    """Type-correct-ish PromQL over the fuzz data, so evaluation (not just parsing) runs."""
    vector = st.sampled_from(_SELECTORS).flatmap(
        lambda s: st.sampled_from(["", " offset 1m", " offset -5s", " @ start()", " @ 0"]).map(
            lambda m: s + m
        )
    )

    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        rng = st.sampled_from(_RANGES)
        num = st.sampled_from(_NUMBERS)
        return st.one_of(
            st.tuples(st.sampled_from(_FUNCS), inner, rng).map(lambda t: f"{t[0]}({t[1]}{t[2]})"),
            st.tuples(st.sampled_from(_FUNCS), inner, num).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(st.sampled_from(_FUNCS), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(_AGGS), inner, st.sampled_from(_GROUPING))
            .map(lambda t: f"{t[0]}{t[2]}({t[1]})"),
            st.tuples(st.sampled_from(["topk", "quantile", "count_values"]), num, inner)
            .map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(inner, st.sampled_from(["+", "/", "%", "^", "and", "or", "unless", "> bool",
                                              "== on(job)", "* ignoring(a) group_left", "atan2"]),
                      inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
            st.tuples(inner, st.sampled_from(["[5m:1m]", "[30s:]", "[1m:7s] offset 10s"]))
            .map(lambda t: f"({t[0]}){t[1]}"),
            inner.map(lambda s: f"-({s})"),
        )  # fmt: skip

    return st.recursive(vector | st.sampled_from(_NUMBERS), grow, max_leaves=6)


_PROMQL_TOKENS = [
    *_FUNCS[:40], *_AGGS, *_RANGES, *_SELECTORS, *_NUMBERS, "(", ")", "{", "}", "[", "]", ",",
    "by", "without", "on", "ignoring", "group_left", "bool", "offset", "@", "start()", "end()",
    '"s"', "'s'", "`s`", "+", "-", "*", "/", "==", "!=", "=~", "!~", "and", "or", "unless",
    "#c\n", ":", "1m", "x=",
]  # fmt: skip
PROMQL = (
    promql_valid()
    | st.lists(st.sampled_from(_PROMQL_TOKENS), max_size=20).map(" ".join)
    | st.lists(st.sampled_from(_PROMQL_TOKENS), max_size=20).map("".join)
    | st.text(max_size=30)
)

_TIME_VALUES = st.sampled_from(
    ["", "0", "-1", "1e9", "1e20", "-1e20", "nan", "NaN", "Inf", "-Inf", "1.0000001", "1_0",
     str(NOW_MS / 1000), str(NOW_MS // 1000 - 3600), "2026-01-01T00:00:00Z",
     "2026-13-45T25:61:61Z", "2026-01-01T00:00:00.123456789+14:00", "0001-01-01T00:00:00Z",
     "-292273086-05-16T16:47:06Z", "292277025-08-18T07:12:54.999999999Z", "9" * 400]
)  # fmt: skip
_DURATION_VALUES = st.sampled_from(
    ["", "0", "-1", "0.001", "1", "15", "1e-9", "1e300", "nan", "Inf", "1ms", "5m", "1h30m",
     "1y", "999999999999y", "5m5m", "1.5m", "-5m", "0s", "1w2d"]
)  # fmt: skip
_ANY_TEXT = st.text(max_size=16) | st.sampled_from(["%", "\x00", "é" * 50, "'", '"', "a" * 5000])
PARAM_VALUES = _TIME_VALUES | _DURATION_VALUES | _ANY_TEXT | st.integers().map(str)
_HEX32 = st.sampled_from(["0af7651916cd43dd8448eb211c80319c", "0" * 32, "Z" * 32, "0af7", ""])


@st.composite
def params(draw: st.DrawFn, names: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name in names:
        if draw(st.booleans()):
            repeat = draw(st.integers(1, 2))
            for _ in range(repeat):
                value = PROMQL if name in ("query", "match[]") else PARAM_VALUES
                if name.endswith("_id") or name in ("trace_id", "cursor", "tail", "after"):
                    value = _HEX32 | PARAM_VALUES
                out.append((name, draw(value)))
    return out


# --- targets ---


@dataclass
class Stats:
    """Counts of one target's run: requests sent and answers by status class."""

    sent: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    hangs: int = 0
    timeouts_503: int = 0

    def add(self, status: int) -> None:
        self.sent += 1
        cls = status // 100 * 100
        self.by_status[cls] = self.by_status.get(cls, 0) + 1


@dataclass
class Target:
    name: str
    strategy: st.SearchStrategy[Any]
    send: Callable[[httpx.Client, Any], httpx.Response]


def _post(path: str, headers: dict[str, str]) -> Callable[[httpx.Client, Any], httpx.Response]:
    def send(client: httpx.Client, body: bytes) -> httpx.Response:
        return client.post(path, content=body, headers=headers)

    return send


def _api(
    method_path: Callable[[Any], tuple[str, str]],
) -> Callable[[httpx.Client, Any], httpx.Response]:
    def send(client: httpx.Client, example: Any) -> httpx.Response:
        method, path = method_path(example)
        query = example[-1]
        if method == "POST":
            form: dict[str, list[str]] = {}
            for key, value in query:
                form.setdefault(key, []).append(value)
            return client.post(path, data=form)
        return client.get(path, params=query)

    return send


def _prom_api(path: str, names: list[str]) -> Target:
    strategy = st.tuples(st.sampled_from(["GET", "POST"]), params(names))
    return Target(f"api {path}", strategy, _api(lambda ex: (ex[0], path)))


def _path_target(name: str, template: str, names: list[str]) -> Target:
    part = _HEX32 | _ANY_TEXT
    strategy = st.tuples(part, part, params(names))

    def where(ex: Any) -> tuple[str, str]:
        return "GET", template.format(quote(ex[0], safe=""), quote(ex[1], safe=""))

    return Target(name, strategy, _api(where))


def targets() -> list[Target]:
    """Every decoder and query API of `tripod serve`."""
    out: list[Target] = []
    for path, (seed_json, _) in OTLP_SEEDS.items():
        pb = _pb_seed(path)
        other_pb = [_pb_seed(p) for p in OTLP_SEEDS if p != path]
        out.append(Target(f"otlp-protobuf {path}",
                          st.binary(max_size=300) | mutated([pb]) | mutated([pb, *other_pb]),
                          _post(path, PB)))  # fmt: skip
        text = json.dumps(seed_json).encode()
        out.append(Target(f"otlp-json {path}",
                          tweaked_json(seed_json) | mutated([text]) | JSON_VALUES.map(
                              lambda v: json.dumps(v).encode()),
                          _post(path, JS)))  # fmt: skip
    rw_seed = _rw_seed()
    out.append(
        Target(
            "remote-write",
            random_write().map(_snappy)
            | mutated([rw_seed]).map(_snappy)
            | mutated([_snappy(rw_seed)])
            | st.binary(max_size=200),
            _post("/api/v1/write", RW),
        )
    )

    def send_import(client: httpx.Client, ex: tuple[bytes, str]) -> httpx.Response:
        return client.post(
            "/api/v1/import/prometheus", content=ex[0], headers={"Content-Type": ex[1]}
        )

    out.append(Target("import-text", exposition(), send_import))
    when = _TIME_VALUES | st.just(str(NOW_MS / 1000))
    out.append(
        Target(
            "promql-query",
            st.tuples(PROMQL, when),
            lambda c, ex: c.get("/api/v1/query", params={"query": ex[0], "time": ex[1]}),
        )
    )
    out += [
        _prom_api("/api/v1/query", ["query", "time", "timeout", "limit"]),
        _prom_api("/api/v1/query_range", ["query", "start", "end", "step", "timeout", "limit"]),
        _prom_api("/api/v1/series", ["match[]", "start", "end", "limit"]),
        _prom_api("/api/v1/labels", ["match[]", "start", "end", "limit"]),
        _prom_api("/api/v1/metadata", ["metric", "limit", "limit_per_metric"]),
        _path_target(
            "api label values", "/api/v1/label/{0}/values?x={1}", ["match[]", "start", "end"]
        ),
    ]
    trace_params = ["service", "operation", "status", "min_duration", "max_duration",
                    "attr.http.route", "start", "end", "limit", "cursor"]  # fmt: skip
    log_params = ["start", "end", "service", "level", "contains", "attr.a0", "trace_id",
                  "span_id", "limit", "cursor", "tail", "after"]  # fmt: skip
    out += [
        Target("api /api/v1/traces", params(trace_params),
               lambda c, q: c.get("/api/v1/traces", params=q)),
        Target("api /api/v1/logs", params(log_params),
               lambda c, q: c.get("/api/v1/logs", params=q)),
        Target("api traces names", st.tuples(st.sampled_from(["services", "operations"]),
                                            params(["service", "start", "end", "limit"])),
               lambda c, ex: c.get(f"/api/v1/traces/{ex[0]}", params=ex[1])),
        _path_target("api trace by id", "/api/v1/traces/{0}?x={1}", ["format", "attributes"]),
        _path_target("api span by id", "/api/v1/traces/{0}/spans/{1}", []),
    ]  # fmt: skip
    return out


TARGETS = {t.name: t for t in targets()}


def allowed_5xx(response: httpx.Response) -> bool:
    """A 503 ``timeout`` is Prometheus's own answer to a query over its time budget."""
    if response.status_code != 503:
        return False
    try:
        return bool(response.json().get("errorType") == "timeout")
    except ValueError:
        return False


def run(target: Target, client: httpx.Client, examples: int, stats: Stats) -> None:
    """Send ``examples`` inputs of ``target``; AssertionError on a 5xx or a hang."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(target.strategy)
    def check(example: Any) -> None:
        try:
            response = target.send(client, example)
        except httpx.TimeoutException:
            stats.hangs += 1
            raise AssertionError(f"{target.name}: no answer for {example!r:.500}") from None
        stats.add(response.status_code)
        if response.status_code >= 500:
            if allowed_5xx(response):
                stats.timeouts_503 += 1
                return
            status, text = response.status_code, response.text[:300]
            msg = f"{target.name}: {status} {text} for {example!r:.500}"
            raise AssertionError(msg)

    check()


def still_stores(client: httpx.Client) -> None:
    """The server accepts, stores and answers a new span and a new sample."""
    trace_id = uuid.uuid4().hex
    now_ns = str(time.time_ns())
    span = {"traceId": trace_id, "spanId": "b7ad6b7169203331", "name": "alive",
            "startTimeUnixNano": now_ns, "endTimeUnixNano": now_ns}  # fmt: skip
    body = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    r = client.post("/v1/traces", content=json.dumps(body), headers=JS)
    assert r.status_code == 200, r.text
    r = client.get(f"/api/v1/traces/{trace_id}")
    assert r.status_code == 200, r.text
    assert [s["name"] for s in r.json()["data"]["spans"]] == ["alive"]
    metric = "fz_alive_" + uuid.uuid4().hex[:8]
    now = int(time.time() * 1000)
    body_rw = _snappy(write_request([([("__name__", metric)], [(now, 42.0)])]))
    r = client.post("/api/v1/write", content=body_rw, headers=RW)
    assert r.status_code == 204, r.text
    r = client.get("/api/v1/query", params={"query": metric, "time": str(now / 1000)})
    assert r.status_code == 200, r.text
    assert [v["value"][1] for v in r.json()["data"]["result"]] == ["42"]
