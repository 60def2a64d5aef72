"""Synthetic traces and logs as OTLP/JSON request bodies (the test and benchmark inputs)."""

from __future__ import annotations

import random
import time
from typing import Any

__all__ = ["BASE_NS", "big_trace", "log_records"]

#: an hour ago to the second (inside any retention: old data would be deleted mid-test)
BASE_NS = (time.time_ns() // 10**9 - 3600) * 10**9
_SERVICES = ("api", "inventory", "worker")
_KINDS = (1, 2, 3)  # internal, server, client


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def big_trace(trace_id: str, n: int, *, seed: int = 7, base_ns: int = BASE_NS) -> dict[str, Any]:
    """One trace of ``n`` spans over three services as an OTLP/JSON ``ExportTraceServiceRequest``:
    a tree (each span's parent is an earlier span), ~3% errors, attributes on every span and an
    event on every tenth."""
    rnd = random.Random(seed)
    by_service: dict[str, list[dict[str, Any]]] = {s: [] for s in _SERVICES}
    starts: list[int] = []
    for i in range(n):
        span_id = f"{i + 1:016x}"
        parent = "" if i == 0 else f"{rnd.randrange(max(0, i - 50), i) + 1:016x}"
        start = base_ns if i == 0 else starts[int(parent, 16) - 1] + rnd.randrange(1_000, 900_000)
        starts.append(start)
        duration = rnd.randrange(10_000, 4_000_000)
        error = i > 0 and rnd.random() < 0.03
        span: dict[str, Any] = {
            "traceId": trace_id,
            "spanId": span_id,
            "parentSpanId": parent,
            "name": f"op-{i % 40}" if i else "GET /checkout",
            "kind": 2 if i == 0 else _KINDS[i % 3],
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start + duration),
            "attributes": [
                _attr("i", i),
                _attr("http.route", f"/r/{i % 7}"),
                _attr("ok", not error),
            ],
            "status": {"code": 2, "message": f"failure {i}"}
            if error
            else {"code": 1 if i % 2 else 0},
        }
        if i % 10 == 0:
            span["events"] = [
                {"name": "tick", "timeUnixNano": str(start + 1), "attributes": [_attr("n", i)]}
            ]
        by_service[_SERVICES[0 if i == 0 else i % 3]].append(span)
    root = by_service[_SERVICES[0]][0]  # the root ends after its last descendant
    last = max(int(sp["endTimeUnixNano"]) for spans in by_service.values() for sp in spans)
    root["endTimeUnixNano"] = str(last + 1_000_000)
    return {"resourceSpans": [
        {"resource": {"attributes": [_attr("service.name", svc)]},
         "scopeSpans": [{"scope": {"name": "gen"}, "spans": spans}]}
        for svc, spans in by_service.items() if spans
    ]}  # fmt: skip


def log_records(
    service: str,
    bodies: list[str],
    *,
    base_ns: int = BASE_NS,
    trace_id: str = "",
    span_id: str = "",
) -> dict[str, Any]:
    """OTLP/JSON ``ExportLogsServiceRequest`` of one record per body, one microsecond apart."""
    return {"resourceLogs": [{
        "resource": {"attributes": [_attr("service.name", service)]},
        "scopeLogs": [{"scope": {"name": "gen"}, "logRecords": [
            {"timeUnixNano": str(base_ns + i * 1000), "severityNumber": 9, "severityText": "INFO",
             "body": {"stringValue": body}, "traceId": trace_id, "spanId": span_id,
             "attributes": [_attr("n", i)]}
            for i, body in enumerate(bodies)
        ]}],
    }]}  # fmt: skip
