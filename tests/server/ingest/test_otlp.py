"""OTLP/HTTP into a real `tripod serve`: the real SDK exporters, OTLP/JSON, and bad input."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import pytest
from google.rpc import status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

from tests.helpers.procs import Proc
from tests.server.support import PB, get, json_span, json_traces
from tripod.server.store import Database, DuckSampleStore, Matcher


def test_metrics_follow_the_otel_to_prometheus_rules(sdk_run: Any) -> None:
    proc, _, data = sdk_run
    get(proc, "/api/v1/logs")
    metrics = httpx.get(proc.url + "/metrics").text
    assert 'tripod_server_ingested_total{signal="spans",source="otlp"} 2.0' in metrics
    assert 'tripod_server_ingested_total{signal="logs",source="otlp"} 3.0' in metrics
    size = next(line for line in metrics.splitlines()
                if line.startswith("tripod_server_store_size_bytes "))  # fmt: skip
    assert float(size.split()[1]) > 0
    assert 'tripod_server_query_duration_seconds_count{api="logs"}' in metrics
    proc.stop()  # the store file has one writer; read it after the server is gone
    db = Database(data)
    try:
        store = DuckSampleStore(db)

        def latest(name: str, **labels: str) -> dict[tuple[tuple[str, str], ...], float]:
            ms = [Matcher("__name__", "=", name), *(Matcher(k, "=", v) for k, v in labels.items())]
            return {
                tuple(sorted((k, v) for k, v in s.labels.items() if k != "__name__")): float(
                    s.values[-1]
                )
                for s in store.select(ms, 0, 2**62)
            }

        base = {"job": "shop/checkout", "instance": "pod-1", "otel_scope_name": "otel_app",
                "otel_scope_version": "1.2.3"}  # fmt: skip
        requests = latest("http_server_requests_total")
        assert requests == {
            tuple(sorted({**base, "http_request_method": "GET",
                          "http_response_status_code": code}.items())): n
            for code, n in (("200", 2.0), ("500", 1.0))
        }  # fmt: skip
        buckets = latest("http_server_request_duration_seconds_bucket")
        by_le = {dict(k)["le"]: v for k, v in buckets.items()}
        assert by_le == {"0.005": 1.0, "0.025": 2.0, "0.1": 2.0, "+Inf": 3.0}
        assert list(latest("http_server_request_duration_seconds_count").values()) == [3.0]
        assert list(latest("http_server_request_duration_seconds_sum").values()) == [
            pytest.approx(0.324)
        ]
        assert list(latest("http_server_active_requests").values()) == [1.0]
        # the SDK's exponential histogram, as classic cumulative buckets
        exp = {
            float(dict(k)["le"]): v
            for k, v in latest("rpc_client_duration_milliseconds_bucket").items()
        }
        les = sorted(exp)
        assert les[-1] == float("inf")
        assert exp[les[-1]] == 10.0
        assert [exp[le] for le in les] == sorted(exp[le] for le in les)  # cumulative
        assert max(le for le in les if exp[le] <= 5) < 89 <= min(le for le in les if exp[le] == 10)
        assert list(latest("rpc_client_duration_milliseconds_count").values()) == [10.0]
        assert list(latest("process_memory_usage_bytes").values()) == [1024.0]
        [info] = latest("target_info")
        assert dict(info)["deployment_environment"] == "test"
        assert dict(info)["job"] == "shop/checkout"
        meta = store.metadata()
        assert meta["http_server_requests_total"][0]["type"] == "counter"
        assert meta["http_server_request_duration_seconds"][0]["type"] == "histogram"
    finally:
        db.close()


# --- OTLP/JSON and bad input, on the server with tight limits (tests/server/conftest.py) ---


def test_otlp_json_with_hex_ids_and_partial_success(limited_server: Proc) -> None:
    tid = "5b8efff798038103d269b633813fc60c"
    body = json_traces(
        json_span(tid, "eee19b7ec3c1b174", "ok"),
        json_span(tid, "eee19b7ec3c1b175", "too many attributes", attrs=20),
    )
    r = httpx.post(limited_server.url + "/v1/traces", json=body)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    partial = r.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "too_many_attributes" in partial["errorMessage"]
    [span] = get(limited_server, f"/api/v1/traces/{tid}")["spans"]
    assert span["name"] == "ok"
    assert span["kind"] == "server"
    assert span["status"]["code"] == "ok"
    assert span["attributes"] == {"k0": 0}


def test_gzip_protobuf_is_accepted(limited_server: Proc) -> None:
    req = logs_pb.ExportLogsServiceRequest()
    rec = req.resource_logs.add().scope_logs.add().log_records.add()
    rec.time_unix_nano = 1_700_000_000_000_000_000
    rec.severity_number = 13  # type: ignore[assignment]
    rec.body.string_value = "zipped hello"
    r = httpx.post(limited_server.url + "/v1/logs", content=gzip.compress(req.SerializeToString()),
                   headers={**PB, "Content-Encoding": "gzip"})  # fmt: skip
    assert r.status_code == 200
    assert (
        logs_pb.ExportLogsServiceResponse.FromString(r.content).partial_success.rejected_log_records
        == 0
    )
    [log] = get(limited_server, "/api/v1/logs", contains="zipped")["logs"]
    assert log["level"] == "warn"
    assert log["service"] == "unknown_service"


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "words"),
    [
        (
            "/v1/traces",
            b"\x0a\xff\xff\xff\x0f\x01",
            PB,
            400,
            "not a valid ExportTraceServiceRequest",
        ),
        ("/v1/traces", b"{}", {"Content-Type": "text/plain"}, 415, "Content-Type"),
        (
            "/v1/logs",
            b'{"resourceLogs": "nope"}',
            {"Content-Type": "application/json"},
            400,
            "OTLP/JSON",
        ),
        (
            "/v1/traces",
            json.dumps(json_traces({"traceId": "zz", "spanId": "00"})).encode(),
            {"Content-Type": "application/json"},
            400,
            "not a hex string",
        ),
        ("/v1/metrics", b"[1, 2]", {"Content-Type": "application/json"}, 400, "JSON object"),
        (  # would exhaust the JSON parser's recursion (a 500 before the depth check)
            "/v1/logs",
            b"[" * 100_000 + b"]" * 100_000,
            {"Content-Type": "application/json"},
            400,
            "nests 100000 levels deep",
        ),
        ("/v1/traces", b"x" * 2_100_000, PB, 413, "max_body_bytes"),
        (
            "/v1/traces",
            gzip.compress(b"\0" * 3_000_000, mtime=0),
            {**PB, "Content-Encoding": "gzip"},
            413,
            "max_body_bytes",
        ),
        ("/v1/traces", b"abc", {**PB, "Content-Encoding": "br"}, 415, "Content-Encoding"),
        (
            "/v1/traces",
            gzip.compress(b"abc", mtime=0)[:-6],
            {**PB, "Content-Encoding": "gzip"},
            400,
            "truncated",
        ),
    ],
)
def test_bad_bodies_are_refused_whole_with_a_reason(
    limited_server: Proc, path: str, body: bytes, headers: dict[str, str], status: int, words: str
) -> None:
    r = httpx.post(limited_server.url + path, content=body, headers=headers)
    assert r.status_code == status
    if r.headers["content-type"].startswith("application/json"):
        message = r.json()["message"]
    else:
        message = status_pb2.Status.FromString(r.content).message
    assert words in message
    assert httpx.get(limited_server.url + "/-/ready").status_code == 200


def test_truncated_protobuf_stores_nothing(limited_server: Proc) -> None:
    tid = bytes.fromhex("aa" * 16)
    req = trace_pb.ExportTraceServiceRequest()
    span = req.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = tid, b"\x01" * 8, "x" * 200
    raw = req.SerializeToString()
    r = httpx.post(limited_server.url + "/v1/traces", content=raw[: len(raw) // 2], headers=PB)
    assert r.status_code == 400
    r = httpx.get(limited_server.url + f"/api/v1/traces/{tid.hex()}")
    assert r.status_code == 404


def test_metric_cardinality_bomb_is_limited_and_server_answers(limited_server: Proc) -> None:
    for part in range(3):
        req = metrics_pb.ExportMetricsServiceRequest()
        metric = req.resource_metrics.add().scope_metrics.add().metrics.add()
        metric.name = "bomb"
        for i in range(part * 800, part * 800 + 800):
            point = metric.gauge.data_points.add()
            point.time_unix_nano = 1_795_000_000_000_000_000
            point.as_double = 1.0
            kv = point.attributes.add()
            kv.key, kv.value.string_value = "id", str(i)
        huge = metric.gauge.data_points.add()
        huge.time_unix_nano = 1_795_000_000_000_000_000
        kv = huge.attributes.add()
        kv.key, kv.value.string_value = "blob", "v" * 10_000
        r = httpx.post(
            limited_server.url + "/v1/metrics", content=req.SerializeToString(), headers=PB
        )
        assert r.status_code == 200
        partial = metrics_pb.ExportMetricsServiceResponse.FromString(r.content).partial_success
        assert "label_value_too_long" in partial.error_message
    metrics = httpx.get(limited_server.url + "/metrics").text
    assert (
        'tripod_server_rejected_total{reason="too_many_series",signal="samples"} 1400.0' in metrics
    )
    assert (
        'tripod_server_rejected_total{reason="label_value_too_long",signal="samples"} 3.0'
        in metrics
    )
    assert httpx.get(limited_server.url + "/api/v1/logs").status_code == 200
