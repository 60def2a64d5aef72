"""The OTLP -> Prometheus conversion rules, on hand-built protobuf requests."""

from __future__ import annotations

import math
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb

from tripod.server.ingest.otlp_metrics import (
    MetricsConverter,
    _format,
    prometheus_label,
    prometheus_name,
)
from tripod.server.store import AppendResult, is_stale

T = 1_700_000_000_000_000_000


@pytest.mark.parametrize(
    ("name", "unit", "kind", "expected"),
    [
        ("http.server.request.duration", "s", "histogram", "http_server_request_duration_seconds"),
        ("system.filesystem.usage", "By", "gauge", "system_filesystem_usage_bytes"),
        ("system.network.dropped", "{packets}", "counter", "system_network_dropped_total"),
        ("network.io", "By/s", "gauge", "network_io_bytes_per_second"),
        ("system.memory.utilization", "1", "gauge", "system_memory_utilization_ratio"),
        ("requests.total", "", "counter", "requests_total"),
        ("latency_seconds", "s", "histogram", "latency_seconds"),
        ("(lambda).function.executions(#)", "", "gauge", "lambda_function_executions"),
        ("2xx.count", "", "gauge", "_2xx_count"),
        ("queue.size", "1", "counter", "queue_size_total"),
    ],
)
def test_metric_names(name: str, unit: str, kind: str, expected: str) -> None:
    assert prometheus_name(name, unit, kind) == expected


def test_label_names() -> None:
    assert prometheus_label("http.request.method") == "http_request_method"
    assert prometheus_label("0day") == "key_0day"
    assert prometheus_label("_private") == "key_private"
    assert prometheus_label("__reserved") == "__reserved"


def _request() -> tuple[metrics_pb.ExportMetricsServiceRequest, Any]:
    req = metrics_pb.ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    for key, value in (("service.name", "api"), ("service.instance.id", "i-1"), ("region", "eu")):
        kv = rm.resource.attributes.add()
        kv.key, kv.value.string_value = key, value
    return req, rm.scope_metrics.add()


