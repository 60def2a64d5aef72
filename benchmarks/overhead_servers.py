"""The served side of ``request_overhead.py``: apps for real servers, a receiver, a load driver.

- ``make_asgi()`` / ``make_wsgi()`` build the variant named by ``BENCH_VARIANT`` (``bare``,
  ``tripod``, ``usual``) for ``uvicorn --factory`` and gunicorn. Both stacks read the same
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` and export with their defaults: tripod its spans and access log
  records; the usual stack (OpenTelemetry's ASGI/WSGI middleware, the SDK's
  ``BatchSpanProcessor`` + ``OTLPSpanExporter``, a prometheus_client histogram and a structlog
  JSON access line) its spans.
- ``python overhead_servers.py receiver PORT``: an OTLP/HTTP receiver that reads every body and
  answers 200; ``GET /stats`` gives requests and bytes per path.
- ``python overhead_servers.py load URL N``: N keep-alive GETs one after another from this
  separate process; prints the mean wall-clock latency in µs.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

ROUTE = "/items/{item_id}"


def _usual_provider() -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "bench-usual"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def _usual_tools() -> tuple[Any, Any]:
    import prometheus_client
    import structlog

    hist = prometheus_client.Histogram(
        "http_request_duration_seconds", "duration", ["method", "route", "status"]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    return hist, structlog.get_logger("access")


def make_asgi() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def item(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route(ROUTE, item)])
    variant = os.environ["BENCH_VARIANT"]
    if variant == "tripod":
        import tripod

        tripod.init(service_name="bench-tripod")
        return tripod.instrument(app)
    if variant == "bare":
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    hist, access = _usual_tools()

    async def prom(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            duration = time.perf_counter() - start
            hist.labels(scope["method"], route, status).observe(duration)
            access.info("request", method=scope["method"], route=route, status=status,
                        duration_ms=duration * 1000)  # fmt: skip

    return OpenTelemetryMiddleware(prom, tracer_provider=_usual_provider())


def make_wsgi() -> Any:
    from flask import Flask, request

    app = Flask("bench")

    @app.get("/items/<item_id>")
    def get_item(item_id: str) -> str:
        return "ok"

    variant = os.environ["BENCH_VARIANT"]
    if variant == "tripod":
        import tripod

        tripod.init(service_name="bench-tripod")
        return tripod.instrument(app)
    if variant == "bare":
        return app
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

    hist, access = _usual_tools()

    @app.before_request
    def _route() -> None:
        if request.url_rule is not None:
            request.environ["bench.route"] = request.url_rule.rule

    inner = app.wsgi_app

    def prom(environ: Any, start_response: Any) -> Any:
        start = time.perf_counter()
        status = [500]

        def sr(s: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = int(s[:3])
            return start_response(s, headers, exc_info)

        try:
            return inner(environ, sr)
        finally:
            rule = environ.get("bench.route", "unmatched")
            duration = time.perf_counter() - start
            hist.labels(environ["REQUEST_METHOD"], rule, status[0]).observe(duration)
            access.info("request", method=environ["REQUEST_METHOD"], route=rule,
                        status=status[0], duration_ms=duration * 1000)  # fmt: skip

    app.wsgi_app = OpenTelemetryMiddleware(prom, tracer_provider=_usual_provider())  # type: ignore[method-assign]
    return app


def receiver(port: int) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    stats: dict[str, list[int]] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            entry = stats.setdefault(self.path, [0, 0])
            entry[0] += 1
            entry[1] += len(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            data = json.dumps(stats).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def load(url: str, n: int) -> None:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    took = 0.0
    for i in range(n):
        start = time.perf_counter()
        conn.request("GET", f"/items/{i % 100}", headers={"User-Agent": "bench"})
        response = conn.getresponse()
        response.read()
        took += time.perf_counter() - start
        if response.status != 200:
            raise SystemExit(f"{url}: status {response.status}")
    conn.close()
    print(f"{took / n * 1e6:.1f}")


if __name__ == "__main__":
    if sys.argv[1] == "receiver":
        receiver(int(sys.argv[2]))
    elif sys.argv[1] == "load":
        load(sys.argv[2], int(sys.argv[3]))
