"""The demo FastAPI service under a real uvicorn, exporting OTLP/HTTP to an in-test receiver.

One request must yield, field by field: a server span with the route template, a histogram
sample with that route label on /metrics, JSON log lines with the same trace id (from the
subprocess's own output), OTLP log records, and the correlation id echoed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.helpers.otlp_receiver import HeaderRecorder, OtlpReceiver
from tests.helpers.procs import Proc, free_port

from tripod.sdk.logs import iter_json_lines

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SERVER_KIND = 2  # opentelemetry.proto.trace.v1.Span.SPAN_KIND_SERVER
STATUS_ERROR = 2


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as server:
        yield server


@pytest.fixture(scope="module")
def downstream() -> Iterator[HeaderRecorder]:
    with HeaderRecorder() as server:
        yield server


def start_uvicorn(tmp: Path, env: dict[str, str], app: str = "examples.demo_service:app") -> Proc:
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning"]  # fmt: skip
    full_env = {"PYTHONPATH": str(ROOT), "TRIPOD_SHUTDOWN_TIMEOUT": "2", **env}
    proc = Proc(argv, f"http://127.0.0.1:{port}", tmp / f"uvicorn-{port}.log", env=full_env)
    proc.wait_ready("/health")
    return proc


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, receiver: OtlpReceiver, downstream: HeaderRecorder
) -> Iterator[Proc]:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_SERVICE_NAME": "e2e-shop",
        "DEMO_DOWNSTREAM_URL": downstream.url,
    }
    with start_uvicorn(tmp_path_factory.mktemp("fastapi"), env) as proc:
        yield proc


def log_lines(proc: Proc, timeout: float = 10.0, **match: Any) -> list[dict[str, Any]]:
    """JSON lines of the subprocess's output matching ``match``, waiting for at least one."""
    deadline = time.monotonic() + timeout
    while True:
        text = proc.log_path.read_text(errors="replace")
        found = [
            line
            for line in iter_json_lines(text)
            if all(line.get(k) == v for k, v in match.items())
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def server_span(receiver: OtlpReceiver, **attributes: Any) -> dict[str, Any]:
    def matching(r: OtlpReceiver) -> list[dict[str, Any]]:
        return [
            s
            for s in r.spans
            if s["kind"] == SERVER_KIND
            and all(s["attributes"].get(k) == v for k, v in attributes.items())
        ]

    receiver.wait_for(lambda r: bool(matching(r)))
    spans = matching(receiver)
    assert len(spans) == 1, spans
    return spans[0]


def test_one_request_yields_span_metric_logs_and_correlation(
    service: Proc, receiver: OtlpReceiver
) -> None:
    response = httpx.get(service.url + "/orders/42", headers={"X-Correlation-ID": "corr-e2e-1"})
    assert response.status_code == 200
    assert response.json()["order_id"] == 42
    assert response.headers["x-correlation-id"] == "corr-e2e-1"

    span = server_span(receiver, **{"url.path": "/orders/42"})
    assert span["name"] == "GET /orders/{order_id}"
    assert span["attributes"]["http.route"] == "/orders/{order_id}"
    assert span["attributes"]["http.request.method"] == "GET"
    assert span["attributes"]["http.response.status_code"] == 200
    assert span["attributes"]["url.scheme"] == "http"
    assert span["attributes"]["client.address"] == "127.0.0.1"
    assert span["attributes"]["server.address"] == "127.0.0.1"
    assert span["attributes"]["network.protocol.version"] == "1.1"
    assert span["attributes"]["user_agent.original"].startswith("python-httpx/")
    assert span["attributes"]["correlation_id"] == "corr-e2e-1"
    assert span["resource"]["service.name"] == "e2e-shop"
    assert span["resource"]["service.version"] == "1.0.0"
    assert span["resource"]["telemetry.sdk.name"] == "opentelemetry"
    assert isinstance(span["resource"]["process.pid"], int)
    trace_id = span["trace_id"]
    receiver.wait_for(
        lambda r: any(s["name"] == "load_order" and s["trace_id"] == trace_id for s in r.spans)
    )
    child = next(s for s in receiver.spans if s["name"] == "load_order")
    assert child["parent_span_id"] == span["span_id"]

    scrape = httpx.get(service.url + "/metrics").text
    samples = [
        s
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
        if s.name == "http_server_request_duration_seconds_count"
        and s.labels.get("http_route") == "/orders/{order_id}"
    ]
    assert len(samples) == 1
    assert samples[0].labels == {
        "http_request_method": "GET",
        "http_route": "/orders/{order_id}",
        "http_response_status_code": "200",
    }
    assert samples[0].value >= 1

    openmetrics = httpx.get(
        service.url + "/metrics", headers={"Accept": "application/openmetrics-text"}
    ).text
    exemplars = [
        line
        for line in openmetrics.splitlines()
        if line.startswith("http_server_request_duration_seconds_bucket{")
        and 'http_route="/orders/{order_id}"' in line
        and " # {" in line
    ]
    assert any(f'trace_id="{trace_id}"' in line for line in exemplars), exemplars

    [app_line] = log_lines(service, message="order loaded", correlation_id="corr-e2e-1")
    assert app_line["trace_id"] == trace_id
    assert app_line["span_id"] == span["span_id"]
    assert app_line["level"] == "INFO"
    assert app_line["logger"] == "demo.shop"
    assert app_line["service.name"] == "e2e-shop"
    assert app_line["order_id"] == 42
    assert app_line["timestamp"].endswith("Z")
    [access] = log_lines(service, logger="tripod.access", correlation_id="corr-e2e-1")
    assert access["trace_id"] == trace_id
    assert access["span_id"] == span["span_id"]
    assert access["http.route"] == "/orders/{order_id}"
    assert access["http.request.method"] == "GET"
    assert access["http.response.status_code"] == 200
    assert access["duration_ms"] > 0
    assert access["message"] == "GET /orders/{order_id} 200"

    receiver.wait_for(lambda r: any(rec["body"] == "order loaded" for rec in r.logs))
    record = next(rec for rec in receiver.logs if rec["body"] == "order loaded")
    assert record["trace_id"] == trace_id
    assert record["severity_text"] == "INFO"
    assert record["attributes"]["correlation_id"] == "corr-e2e-1"
    assert record["resource"]["service.name"] == "e2e-shop"
    receiver.wait_for(lambda r: any(rec["body"] == "GET /orders/{order_id} 200" for rec in r.logs))
    access_records = [
        rec
        for rec in receiver.logs
        if rec["attributes"].get("correlation_id") == "corr-e2e-1"
        and rec["attributes"].get("logger.name") == "tripod.access"
    ]
    assert [(rec["trace_id"], rec["span_id"]) for rec in access_records] == [
        (trace_id, span["span_id"])
    ]


def test_incoming_traceparent_is_continued(service: Proc, receiver: OtlpReceiver) -> None:
    trace_id, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    response = httpx.get(
        service.url + "/orders/7", headers={"traceparent": f"00-{trace_id}-{parent}-01"}
    )
    assert response.status_code == 200
    generated = response.headers["x-correlation-id"]
    assert len(generated) == 32
    span = server_span(receiver, **{"url.path": "/orders/7"})
    assert span["trace_id"] == trace_id
    assert span["parent_span_id"] == parent
    [line] = log_lines(service, message="order loaded", correlation_id=generated)
    assert line["trace_id"] == trace_id


def test_outgoing_call_carries_traceparent_and_correlation_id(
    service: Proc, receiver: OtlpReceiver, downstream: HeaderRecorder
) -> None:
    response = httpx.post(
        service.url + "/checkout?sku=sku-9", headers={"X-Request-ID": "req-checkout-1"}
    )
    assert response.status_code == 200
    assert response.headers["x-correlation-id"] == "req-checkout-1"
    [outgoing] = [r for r in downstream.requests if r.get("x-correlation-id") == "req-checkout-1"]
    span = server_span(receiver, **{"url.path": "/checkout"})
    version, trace_id, _parent, flags = outgoing["traceparent"].split("-")
    assert (version, trace_id) == ("00", span["trace_id"])
    assert int(flags, 16) & 1  # sampled
    assert "correlation_id=req-checkout-1" in outgoing.get("baggage", "")
    [line] = log_lines(service, message="checkout done")
    assert line["sku"] == "sku-9"
    assert line["correlation_id"] == "req-checkout-1"


def test_exception_is_an_error_span_and_a_500(service: Proc, receiver: OtlpReceiver) -> None:
    response = httpx.get(service.url + "/boom")
    assert response.status_code == 500
    span = server_span(receiver, **{"url.path": "/boom"})
    assert span["name"] == "GET /boom"
    assert span["status_code"] == STATUS_ERROR
    assert span["attributes"]["error.type"] == "RuntimeError"
    assert span["attributes"]["http.response.status_code"] == 500
    assert "exception" in span["events"]
    [warning] = log_lines(service, message="about to fail")
    assert warning["api_key"] == "[REDACTED]"
    [access] = log_lines(service, logger="tripod.access", **{"http.route": "/boom"})
    assert access["http.response.status_code"] == 500


def test_unmatched_path_uses_one_label(service: Proc, receiver: OtlpReceiver) -> None:
    for path in ("/wp-admin/1", "/wp-admin/2", "/.env"):
        assert httpx.get(service.url + path).status_code == 404
    scrape = httpx.get(service.url + "/metrics").text
    routes = {
        s.labels["http_route"]
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
        if s.name == "http_server_request_duration_seconds_count"
        and s.labels["http_response_status_code"] == "404"
    }
    assert routes == {"__unmatched__"}
