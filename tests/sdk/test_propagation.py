"""Correlation and propagation: inject_headers; outgoing httpx/requests calls to a real server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import requests
from opentelemetry import baggage

import tripod
from tests.helpers.otlp_receiver import HeaderRecorder
from tripod.sdk import propagation
from tripod.testing import Capture


@pytest.fixture
def recorder() -> Iterator[HeaderRecorder]:
    with HeaderRecorder() as server:
        yield server


@pytest.mark.usefixtures("tripod_capture")
def test_inject_headers_carries_trace_and_correlation() -> None:
    token = propagation.set_correlation_id("corr-out")
    try:
        with tripod.span("call") as span:
            headers = tripod.inject_headers({"accept": "json"})
    finally:
        propagation.reset_correlation_id(token)
    trace_id = format(span.get_span_context().trace_id, "032x")
    span_id = format(span.get_span_context().span_id, "016x")
    assert headers["accept"] == "json"
    assert headers["traceparent"].startswith(f"00-{trace_id}-{span_id}-")
    assert headers["X-Correlation-ID"] == "corr-out"
    assert tripod.inject_headers() == {}  # nothing current: nothing injected


def test_outgoing_httpx_and_requests_calls_carry_context(recorder: HeaderRecorder) -> None:
    Capture(correlation_header="X-Correlation-ID").start()
    token = propagation.set_correlation_id("corr-client")
    try:
        with tripod.span("handler") as span:
            httpx.get(recorder.url + "/a")
            requests.get(recorder.url + "/b", timeout=5)
    finally:
        propagation.reset_correlation_id(token)
    trace_id = format(span.get_span_context().trace_id, "032x")
    assert len(recorder.requests) == 2
    for headers in recorder.requests:
        assert headers["traceparent"].split("-")[1] == trace_id
        assert headers["x-correlation-id"] == "corr-client"


@pytest.mark.usefixtures("tripod_capture")
def test_extract_reads_correlation_into_baggage() -> None:
    ctx = propagation.extract(
        {
            "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "x-request-id": "from-upstream",
        }
    )
    assert baggage.get_baggage(propagation.BAGGAGE_KEY, ctx) == "from-upstream"


def test_correlation_ids_are_validated() -> None:
    assert propagation.clean_correlation_id("abc-123_x.y") == "abc-123_x.y"
    for bad in ("", None, "a" * 200, "has space", 'quote"', "new\nline"):
        fresh = propagation.clean_correlation_id(bad)
        assert len(fresh) == 32
        assert fresh != bad
