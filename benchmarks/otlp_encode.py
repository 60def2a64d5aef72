"""Encoding cost per record on the export thread: tripod's own OTLP encoder vs OpenTelemetry's.

    .venv/bin/python benchmarks/otlp_encode.py [--batch 512] [--rounds 7]

Same batch, both encoders, interleaved rounds, best and median per record (CPU time):
- request spans: tripod encodes its ``ServerSpan`` directly; the OpenTelemetry path is what
  tripod did before issue 13 (``to_readable()`` + ``opentelemetry-exporter-otlp-proto-common``'s
  ``encode_spans`` + ``SerializeToString``);
- SDK spans (``tripod.span()``, library spans): the same ``ReadableSpan``s through both;
- log records: tripod encodes its queued tuples; the OpenTelemetry path builds a
  ``ReadableLogRecord`` per record and runs ``encode_logs``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs as otel_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as otel_spans
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

import tripod
from tripod.sdk import tracing
from tripod.sdk._otlp import encode_logs, encode_spans
from tripod.sdk._serverspan import ServerSpan


class Keep:
    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def per_record(fn: Callable[[], object], n: int, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.process_time()
        fn()
        out.append((time.process_time() - start) / n * 1e6)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    n = args.batch
    tripod.init(service_name="bench", metrics_enabled=False, logs_enabled=False)
    keep = Keep()
    tracing.add_exporter(keep)
    factory = tracing.server_spans()
    assert factory is not None
    server: list[ServerSpan] = []
    for i in range(n):
        span = factory.start("GET /items/{item_id}", None, {
            "http.request.method": "GET", "url.path": f"/items/{i}", "url.scheme": "http",
            "server.address": "127.0.0.1", "server.port": 8000, "network.protocol.version": "1.1",
            "user_agent.original": "bench", "client.address": "127.0.0.1",
            "correlation_id": f"{i:032x}"})  # fmt: skip
        span.set_attributes({"http.route": "/items/{item_id}", "http.response.status_code": 200})
        span.end()
        assert isinstance(span, ServerSpan)
        server.append(span)
    for i in range(n):
        with tripod.span("charge card", amount=i, currency="EUR", attempt=1):
            pass
    tripod.force_flush()
    sdk = keep.spans[:n]
    resource = factory.resource
    scope = InstrumentationScope("tripod")
    items: list[tuple[Any, ...]] = [
        (time.time_ns(), time.time_ns(), s.context, 9, "INFO", "GET /items/{item_id} 200",
         {"http.request.method": "GET", "http.route": "/items/{item_id}",
          "http.response.status_code": 200, "duration_ms": 1.25, "correlation_id": f"{i:032x}",
          "logger.name": "tripod.access"})
        for i, s in enumerate(server)
    ]  # fmt: skip

    def otel_log_records() -> bytes:
        records = [
            ReadableLogRecord(
                LogRecord(
                    timestamp=ts,
                    observed_timestamp=obs,
                    trace_id=c.trace_id,
                    span_id=c.span_id,
                    trace_flags=c.trace_flags,
                    severity_number=SeverityNumber.INFO,
                    severity_text=text,
                    body=body,
                    attributes=attrs,
                ),
                resource=resource,
                instrumentation_scope=scope,
            )
            for ts, obs, c, _num, text, body, attrs in items
        ]
        return bytes(otel_logs(records).SerializeToString())

    cases = {
        "request spans": (
            lambda: encode_spans(server),
            lambda: otel_spans([s.to_readable() for s in server]).SerializeToString(),
        ),
        "SDK spans": (lambda: encode_spans(sdk), lambda: otel_spans(sdk).SerializeToString()),
        "log records": (lambda: encode_logs(items, resource, scope), otel_log_records),
    }
    print(f"batch {n}, {args.rounds} rounds, µs of CPU per record (best / median)")
    for name, (mine, theirs) in cases.items():
        a: list[float] = []
        b: list[float] = []
        for _ in range(args.rounds):
            a += per_record(mine, n, 1)
            b += per_record(theirs, n, 1)
        print(f"{name:14} tripod {min(a):5.1f} / {statistics.median(a):5.1f}   "
              f"OpenTelemetry {min(b):5.1f} / {statistics.median(b):5.1f}   "
              f"ratio {statistics.median(b) / statistics.median(a):.1f}x")  # fmt: skip
    tripod.shutdown()


if __name__ == "__main__":
    main()
