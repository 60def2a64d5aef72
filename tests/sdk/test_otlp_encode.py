"""tripod's own OTLP protobuf encoder: the same bytes as OpenTelemetry's, and readable end to end.

Spans are compared byte for byte with ``opentelemetry-exporter-otlp-proto-common``'s encoder;
tripod's request spans and log tuples are decoded with opentelemetry-proto's generated classes;
a real ``tripod serve`` stores what the export thread sends, parent/child links intact.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs as otel_encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as otel_encode
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import tripod
from tests.helpers.otlp_receiver import attrs
from tests.helpers.procs import Proc, start_tripod_serve
from tripod.sdk import tracing
from tripod.sdk._otlp import encode_logs, encode_spans
from tripod.sdk._otlp._wire import any_value, varint
from tripod.sdk._serverspan import ServerSpan


class Keep:
    """A span exporter that keeps what it is given (to encode both ways)."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


VALUES: dict[str, Any] = {
    "s": "text ünïcode ☃",
    "empty": "",
    "t": True,
    "f": False,
    "zero": 0,
    "big": 2**62,
    "neg": -5,
    "pi": 3.25,
    "nan-free": -0.0,
    "strs": ["a", "b"],
    "ints": [1, -2, 3],
    "floats": [1.5, math.inf],
    "bools": [True, False],
}


def test_sdk_spans_encode_to_the_same_bytes_as_opentelemetry() -> None:
    tripod.init(service_name="enc", metrics_enabled=False, logs_enabled=False)
    keep = Keep()
    tracing.add_exporter(keep)
    tracer = trace.get_tracer("lib.x", "1.2")
    remote = SpanContext(0xAB, 0xCD, is_remote=True, trace_flags=TraceFlags(1),
                         trace_state=TraceState([("k", "v"), ("x", "y")]))  # fmt: skip
    ctx = trace.set_span_in_context(trace.NonRecordingSpan(remote))
    with tracer.start_as_current_span("remote child", context=ctx, kind=SpanKind.CONSUMER) as s:
        s.set_attributes(VALUES)
        s.add_event("ev", {"k": "v", "n": 2})
        s.set_status(Status(StatusCode.ERROR, "boom"))
        with tripod.span("local", n=1):
            pass
    with tracer.start_as_current_span("linked", links=[Link(remote, {"why": "batch"})]) as s:
        s.set_status(Status(StatusCode.OK))
    assert tripod.force_flush(5)
    assert len(keep.spans) == 3
    assert encode_spans(keep.spans) == otel_encode(keep.spans).SerializeToString()


def test_request_spans_decode_as_their_sdk_form() -> None:
    tripod.init(service_name="enc", metrics_enabled=False, logs_enabled=False)
    factory = tracing.server_spans()
    assert factory is not None
    span = factory.start("GET /x/{id}", None, {"http.route": "/x/{id}", "code": 200})
    assert isinstance(span, ServerSpan)
    span.set_attributes(VALUES)
    span.record_exception(ValueError("bad"))
    span.set_status(StatusCode.ERROR)
    span.end()
    mine = ExportTraceServiceRequest.FromString(encode_spans([span]))
    theirs = otel_encode([span.to_readable()])
    assert mine == theirs
    decoded = mine.resource_spans[0].scope_spans[0].spans[0]
    assert attrs(decoded.attributes)["s"] == VALUES["s"]
    assert decoded.events[0].name == "exception"


