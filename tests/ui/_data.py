"""What the browser tests feed a running `tripod serve` besides the demo's own traffic: a
10,000-span trace, and markup in every field the UI shows (span names, attributes, log bodies,
label values, dashboard titles)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx

#: Each payload sets ``window.__xss`` (and opens a dialog) if it ever runs.
SCRIPT = "<script>window.__xss=1;alert(1)</script>"
IMG = '<img src=x onerror="window.__xss=1;alert(1)">'
BIG_TRACE = "b1" * 16
XSS_TRACE = "c2" * 16
BIG_SPANS = 10_000
NEEDLE = "needle-operation-7777"


def _attr(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _span(trace: str, index: int, parent: int | None, name: str, now: int) -> dict[str, Any]:
    span: dict[str, Any] = {
        "traceId": trace,
        "spanId": f"{index + 1:016x}",
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(now + index * 1000),
        "endTimeUnixNano": str(now + index * 1000 + 500_000),
        "attributes": [_attr("i", str(index))],
        "status": {"code": 1},
    }
    if parent is not None:
        span["parentSpanId"] = f"{parent + 1:016x}"
    return span


def _resource(service: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceSpans": [{
        "resource": {"attributes": [_attr("service.name", service)]},
        "scopeSpans": [{"scope": {"name": "tests.ui"}, "spans": spans}],
    }]}  # fmt: skip


def feed(url: str, dashboards: Path) -> None:
    """Send the big trace, the markup trace and its logs, a metric with a markup label value,
    and write a dashboard with markup in its titles into ``dashboards`` (re-read live)."""
    now = time.time_ns() - 5 * 10**9
    spans = [
        _span(
            BIG_TRACE, i, None if i == 0 else (i - 1) // 8, NEEDLE if i == 7777 else f"op-{i}", now
        )
        for i in range(BIG_SPANS)
    ]
    post(url, "/v1/traces", _resource("big-batch", spans))
    root = _span(XSS_TRACE, 0, None, SCRIPT, now)
    root["attributes"].append(_attr("note", IMG))
    root["events"] = [{"name": IMG, "timeUnixNano": str(now + 10)}]
    child = _span(XSS_TRACE, 1, 0, IMG, now)
    post(url, "/v1/traces", _resource("xss-svc", [root, child]))
    record = {"timeUnixNano": str(now + 20), "severityNumber": 17, "severityText": "ERROR",
              "body": {"stringValue": f"{SCRIPT} {IMG}"}, "traceId": XSS_TRACE,
              "spanId": f"{1:016x}", "attributes": [_attr("note", IMG)]}  # fmt: skip
    logs = {"resourceLogs": [{"resource": {"attributes": [_attr("service.name", "xss-svc")]},
                              "scopeLogs": [{"scope": {"name": "tests.ui"},
                                             "logRecords": [record]}]}]}  # fmt: skip
    post(url, "/v1/logs", logs)
    text = f'xss_metric{{note="{IMG.replace(chr(34), chr(92) + chr(34))}"}} 1\n'
    response = httpx.post(url + "/api/v1/import/prometheus", content=text, timeout=30)
    assert response.status_code == 204, response.text
    dashboards.mkdir(parents=True, exist_ok=True)
    (dashboards / "xss.json").write_text(json.dumps(xss_dashboard()))


def xss_dashboard() -> dict[str, Any]:
    return {
        "uid": "xss-board",
        "title": f"{IMG} markup board",
        "schemaVersion": 39,
        "time": {"from": "now-15m", "to": "now"},
        "panels": [
            {
                "id": 1,
                "type": "timeseries",
                "title": SCRIPT,
                "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
                "targets": [{"refId": "A", "expr": "xss_metric", "legendFormat": "{{note}}"}],
            },
            {
                "id": 2,
                "type": "text",
                "title": IMG,
                "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
                "options": {
                    "mode": "markdown",
                    "content": f"# notes\n\n{SCRIPT}\n\n{IMG}\n\n[x](javascript:window.__xss=1)",
                },
            },
            {
                "id": 3,
                "type": "table",
                "title": "labels",
                "gridPos": {"x": 0, "y": 8, "w": 24, "h": 6},
                "targets": [
                    {"refId": "A", "expr": "xss_metric", "instant": True, "format": "table"}
                ],
            },
        ],
    }


def post(url: str, path: str, body: dict[str, Any]) -> None:
    response = httpx.post(url + path, json=body, timeout=60)
    assert response.status_code == 200, response.text