def _by_name(samples: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for s in samples:
        out.setdefault(s.labels["__name__"], []).append(s)
    return out


def test_delta_sums_accumulate_and_target_info_carries_resource() -> None:
    conv = MetricsConverter()
    totals = []
    for step, inc in enumerate((3, 4)):
        req, sm = _request()
        m = sm.metrics.add()
        m.name, m.unit = "jobs.done", "{job}"
        m.sum.is_monotonic = True
        m.sum.aggregation_temporality = 1  # delta
        p = m.sum.data_points.add()
        p.time_unix_nano = T + step * 10**9
        p.as_int = inc
        samples, meta = conv.convert(req, AppendResult())
        got = _by_name(samples)
        [sample] = got["jobs_done_total"]
        totals.append(sample.value)
        assert sample.labels == {"__name__": "jobs_done_total", "job": "api", "instance": "i-1"}
        [info] = got["target_info"]
        assert info.labels == {"__name__": "target_info", "job": "api", "instance": "i-1",
                               "region": "eu"}  # fmt: skip
        assert meta["jobs_done_total"][0] == "counter"
    assert totals == [3.0, 7.0]


def test_exponential_histogram_becomes_cumulative_le_buckets() -> None:
    req, sm = _request()
    m = sm.metrics.add()
    m.name, m.unit = "latency", "s"
    m.exponential_histogram.aggregation_temporality = 2
    p = m.exponential_histogram.data_points.add()
    p.time_unix_nano = T
    p.scale = 4  # merged down to scale 3: boundaries 2**(k/8)
    p.zero_count = 1
    p.positive.offset = 0  # buckets (1, 2**(1/16)], (2**(1/16), 2**(2/16)], ...
    p.positive.bucket_counts.extend([2, 3, 0, 5])
    p.negative.bucket_counts.extend([4])
    p.count = 15
    p.sum = 20.0
    samples, meta = MetricsConverter().convert(req, AppendResult())
    got = _by_name(samples)
    buckets = [(s.labels["le"], s.value) for s in got["latency_seconds_bucket"]]
    assert buckets == [("0", 5.0), (repr(2 ** (1 / 8)), 10.0), (repr(2 ** (2 / 8)), 15.0),
                       ("+Inf", 15.0)]  # fmt: skip
    assert [s.value for s in got["latency_seconds_count"]] == [15.0]
    assert [s.value for s in got["latency_seconds_sum"]] == [20.0]
    assert meta["latency_seconds"][0] == "histogram"


def test_no_recorded_value_is_a_staleness_marker_and_summary_quantiles() -> None:
    req, sm = _request()
    g = sm.metrics.add()
    g.name = "temp"
    p = g.gauge.data_points.add()
    p.time_unix_nano, p.flags = T, 1
    s = sm.metrics.add()
    s.name, s.unit = "rpc.duration", "ms"
    q = s.summary.data_points.add()
    q.time_unix_nano, q.count, q.sum = T, 10, 5.5
    v = q.quantile_values.add()
    v.quantile, v.value = 0.99, 1.25
    samples, _ = MetricsConverter().convert(req, AppendResult())
    got = _by_name(samples)
    assert is_stale(got["temp"][0].value)
    assert [(x.labels["quantile"], x.value) for x in got["rpc_duration_milliseconds"]] == [
        ("0.99", 1.25)
    ]
    assert got["rpc_duration_milliseconds_count"][0].value == 10.0
    assert got["rpc_duration_milliseconds_count"][0].timestamp_ms == T // 1_000_000
    assert not math.isnan(got["rpc_duration_milliseconds_sum"][0].value)


def test_colliding_label_keys_are_joined() -> None:
    req, sm = _request()
    m = sm.metrics.add()
    m.name = "g"
    p = m.gauge.data_points.add()
    p.time_unix_nano, p.as_double = T, 1.0
    for key, value in (("a.b", "1"), ("a_b", "2")):
        kv = p.attributes.add()
        kv.key, kv.value.string_value = key, value
    samples, _ = MetricsConverter().convert(req, AppendResult())
    assert _by_name(samples)["g"][0].labels["a_b"] == "1;2"


def test_non_string_attribute_values_become_label_text() -> None:
    req, sm = _request()
    m = sm.metrics.add()
    m.name = "g"
    p = m.gauge.data_points.add()
    p.time_unix_nano, p.as_double = T, 1.0
    kv = p.attributes.add()
    kv.key, kv.value.bool_value = "ok", True
    kv = p.attributes.add()
    kv.key, kv.value.int_value = "code", 200
    kv = p.attributes.add()
    kv.key = "tags"
    for tag in ("a", "b"):
        kv.value.array_value.values.add().string_value = tag
    samples, _ = MetricsConverter().convert(req, AppendResult())
    labels = _by_name(samples)["g"][0].labels
    assert (labels["ok"], labels["code"], labels["tags"]) == ("true", "200", '["a","b"]')


def _exponential(scale: int, offset: int, counts: list[int]) -> Any:
    req, sm = _request()
    m = sm.metrics.add()
    m.name = "size"
    m.exponential_histogram.aggregation_temporality = 2
    p = m.exponential_histogram.data_points.add()
    p.time_unix_nano, p.scale, p.count, p.sum = T, scale, sum(counts), 1.0
    p.positive.offset = offset
    p.positive.bucket_counts.extend(counts)
    return req


def test_exponential_bounds_past_float64_are_the_inf_bucket() -> None:
    """Found by the long fuzz run: a bucket whose upper bound is past float64's range (2**1024)
    raised OverflowError (a 500). Its count is the +Inf bucket's; bounds that underflow to the
    same float as the zero bucket's are one ``le``."""
    cases = {
        # scale -10: bucket 0 is (1, 2**1024]; bucket -1 is (2**-1024, 1]; -3 underflows to 0
        (-10, -3, (1, 2, 3, 4)): [("0", 1.0), (_format(2.0**-1024), 3.0), ("1", 6.0),
                                  ("+Inf", 10.0)],
        (0, 1020, (1, 1, 1, 1, 1)): [("0", 0.0), (_format(2.0**1021), 1.0),
                                     (_format(2.0**1022), 2.0), (_format(2.0**1023), 3.0),
                                     ("+Inf", 5.0)],
    }  # fmt: skip
    for (scale, offset, counts), want in cases.items():
        result = AppendResult()
        samples, _ = MetricsConverter().convert(_exponential(scale, offset, list(counts)), result)
        got = [(s.labels["le"], s.value) for s in _by_name(samples)["size_bucket"]]
        assert got == want, (scale, offset)
        assert not result.rejected


def test_an_exponential_scale_below_the_data_model_is_refused_by_name() -> None:
    result = AppendResult()
    samples, _ = MetricsConverter().convert(_exponential(-11, 0, [1]), result)
    assert samples == []
    assert result.rejected == {"invalid_scale": 1}
    assert "scale -11 is below -10" in result.errors[0]
