"""A small real OTLP/HTTP receiver for SDK tests, and a server that records request headers.

Both bind 127.0.0.1 on a free port, run on a thread, and stop on ``close()`` (use as context
managers). The receiver decodes with opentelemetry-proto, so tests assert on what went over
the wire, not on SDK objects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def attr_value(value: Any) -> Any:
    """Python value of an OTLP AnyValue."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [attr_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: attr_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def attrs(items: Any) -> dict[str, Any]:
    return {kv.key: attr_value(kv.value) for kv in items}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.port = int(self.server_address[1])
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(5)

    # socketserver's own __exit__ only closes the socket: serve_forever() would go on polling
    # the closed descriptor, a thread spinning for the rest of the test session.
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OtlpReceiver(_Server):
    """Collects spans and log records posted to ``/v1/traces`` and ``/v1/logs``."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.logs: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/v1/traces":
                    receiver._traces(body)
                    out = ExportTraceServiceResponse().SerializeToString()
                elif self.path == "/v1/logs":
                    receiver._logs(body)
                    out = ExportLogsServiceResponse().SerializeToString()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        super().__init__(Handler)

    def _traces(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        with self.lock:
            for rs in request.resource_spans:
                resource = attrs(rs.resource.attributes)
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        self.spans.append(
                            {
                                "name": span.name,
                                "kind": span.kind,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_span_id": span.parent_span_id.hex(),
                                "attributes": attrs(span.attributes),
                                "status_code": span.status.code,
                                "events": [e.name for e in span.events],
                                "resource": resource,
                            }
                        )

    def _logs(self, body: bytes) -> None:
        request = ExportLogsServiceRequest.FromString(body)
        with self.lock:
            for rl in request.resource_logs:
                resource = attrs(rl.resource.attributes)
                for sl in rl.scope_logs:
                    for rec in sl.log_records:
                        self.logs.append(
                            {
                                "body": attr_value(rec.body),
                                "severity_text": rec.severity_text,
                                "trace_id": rec.trace_id.hex(),
                                "span_id": rec.span_id.hex(),
                                "attributes": attrs(rec.attributes),
                                "resource": resource,
                            }
                        )

    def wait_for(self, what: Callable[[OtlpReceiver], bool], timeout: float = 15.0) -> None:
        """Wait until ``what(self)`` holds (export is asynchronous); fail with what arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if what(self):
                    return
            time.sleep(0.05)
        msg = (
            f"condition not met in {timeout}s; spans={self.spans!r:.2000} logs={self.logs!r:.2000}"
        )
        raise AssertionError(msg)


class HeaderRecorder(_Server):
    """Answers every GET with 200 ``ok`` and keeps each request's headers (lower-case keys)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                recorder.requests.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        super().__init__(Handler)
