"""Helpers shared by the server tests that talk OTLP and the query API to a real server."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers.procs import Proc

PB = {"Content-Type": "application/x-protobuf"}


def get(proc: Proc, path: str, **params: Any) -> Any:
    r = httpx.get(proc.url + path, params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success"
    return body["data"]


def json_span(trace_id: str, span_id: str, name: str, attrs: int = 1) -> dict[str, Any]:
    return {
        "traceId": trace_id, "spanId": span_id, "name": name, "kind": 2,
        "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": 1700000000500000000,
        "attributes": [{"key": f"k{i}", "value": {"intValue": str(i)}} for i in range(attrs)],
        "status": {"code": 1},
    }  # fmt: skip


def json_traces(*spans: dict[str, Any]) -> dict[str, Any]:
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "js"}}]},
        "scopeSpans": [{"scope": {"name": "s"}, "spans": list(spans)}],
    }]}  # fmt: skip
