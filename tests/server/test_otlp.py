"""OTLP/HTTP into a real `tripod serve`: the real SDK exporters, OTLP/JSON, and bad input."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.rpc import status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as metrics_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

from tests.helpers.procs import Proc, start_tripod_serve
from tripod.server.store.db import Database
from tripod.server.store.model import Matcher
from tripod.server.store.samples import DuckSampleStore

APP = Path(__file__).with_name("otel_app.py")
PB = {"Content-Type": "application/x-protobuf"}


@pytest.fixture(scope="module")
def sdk_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Proc, dict[str, str], Path]]:
    """A server that received one run of the real SDK app (traces, logs, metrics)."""
    data = tmp_path_factory.mktemp("otlp") / "data"
    with start_tripod_serve(data) as proc:
        done = subprocess.run([sys.executable, str(APP), proc.url], capture_output=True,
                              text=True, timeout=120, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        ids = json.loads(done.stdout.strip().splitlines()[-1])
        yield proc, ids, data


def get(proc: Proc, path: str, **params: Any) -> Any:
    r = httpx.get(proc.url + path, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success"
    return body["data"]


def test_trace_by_id_has_every_span_in_order_with_parent_links(sdk_run: Any) -> None:
    proc, ids, _ = sdk_run
    data = get(proc, f"/api/v1/traces/{ids['trace_id']}")
    spans = data["spans"]
    assert [s["name"] for s in spans] == ["GET /checkout", "SELECT orders"]
    root, child = spans
    assert root["span_id"] == ids["root"]
    assert root["parent_span_id"] == ""
    assert child["span_id"] == ids["child"]
    assert child["parent_span_id"] == ids["root"]
    assert root["kind"] == "server"
    assert root["service"] == "checkout"
    assert root["status"] == {"code": "error", "message": "boom"}
    assert root["attributes"] == {"http.request.method": "GET", "http.response.status_code": 500}
    assert child["events"][0]["name"] == "rows fetched"
    assert child["events"][0]["attributes"] == {"rows": 3}
    assert int(root["start_time_unix_nano"]) <= int(child["start_time_unix_nano"])
    assert int(root["end_time_unix_nano"]) >= int(child["end_time_unix_nano"])
    assert root["resource"]["deployment.environment"] == "test"


def test_trace_search_filters(sdk_run: Any) -> None:
    proc, ids, _ = sdk_run

    def found(**params: Any) -> list[str]:
        return [t["trace_id"] for t in get(proc, "/api/v1/traces", **params)["traces"]]

    assert found() == [ids["trace_id"]]
    assert found(service="checkout", status="error", operation="GET /checkout") == [ids["trace_id"]]
    assert found(**{"attr.db.system": "postgresql"}) == [ids["trace_id"]]
    assert found(**{"attr.deployment.environment": "test"}) == [ids["trace_id"]]
    assert found(**{"attr.db.system": "mysql"}) == []
    assert found(service="other") == []
    assert found(min_duration="1h") == []
    assert found(max_duration="1h", start="0", end="4102444800") == [ids["trace_id"]]
    summary = get(proc, "/api/v1/traces")["traces"][0]
    assert summary["span_count"] == 2
    assert summary["error_count"] == 1
    assert summary["root_name"] == "GET /checkout"


def test_log_search_filters(sdk_run: Any) -> None:
    proc, ids, _ = sdk_run

    def bodies(**params: Any) -> list[str]:
        return [x["body"] for x in get(proc, "/api/v1/logs", **params)["logs"]]

    assert bodies() == ["payment failed for order 42", "checkout done", "slow query on orders"]
    assert bodies(level="warn") == ["slow query on orders"]
    assert bodies(level="warn,error") == ["payment failed for order 42", "slow query on orders"]
    assert bodies(contains="PAYMENT") == ["payment failed for order 42"]
    assert bodies(trace_id=ids["trace_id"]) == ["slow query on orders"]
    assert bodies(**{"attr.table": "orders"}) == ["slow query on orders"]
    assert bodies(service="nope") == []
    [record] = get(proc, "/api/v1/logs", level="warn")["logs"]
    assert record["span_id"] == ids["child"]
    assert record["service"] == "checkout"


def test_pagination_walks_every_log_once(sdk_run: Any) -> None:
    proc, _, _ = sdk_run
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = get(proc, "/api/v1/logs", **params)
        seen += [x["body"] for x in page["logs"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ["payment failed for order 42", "checkout done", "slow query on orders"]


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


# --- OTLP/JSON and bad input on a server of its own ------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    tmp = tmp_path_factory.mktemp("otlp-bad")
    config = tmp / "tripod.yaml"
    config.write_text("limits:\n  max_body_bytes: 2000000\n  max_attributes: 8\n"
                      "  max_series_per_metric: 1000\n")  # fmt: skip
    with start_tripod_serve(tmp / "data", "--config", str(config)) as proc:
        yield proc


def _json_span(trace_id: str, span_id: str, name: str, attrs: int = 1) -> dict[str, Any]:
    return {
        "traceId": trace_id, "spanId": span_id, "name": name, "kind": 2,
        "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": 1700000000500000000,
        "attributes": [{"key": f"k{i}", "value": {"intValue": str(i)}} for i in range(attrs)],
        "status": {"code": 1},
    }  # fmt: skip


def _json_traces(*spans: dict[str, Any]) -> dict[str, Any]:
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "js"}}]},
        "scopeSpans": [{"scope": {"name": "s"}, "spans": list(spans)}],
    }]}  # fmt: skip


def test_otlp_json_with_hex_ids_and_partial_success(server: Proc) -> None:
    tid = "5b8efff798038103d269b633813fc60c"
    body = _json_traces(
        _json_span(tid, "eee19b7ec3c1b174", "ok"),
        _json_span(tid, "eee19b7ec3c1b175", "too many attributes", attrs=20),
    )
    r = httpx.post(server.url + "/v1/traces", json=body)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    partial = r.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "too_many_attributes" in partial["errorMessage"]
    [span] = get(server, f"/api/v1/traces/{tid}")["spans"]
    assert span["name"] == "ok"
    assert span["kind"] == "server"
    assert span["status"]["code"] == "ok"
    assert span["attributes"] == {"k0": 0}


def test_gzip_protobuf_is_accepted(server: Proc) -> None:
    req = logs_pb.ExportLogsServiceRequest()
    rec = req.resource_logs.add().scope_logs.add().log_records.add()
    rec.time_unix_nano = 1_700_000_000_000_000_000
    rec.severity_number = 13  # type: ignore[assignment]
    rec.body.string_value = "zipped hello"
    r = httpx.post(server.url + "/v1/logs", content=gzip.compress(req.SerializeToString()),
                   headers={**PB, "Content-Encoding": "gzip"})  # fmt: skip
    assert r.status_code == 200
    assert (
        logs_pb.ExportLogsServiceResponse.FromString(r.content).partial_success.rejected_log_records
        == 0
    )
    [log] = get(server, "/api/v1/logs", contains="zipped")["logs"]
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
            json.dumps(_json_traces({"traceId": "zz", "spanId": "00"})).encode(),
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
            gzip.compress(b"\0" * 3_000_000),
            {**PB, "Content-Encoding": "gzip"},
            413,
            "max_body_bytes",
        ),
        ("/v1/traces", b"abc", {**PB, "Content-Encoding": "br"}, 415, "Content-Encoding"),
        (
            "/v1/traces",
            gzip.compress(b"abc")[:-6],
            {**PB, "Content-Encoding": "gzip"},
            400,
            "truncated",
        ),
    ],
)
def test_bad_bodies_are_refused_whole_with_a_reason(
    server: Proc, path: str, body: bytes, headers: dict[str, str], status: int, words: str
) -> None:
    r = httpx.post(server.url + path, content=body, headers=headers)
    assert r.status_code == status
    if r.headers["content-type"].startswith("application/json"):
        message = r.json()["message"]
    else:
        message = status_pb2.Status.FromString(r.content).message
    assert words in message
    assert httpx.get(server.url + "/-/ready").status_code == 200


def test_truncated_protobuf_stores_nothing(server: Proc) -> None:
    tid = bytes.fromhex("aa" * 16)
    req = trace_pb.ExportTraceServiceRequest()
    span = req.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = tid, b"\x01" * 8, "x" * 200
    raw = req.SerializeToString()
    r = httpx.post(server.url + "/v1/traces", content=raw[: len(raw) // 2], headers=PB)
    assert r.status_code == 400
    r = httpx.get(server.url + f"/api/v1/traces/{tid.hex()}")
    assert r.status_code == 404


def test_metric_cardinality_bomb_is_limited_and_server_answers(server: Proc) -> None:
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
        r = httpx.post(server.url + "/v1/metrics", content=req.SerializeToString(), headers=PB)
        assert r.status_code == 200
        partial = metrics_pb.ExportMetricsServiceResponse.FromString(r.content).partial_success
        assert "label_value_too_long" in partial.error_message
    metrics = httpx.get(server.url + "/metrics").text
    assert (
        'tripod_server_rejected_total{reason="too_many_series",signal="samples"} 1400.0' in metrics
    )
    assert (
        'tripod_server_rejected_total{reason="label_value_too_long",signal="samples"} 3.0'
        in metrics
    )
    assert httpx.get(server.url + "/api/v1/logs").status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "words"),
    [
        ("/api/v1/traces/xyz", {}, "not 32 hex digits"),
        ("/api/v1/traces", {"start": "yesterday"}, 'parameter "start": cannot parse "yesterday"'),
        ("/api/v1/traces", {"min_duration": "fast"}, '"min_duration": cannot parse "fast"'),
        ("/api/v1/traces", {"min_duration": "-1"}, '"min_duration": "-1" is negative'),
        ("/api/v1/traces", {"status": "bad"}, "status='bad' is not one of"),
        ("/api/v1/traces", {"limit": "0"}, "limit='0' is not a positive integer"),
        ("/api/v1/logs", {"level": "loud"}, "level='loud' is not one of"),
        ("/api/v1/logs", {"cursor": "!!"}, "is not a 'next' value"),
        ("/api/v1/logs", {"start": "10", "end": "5"}, "end is before start"),
        ("/api/v1/logs", {"trace_id": "12"}, "trace_id='12' is not 32 hex digits"),
    ],
)
def test_bad_query_parameters_are_400_bad_data(
    server: Proc, path: str, params: dict[str, str], words: str
) -> None:
    r = httpx.get(server.url + path, params=params)
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "error"
    assert body["errorType"] == "bad_data"
    assert words in body["error"]


def test_unknown_trace_is_404_in_the_envelope(server: Proc) -> None:
    r = httpx.get(server.url + "/api/v1/traces/" + "0" * 31 + "1")
    assert r.status_code == 404
    assert r.json()["errorType"] == "not_found"


def test_contains_is_a_literal_case_insensitive_substring(server: Proc) -> None:
    req = logs_pb.ExportLogsServiceRequest()
    records = req.resource_logs.add().scope_logs.add().log_records
    for body in ("disk 100% full", "disk 1000 full", "under_score", "underXscore"):
        rec = records.add()
        rec.time_unix_nano = 1_700_000_000_000_000_000
        rec.body.string_value = body
    assert httpx.post(server.url + "/v1/logs", content=req.SerializeToString(),
                      headers=PB).status_code == 200  # fmt: skip

    def bodies(text: str) -> list[str]:
        return [x["body"] for x in get(server, "/api/v1/logs", contains=text)["logs"]]

    assert bodies("100%") == ["disk 100% full"]
    assert bodies("UNDER_") == ["under_score"]


def test_trace_search_pages_with_the_next_cursor(server: Proc) -> None:
    ids = [f"{i:02x}" * 16 for i in range(0x30, 0x35)]
    spans = [
        {
            **_json_span(t, "ab" * 8, "paged"),
            "startTimeUnixNano": str(1_790_000_000_000_000_000 + i),
        }
        for i, t in enumerate(ids)
    ]
    r = httpx.post(server.url + "/v1/traces", json=_json_traces(*spans))
    assert r.status_code == 200
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"operation": "paged", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = get(server, "/api/v1/traces", **params)
        seen += [t["trace_id"] for t in page["traces"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ids[::-1]  # newest first, each once
