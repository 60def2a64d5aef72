"""A separate process using the real OpenTelemetry SDK and its OTLP/HTTP exporters.

``python otel_app.py URL`` sends a known trace, logs and metrics to URL, flushes, and prints a
JSON line with the ids it used so the test can look them up through tripod's query APIs.
"""

from __future__ import annotations

import json
import logging
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode


def main(url: str) -> None:
    resource = Resource.create(
        {"service.name": "checkout", "service.namespace": "shop",
         "service.instance.id": "pod-1", "deployment.environment": "test"}
    )  # fmt: skip
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(url + "/v1/traces")))
    tracer = tracer_provider.get_tracer("otel_app", "1.2.3")

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(url + "/v1/logs"))
    )
    log = logging.getLogger("otel_app")
    log.setLevel(logging.DEBUG)
    log.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=logger_provider))
    log.propagate = False

    reader = PeriodicExportingMetricReader(OTLPMetricExporter(url + "/v1/metrics"),
                                           export_interval_millis=600_000)  # fmt: skip
    exponential = View(
        instrument_name="rpc.client.duration",
        aggregation=ExponentialBucketHistogramAggregation(max_size=40),
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader], views=[exponential])
    meter = meter_provider.get_meter("otel_app", "1.2.3")
    requests = meter.create_counter("http.server.requests", unit="{request}")
    duration = meter.create_histogram(
        "http.server.request.duration",
        unit="s",
        explicit_bucket_boundaries_advisory=[0.005, 0.025, 0.1],
    )
    in_flight = meter.create_up_down_counter("http.server.active_requests", unit="{request}")
    memory = meter.create_gauge("process.memory.usage", unit="By")
    rpc = meter.create_histogram("rpc.client.duration", unit="ms")

    with tracer.start_as_current_span("GET /checkout", kind=trace.SpanKind.SERVER) as root:
        root.set_attribute("http.request.method", "GET")
        root.set_attribute("http.response.status_code", 500)
        with tracer.start_as_current_span("SELECT orders") as child:
            child.set_attribute("db.system", "postgresql")
            child.add_event("rows fetched", {"rows": 3})
            log.warning("slow query on orders", extra={"table": "orders"})
        root.set_status(Status(StatusCode.ERROR, "boom"))
        ctx = root.get_span_context()
        trace_id = f"{ctx.trace_id:032x}"
        root_id = f"{ctx.span_id:016x}"
        child_id = f"{child.get_span_context().span_id:016x}"
    log.info("checkout done")
    log.error("payment failed for order %s", 42)
    for code in ("200", "200", "500"):
        requests.add(1, {"http.response.status_code": code, "http.request.method": "GET"})
    for value in (0.004, 0.02, 0.3):
        duration.record(value, {"http.request.method": "GET"})
    in_flight.add(2)
    in_flight.add(-1)
    memory.set(1024)
    for value in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89):
        rpc.record(value)

    tracer_provider.shutdown()
    logger_provider.shutdown()
    meter_provider.shutdown()  # exports the metrics once
    print(json.dumps({"trace_id": trace_id, "root": root_id, "child": child_id}))


if __name__ == "__main__":
    main(sys.argv[1])
