"""Per-request cost: bare app vs tripod vs the usual stack, for ASGI (Starlette) and WSGI (Flask).

Run: ``.venv/bin/python benchmarks/request_overhead.py [--requests N] [--rounds R]``
(the main figure, about 3-4 min) and ``... --inprocess`` (the older secondary figure).

**Main figure, the way users run.** Each variant is a real server in its own process (uvicorn for
Starlette, gunicorn's gthread worker for Flask) with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set to a real
local OTLP/HTTP receiver (another process that reads every body); the
load comes from a separate process: N keep-alive GETs one after another. Both stacks export with
their defaults: tripod (``tripod.init()`` + ``tripod.instrument(app)``: server span, RED
metrics, JSON access log, correlation id) its spans and its access log records; the usual stack
(OpenTelemetry's ASGI/WSGI middleware + the SDK's ``BatchSpanProcessor`` and
``OTLPSpanExporter`` + a prometheus_client histogram + a structlog JSON access line) its spans.
Log lines of every server go to /dev/null. Per round and variant: mean wall-clock latency seen
by the client, and the server's CPU (all its threads and processes, export included, read from
/proc after the exporters' interval has passed) per request. Rounds are interleaved and the
variant order rotates. ratio = tripod's added latency / the usual stack's added latency over
the bare app, per round; min and median over rounds are printed.

The apps, the usual stack, the receiver, the load driver and the server start-up live in
``overhead_servers.py`` (one helper module, shared by both figures).

**Secondary (``--inprocess``).** The app is called in-process with a minimal scope/environ, spans
go to an exporter that discards them, and the figure is the process's CPU time: what the
figure in docs/benchmarks.md was before issue 13. It never pays for encoding and sending.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import prometheus_client
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware as OtelASGI
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware as OtelWSGI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import tripod
from tripod.sdk import tracing

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.overhead_servers import (
    PromASGI,
    PromWSGI,
    flask_app,
    flask_route_hook,
    plain_wsgi_app,
    run_real,
    starlette_app,
    usual_tools,
)

DEVNULL = open(os.devnull, "w")  # noqa: SIM115


class Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


# --- drivers -----------------------------------------------------------------------------------

SCOPE = {
    "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
    "scheme": "http", "path": "/items/42", "raw_path": b"/items/42", "query_string": b"",
    "root_path": "", "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench"), (b"accept", b"*/*")],
}  # fmt: skip


def asgi_runner(app: Any, n: int) -> Callable[[], float]:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    async def loop() -> float:
        start = time.process_time()
        for _ in range(n):
            await app(dict(SCOPE, headers=list(SCOPE["headers"])), receive, send)
        return (time.process_time() - start) / n * 1e6

    return lambda: asyncio.run(loop())


ENVIRON = {
    "REQUEST_METHOD": "GET", "PATH_INFO": "/items/42", "SCRIPT_NAME": "", "QUERY_STRING": "",
    "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "127.0.0.1:8000", "HTTP_USER_AGENT": "bench", "REMOTE_ADDR": "127.0.0.1",
    "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.multithread": False,
    "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.errors": sys.stderr,
}  # fmt: skip


def wsgi_runner(app: Any, n: int) -> Callable[[], float]:
    import io

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        return None

    def loop() -> float:
        start = time.process_time()
        for _ in range(n):
            environ = dict(ENVIRON)
            environ["wsgi.input"] = io.BytesIO(b"")
            result = app(environ, start_response)
            for _chunk in result:
                pass
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return (time.process_time() - start) / n * 1e6

    return loop


def measure(variants: dict[str, Callable[[], float]], rounds: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for run in variants.values():  # warm-up
        run()
    for _ in range(rounds):
        for name, run in variants.items():
            samples[name].append(run())
    return {name: statistics.median(values) for name, values in samples.items()}


def span_floor(n: int) -> float:
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard()))
    tracer = provider.get_tracer("floor")
    start = time.process_time()
    for _ in range(n):
        tracer.start_span("GET /items/{item_id}").end()
    took = (time.process_time() - start) / n * 1e6
    provider.shutdown()
    return took


def server_span_cost(n: int) -> float:
    """tripod's per-request server span (same sampler and ids as the SDK), start+end."""
    factory = tracing.server_spans()
    assert factory is not None
    start = time.process_time()
    for _ in range(n):
        factory.start("GET", None, {"url.path": "/items/42"}).end()
    return (time.process_time() - start) / n * 1e6


def report(kind: str, result: dict[str, float]) -> None:
    bare, trip, usual = result["bare"], result["tripod"], result["usual"]
    print(f"{kind}: bare {bare:.1f} µs/request, tripod {trip:.1f}, usual stack {usual:.1f}")
    added_t, added_u = trip - bare, usual - bare
    print(f"{kind}: added by tripod {added_t:.1f} µs, by the usual stack {added_u:.1f} µs, "
          f"ratio {added_t / added_u:.2f} (target <= 0.20)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--inprocess", action="store_true", help="the older in-process figure")
    parser.add_argument("--chunk", type=int, default=200, help="requests per turn (served)")
    parser.add_argument(
        "--base-src", default=None,
        help="another checkout's src: adds the variant tripod-base to the same run",
    )  # fmt: skip
    args = parser.parse_args()
    if not args.inprocess:
        run_real(args.requests or 2000, args.rounds, args.chunk, args.base_src)
        return
    n = args.requests or 5000

    real_stderr = sys.stderr
    sys.stderr = DEVNULL  # tripod's JSON lines go to /dev/null like the usual stack's
    tripod.init(service_name="bench")
    sys.stderr = real_stderr
    tracing.add_exporter(Discard())

    usual_provider = TracerProvider()
    usual_provider.add_span_processor(BatchSpanProcessor(Discard()))

    tools = usual_tools(DEVNULL, prometheus_client.CollectorRegistry())
    asgi = measure(
        {
            "bare": asgi_runner(starlette_app(), n),
            "tripod": asgi_runner(tripod.instrument(starlette_app()), n),
            "usual": asgi_runner(
                OtelASGI(PromASGI(starlette_app(), *tools), tracer_provider=usual_provider), n
            ),
        },
        args.rounds,
    )
    report("ASGI (Starlette)", asgi)

    fa = flask_app()
    fu = flask_app()
    flask_route_hook(fu)
    fu.wsgi_app = OtelWSGI(PromWSGI(fu.wsgi_app, *tools), tracer_provider=usual_provider)
    wsgi = measure(
        {
            "bare": wsgi_runner(flask_app(), n),
            "tripod": wsgi_runner(tripod.instrument(fa), n),
            "usual": wsgi_runner(fu, n),
        },
        args.rounds,
    )
    report("WSGI (Flask)", wsgi)
    plain = measure(
        {
            "bare": wsgi_runner(plain_wsgi_app, n),
            "tripod": wsgi_runner(tripod.instrument(plain_wsgi_app), n),
            "usual": wsgi_runner(
                OtelWSGI(PromWSGI(plain_wsgi_app, *tools), tracer_provider=usual_provider), n
            ),
        },
        args.rounds,
    )
    report("WSGI (plain callable, no framework)", plain)
    print(f"floor: one OpenTelemetry SDK span (start+end, batch processor) {span_floor(n):.1f} µs")
    print(f"tripod's server span (start+end, bounded queue) {server_span_cost(n):.1f} µs")
    tripod.shutdown()
    usual_provider.shutdown()


if __name__ == "__main__":
    logging.getLogger().setLevel(logging.INFO)
    main()
