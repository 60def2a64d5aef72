"""The Flask example under a real gunicorn (forked worker), exporting OTLP/HTTP to a receiver."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.e2e.test_sdk_fastapi import ROOT, STATUS_ERROR, log_lines, server_span
from tests.helpers.otlp_receiver import HeaderRecorder, OtlpReceiver
from tests.helpers.procs import Proc, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as server:
        yield server


@pytest.fixture(scope="module")
def downstream() -> Iterator[HeaderRecorder]:
    with HeaderRecorder() as server:
        yield server


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, receiver: OtlpReceiver, downstream: HeaderRecorder
) -> Iterator[Proc]:
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "examples.flask_service:app",
            "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
            "--log-level", "warning"]  # fmt: skip
    env = {
        "PYTHONPATH": str(ROOT),
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_SERVICE_NAME": "flask-e2e",
        "DEMO_DOWNSTREAM_URL": downstream.url,
        "TRIPOD_SHUTDOWN_TIMEOUT": "2",
    }
    log = tmp_path_factory.mktemp("flask") / "gunicorn.log"
    with Proc(argv, f"http://127.0.0.1:{port}", log, env=env) as proc:
        proc.wait_ready("/health")
        yield proc


def test_one_request_yields_span_metric_logs_and_correlation(
    service: Proc, receiver: OtlpReceiver
) -> None:
    response = httpx.get(service.url + "/orders/5", headers={"X-Correlation-ID": "flask-corr-1"})
    assert response.status_code == 200
    assert response.headers["x-correlation-id"] == "flask-corr-1"

    span = server_span(receiver, **{"url.path": "/orders/5"})
    assert span["name"] == "GET /orders/<int:order_id>"
    assert span["attributes"]["http.route"] == "/orders/<int:order_id>"
    assert span["attributes"]["http.response.status_code"] == 200
    assert span["attributes"]["http.request.method"] == "GET"
    assert span["attributes"]["client.address"] == "127.0.0.1"
    assert span["resource"]["service.name"] == "flask-e2e"
    receiver.wait_for(lambda r: any(s["name"] == "load order" for s in r.spans))
    child = next(s for s in receiver.spans if s["name"] == "load order")
    assert child["parent_span_id"] == span["span_id"]
    assert child["attributes"]["order_id"] == 5

    scrape = httpx.get(service.url + "/metrics").text
    [sample] = [
        s
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
        if s.name == "http_server_request_duration_seconds_count"
        and s.labels.get("http_route") == "/orders/<int:order_id>"
    ]
    assert sample.labels["http_response_status_code"] == "200"
    assert sample.value == 1

    [line] = log_lines(service, message="order loaded")
    assert line["trace_id"] == span["trace_id"]
    assert line["span_id"] == child["span_id"]
    assert line["correlation_id"] == "flask-corr-1"
    assert line["service.name"] == "flask-e2e"
    [access] = log_lines(service, logger="tripod.access", correlation_id="flask-corr-1")
    assert access["trace_id"] == span["trace_id"]
    assert access["http.route"] == "/orders/<int:order_id>"
    assert access["http.response.status_code"] == 200


def test_traceparent_continued_and_propagated_by_requests(
    service: Proc, receiver: OtlpReceiver, downstream: HeaderRecorder
) -> None:
    trace_id, parent = "5bf92f3577b34da6a3ce929d0e0e4736", "10f067aa0ba902b7"
    response = httpx.post(
        service.url + "/checkout",
        headers={"traceparent": f"00-{trace_id}-{parent}-01", "X-Correlation-ID": "flask-co"},
    )
    assert response.status_code == 200
    span = server_span(receiver, **{"url.path": "/checkout"})
    assert span["trace_id"] == trace_id
    assert span["parent_span_id"] == parent
    [outgoing] = [r for r in downstream.requests if r.get("x-correlation-id") == "flask-co"]
    assert outgoing["traceparent"].split("-")[1] == trace_id


def test_errors_and_unmatched(service: Proc, receiver: OtlpReceiver) -> None:
    assert httpx.get(service.url + "/boom").status_code == 500
    span = server_span(receiver, **{"url.path": "/boom"})
    assert span["status_code"] == STATUS_ERROR
    assert span["attributes"]["error.type"] == "RuntimeError"
    assert "exception" in span["events"]
    assert httpx.get(service.url + "/nothing/here").status_code == 404
    assert httpx.get(service.url + "/orders/0").status_code == 404
    scrape = httpx.get(service.url + "/metrics").text
    routes_404 = {
        s.labels["http_route"]
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
        if s.name == "http_server_request_duration_seconds_count"
        and s.labels["http_response_status_code"] == "404"
    }
    assert routes_404 == {"__unmatched__", "/orders/<int:order_id>"}
