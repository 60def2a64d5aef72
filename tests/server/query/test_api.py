"""Trace and log search (``/api/v1/traces``, ``/api/v1/logs``) on a real `tripod serve` fed by
the real SDK and by OTLP requests: filters, pagination, literal substring search, bad parameters."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb

from tests.helpers.procs import Proc
from tests.server.support import PB, get, json_span, json_traces


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
    limited_server: Proc, path: str, params: dict[str, str], words: str
) -> None:
    r = httpx.get(limited_server.url + path, params=params)
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "error"
    assert body["errorType"] == "bad_data"
    assert words in body["error"]


def test_unknown_trace_is_404_in_the_envelope(limited_server: Proc) -> None:
    r = httpx.get(limited_server.url + "/api/v1/traces/" + "0" * 31 + "1")
    assert r.status_code == 404
    assert r.json()["errorType"] == "not_found"


def test_contains_is_a_literal_case_insensitive_substring(limited_server: Proc) -> None:
    req = logs_pb.ExportLogsServiceRequest()
    records = req.resource_logs.add().scope_logs.add().log_records
    for body in ("disk 100% full", "disk 1000 full", "under_score", "underXscore"):
        rec = records.add()
        rec.time_unix_nano = 1_700_000_000_000_000_000
        rec.body.string_value = body
    assert httpx.post(limited_server.url + "/v1/logs", content=req.SerializeToString(),
                      headers=PB).status_code == 200  # fmt: skip

    def bodies(text: str) -> list[str]:
        return [x["body"] for x in get(limited_server, "/api/v1/logs", contains=text)["logs"]]

    assert bodies("100%") == ["disk 100% full"]
    assert bodies("UNDER_") == ["under_score"]


def test_trace_search_pages_with_the_next_cursor(limited_server: Proc) -> None:
    ids = [f"{i:02x}" * 16 for i in range(0x30, 0x35)]
    spans = [
        {
            **json_span(t, "ab" * 8, "paged"),
            "startTimeUnixNano": str(1_790_000_000_000_000_000 + i),
        }
        for i, t in enumerate(ids)
    ]
    r = httpx.post(limited_server.url + "/v1/traces", json=json_traces(*spans))
    assert r.status_code == 200
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"operation": "paged", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = get(limited_server, "/api/v1/traces", **params)
        seen += [t["trace_id"] for t in page["traces"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == ids[::-1]  # newest first, each once
