"""Sustained ingest for the kill -9 test: ``python durable_sender.py URL ACK_FILE``.

Sends batches of samples (import endpoint), spans and log records (OTLP/HTTP protobuf) until it
is killed or the server goes away, and appends ``<kind> <batch>`` to ACK_FILE after each 2xx.
"""

from __future__ import annotations

import sys
import time

import httpx
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

PB = {"Content-Type": "application/x-protobuf"}


def samples_body(batch: int, now_ms: int) -> str:
    return "".join(f'durable{{batch="{batch}",i="{i}"}} {i} {now_ms}\n' for i in range(200))


def spans_body(batch: int, now_ns: int) -> bytes:
    req = trace_pb.ExportTraceServiceRequest()
    spans = req.resource_spans.add().scope_spans.add().spans
    for i in range(50):
        span = spans.add()
        span.trace_id = batch.to_bytes(8, "big") + b"\x00" * 7 + b"\x01"
        span.span_id = (i + 1).to_bytes(8, "big")
        span.name = f"op-{i}"
        span.start_time_unix_nano = now_ns
        span.end_time_unix_nano = now_ns + 1000
    return req.SerializeToString()


def logs_body(batch: int, now_ns: int) -> bytes:
    req = logs_pb.ExportLogsServiceRequest()
    records = req.resource_logs.add().scope_logs.add().log_records
    for i in range(50):
        rec = records.add()
        rec.time_unix_nano = now_ns
        rec.body.string_value = f"durable batch {batch} record {i}"
    return req.SerializeToString()


def main(url: str, ack_path: str) -> None:
    with httpx.Client(base_url=url, timeout=10.0) as client, open(ack_path, "a") as acks:
        batch = 0
        while True:
            batch += 1
            now_ns = time.time_ns()
            try:
                sent = [
                    ("samples", client.post("/api/v1/import/prometheus",
                                            content=samples_body(batch, now_ns // 1_000_000))),
                    ("spans", client.post("/v1/traces", content=spans_body(batch, now_ns),
                                          headers=PB)),
                    ("logs", client.post("/v1/logs", content=logs_body(batch, now_ns),
                                         headers=PB)),
                ]  # fmt: skip
            except httpx.HTTPError:
                return  # the server is gone
            for kind, response in sent:
                if response.status_code < 300:
                    acks.write(f"{kind} {batch}\n")
            acks.flush()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