def test_log_tuples_encode_as_opentelemetry_log_records() -> None:
    resource = Resource.create({"service.name": "enc"})
    scope = InstrumentationScope("tripod")
    ctx = SpanContext(2**127 + 5, 2**63 + 9, is_remote=False, trace_flags=TraceFlags(1))
    items = [
        (1_700_000_000_000_000_001, 1_700_000_000_000_000_002, ctx, SeverityNumber.WARN, "WARNING",
         "hello ☃", {"logger.name": "app", "n": 3, "ok": True, "ratio": 0.5}),
        (1_700_000_000_000_000_003, 1_700_000_000_000_000_004, None, SeverityNumber.INFO, "INFO",
         "no trace", {}),
    ]  # fmt: skip
    sdk_records = [
        ReadableLogRecord(
            LogRecord(
                timestamp=ts,
                observed_timestamp=obs,
                trace_id=c.trace_id if c else 0,
                span_id=c.span_id if c else 0,
                trace_flags=c.trace_flags if c else TraceFlags(0),
                severity_number=num,
                severity_text=text,
                body=body,
                attributes=a,
            ),
            resource=resource,
            instrumentation_scope=scope,
        )
        for ts, obs, c, num, text, body, a in items
    ]
    mine = ExportLogsServiceRequest.FromString(encode_logs(items, resource, scope))
    assert mine == otel_encode_logs(sdk_records)


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**63 - 1, -1, -(2**63)])
def test_varint_round_trips_through_the_protobuf_runtime(value: int) -> None:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

    decoded = AnyValue.FromString(any_value(value))
    assert decoded.int_value == value
    assert varint(value) == AnyValue(int_value=value).SerializeToString()[1:]


def test_nested_values_round_trip() -> None:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue

    from tests.helpers.otlp_receiver import attr_value

    value = {"a": [1, "x", {"b": None}], "c": b"\x00\xff"}
    assert attr_value(AnyValue.FromString(any_value(value))) == {
        "a": [1, "x", {"b": None}],
        "c": b"\x00\xff",
    }


# --- end to end: the export thread's bytes, stored by a real tripod serve ---------------------


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    with start_tripod_serve(tmp_path_factory.mktemp("otlp-encode") / "data") as proc:
        yield proc


def _get(serve: Proc, path: str, **params: str) -> Any:
    with httpx.Client(base_url=serve.url, timeout=10) as client:
        response = client.get(path, params=params)
        response.raise_for_status()
        return response.json()["data"]


def test_request_child_spans_and_logs_arrive_in_one_trace(serve: Proc) -> None:
    tripod.init(service_name="enc-e2e", otlp_endpoint=serve.url, metrics_enabled=False)
    seen: dict[str, str] = {}

    def hello(request: Request) -> PlainTextResponse:
        server_ctx = trace.get_current_span().get_span_context()
        seen["trace"] = format(server_ctx.trace_id, "032x")
        seen["server"] = format(server_ctx.span_id, "016x")
        with trace.get_tracer("user.code").start_as_current_span("user child") as child:
            child.set_attribute("k", 3)
            seen["user"] = format(child.get_span_context().span_id, "016x")
            with tripod.span("tripod child"):
                logging.getLogger("app").warning("inside %s", "child")
        return PlainTextResponse("hi")

    app = tripod.instrument(Starlette(routes=[Route("/hello/{n}", hello)]))

    async def call() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get("/hello/1")).status_code

    assert asyncio.run(call()) == 200
    assert tripod.force_flush(10)
    spans = {s["name"]: s for s in _get(serve, f"/api/v1/traces/{seen['trace']}")["spans"]}
    assert set(spans) == {"GET /hello/{n}", "user child", "tripod child"}
    server = spans["GET /hello/{n}"]
    assert (server["span_id"], server["kind"], server["parent_span_id"]) == (
        seen["server"], "server", "",
    )  # fmt: skip
    assert server["attributes"]["http.route"] == "/hello/{n}"
    assert spans["user child"]["parent_span_id"] == seen["server"]
    assert spans["user child"]["attributes"] == {"k": 3}
    assert spans["tripod child"]["parent_span_id"] == seen["user"]
    logs = _get(serve, "/api/v1/logs", trace_id=seen["trace"])["logs"]
    bodies = {log["body"]: log for log in logs}
    assert set(bodies) == {"GET /hello/{n} 200", "inside child"}
    assert bodies["GET /hello/{n} 200"]["span_id"] == seen["server"]
    assert bodies["GET /hello/{n} 200"]["attributes"]["logger.name"] == "tripod.access"
    assert bodies["inside child"]["severity_text"] == "WARNING"
    assert bodies["inside child"]["span_id"] == spans["tripod child"]["span_id"]
