"""Everything ``request_overhead.py`` runs besides its in-process loop: the apps, the usual
stack, an OTLP receiver, the load driver, and starting and measuring the real servers.

- ``starlette_app()`` / ``flask_app()`` / ``plain_wsgi_app``: the bare apps (one route);
  ``PromASGI`` / ``PromWSGI``: what teams write next to OpenTelemetry's middleware (a
  prometheus_client histogram and a structlog JSON access line). The in-process figure and the
  served one use the same apps and the same usual stack.
- ``make_asgi()`` / ``make_wsgi()`` build the variant named by ``BENCH_VARIANT`` (``bare``,
  ``tripod``, ``usual``) for ``uvicorn --factory`` and gunicorn. Both stacks read the same
  ``OTEL_EXPORTER_OTLP_ENDPOINT`` and export with their defaults: tripod its spans and access log
  records; the usual stack (OpenTelemetry's ASGI/WSGI middleware, the SDK's
  ``BatchSpanProcessor`` + ``OTLPSpanExporter``, the histogram and the access line) its spans.
- ``run_real(n, rounds)``: the main figure (see ``request_overhead.py`` for the method).
- ``python overhead_servers.py receiver PORT``: an OTLP/HTTP receiver that reads every body and
  answers 200; ``GET /stats`` gives requests and bytes per path.
- ``python overhead_servers.py load URL``: a client in its own process; for each count N on
  stdin it sends N keep-alive GETs one after another and prints their total seconds.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROUTE = "/items/{item_id}"
VARIANTS = ("bare", "tripod", "usual")
_TICK = os.sysconf("SC_CLK_TCK")
EXPORT_SETTLE_S = 1.5  # both stacks export at least once a second (tripod 1 s, OTel 5 s max)


# --- the apps ----------------------------------------------------------------------------------


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def item(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route(ROUTE, item)])


def flask_app() -> Any:
    from flask import Flask

    app = Flask("bench")

    @app.get("/items/<item_id>")
    def get_item(item_id: str) -> str:
        return "ok"

    return app


def plain_wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The same route as a bare WSGI callable (no framework): it names its route template in the
    environ for both stacks, as a framework would."""
    environ["tripod.route"] = environ["bench.route"] = ROUTE
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


# --- the usual stack ---------------------------------------------------------------------------


def usual_tools(stream: Any = None, registry: Any = None) -> tuple[Any, Any]:
    """A prometheus_client histogram and a structlog JSON access logger writing to ``stream``."""
    import prometheus_client
    import structlog

    hist = prometheus_client.Histogram(
        "http_request_duration_seconds", "duration", ["method", "route", "status"],
        registry=registry if registry is not None else prometheus_client.REGISTRY,
    )  # fmt: skip
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=True,
    )
    return hist, structlog.get_logger("access")


class PromASGI:
    """What teams write: a prometheus_client histogram and a structlog access line."""

    def __init__(self, app: Any, hist: Any, access: Any) -> None:
        self.app = app
        self.hist = hist
        self.access = access

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            duration = time.perf_counter() - start
            self.hist.labels(scope["method"], route, status).observe(duration)
            self.access.info("request", method=scope["method"], route=route, status=status,
                             duration_ms=duration * 1000)  # fmt: skip


class PromWSGI:
    """The same around a WSGI app; the route comes from ``environ["bench.route"]``."""

    def __init__(self, app: Any, hist: Any, access: Any) -> None:
        self.app = app
        self.hist = hist
        self.access = access

    def __call__(self, environ: Any, start_response: Any) -> Any:
        start = time.perf_counter()
        status = [500]

        def sr(s: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = int(s[:3])
            return start_response(s, headers, exc_info)

        try:
            return self.app(environ, sr)
        finally:
            rule = environ.get("bench.route", "unmatched")
            duration = time.perf_counter() - start
            self.hist.labels(environ["REQUEST_METHOD"], rule, status[0]).observe(duration)
            self.access.info("request", method=environ["REQUEST_METHOD"], route=rule,
                             status=status[0], duration_ms=duration * 1000)  # fmt: skip


def flask_route_hook(app: Any) -> None:
    """The usual stack's way to learn Flask's route template (a ``before_request`` hook)."""
    from flask import request

    @app.before_request
    def _route() -> None:
        if request.url_rule is not None:
            request.environ["bench.route"] = request.url_rule.rule


# --- the served variants -----------------------------------------------------------------------


def _usual_provider() -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "bench-usual"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def make_asgi() -> Any:
    app = starlette_app()
    variant = os.environ["BENCH_VARIANT"]
    if variant == "tripod":
        import tripod

        tripod.init(service_name="bench-tripod")
        return tripod.instrument(app)
    if variant == "bare":
        return app
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(PromASGI(app, *usual_tools()), tracer_provider=_usual_provider())


def make_wsgi() -> Any:
    app = flask_app()
    variant = os.environ["BENCH_VARIANT"]
    if variant == "tripod":
        import tripod

        tripod.init(service_name="bench-tripod")
        return tripod.instrument(app)
    if variant == "bare":
        return app
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware

    flask_route_hook(app)
    app.wsgi_app = OpenTelemetryMiddleware(  # type: ignore[method-assign]
        PromWSGI(app.wsgi_app, *usual_tools()), tracer_provider=_usual_provider()
    )
    return app


# --- the receiver and the load driver (separate processes) ------------------------------------


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


def load(url: str) -> None:
    """Keep-alive GETs to ``url``: for each count N read from stdin, send N requests one after
    another and print their total wall-clock seconds (one persistent client per server)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    sent = 0
    for line in sys.stdin:
        n = int(line)
        took = 0.0
        for _ in range(n):
            start = time.perf_counter()
            try:
                conn.request("GET", f"/items/{sent % 100}", headers={"User-Agent": "bench"})
                response = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionError):
                # The server closed the idle keep-alive connection between turns: reconnect
                # (not timed) and send the request again.
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                conn.connect()
                start = time.perf_counter()
                conn.request("GET", f"/items/{sent % 100}", headers={"User-Agent": "bench"})
                response = conn.getresponse()
            response.read()
            took += time.perf_counter() - start
            sent += 1
            if response.status != 200:
                raise SystemExit(f"{url}: status {response.status}")
        print(f"{took!r}", flush=True)
    conn.close()


# --- starting the servers and measuring ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_cpu(root: int) -> float:
    """User + system CPU seconds of ``root`` and its descendants (from /proc)."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / _TICK
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += cpu.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def start_server(
    kind: str, variant: str, endpoint: str, base_src: str | None
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    # BENCH_TRIPOD_SRC: another checkout's src for every tripod variant; the variant
    # "tripod-base" takes --base-src (the same run measures before and after).
    src = base_src if variant == "tripod-base" else os.environ.get("BENCH_TRIPOD_SRC", "")
    path = os.pathsep.join(p for p in (str(HERE), src or "") if p)
    env = {**os.environ, "BENCH_VARIANT": variant.removesuffix("-base"), "PYTHONPATH": path,
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"{endpoint}/{kind}-{variant}"}  # fmt: skip
    if kind == "asgi":
        argv = [sys.executable, "-m", "uvicorn", "--factory", "overhead_servers:make_asgi",
                "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                "--log-level", "warning"]  # fmt: skip
    else:
        # One worker shares nothing: tripod's multi-process metric files (on by default under
        # gunicorn) would be measured against a prometheus_client in single-process mode.
        # docs/benchmarks.md's multi-process section compares the -w 4 setups. --keep-alive 60:
        # the client's connection stays open across the other variants' turns.
        env["TRIPOD_MULTIPROC_DIR"] = "off"
        argv = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "2", "-w", "1",
                "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--keep-alive", "60",
                "overhead_servers:make_wsgi()"]  # fmt: skip
    proc = subprocess.Popen(argv, cwd=HERE, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/items/1")
    return proc, url


class Driver:
    """A persistent client process for one server (see :func:`load`)."""

    def __init__(self, url: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "overhead_servers.py"), "load", url],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def send(self, n: int) -> float:
        """Total wall-clock seconds of ``n`` sequential keep-alive GETs."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(f"{n}\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(20)


def _fmt(values: list[float]) -> str:
    return f"{min(values):.0f} / {statistics.median(values):.0f}"


def measure(
    kind: str, endpoint: str, n: int, rounds: int, chunk: int, base_src: str | None
) -> None:
    """Per round, every variant gets ``n`` requests in chunks of ``chunk``, the variants taking
    turns chunk by chunk (rotating order), so a change of the machine's load lands on all of
    them alike; a variant's server CPU is its process tree's CPU over the whole round (export
    threads included, read after the exporters' interval) divided by ``n``."""
    variants = VARIANTS + (("tripod-base",) if base_src else ())
    servers = {v: start_server(kind, v, endpoint, base_src) for v in variants}
    drivers = {v: Driver(url) for v, (_proc, url) in servers.items()}
    try:
        for v in variants:  # warm-up
            drivers[v].send(max(200, n // 5))
        time.sleep(EXPORT_SETTLE_S)
        wall: dict[str, list[float]] = {v: [] for v in variants}
        cpu: dict[str, list[float]] = {v: [] for v in variants}
        for _ in range(rounds):
            before = {v: tree_cpu(servers[v][0].pid) for v in variants}
            took = dict.fromkeys(variants, 0.0)
            done, turn = 0, 0
            while done < n:
                size = min(chunk, n - done)
                order = variants[turn % len(variants) :] + variants[: turn % len(variants)]
                for v in order:
                    took[v] += drivers[v].send(size)
                done += size
                turn += 1
            time.sleep(EXPORT_SETTLE_S)
            for v in variants:
                wall[v].append(took[v] / n * 1e6)
                cpu[v].append((tree_cpu(servers[v][0].pid) - before[v]) / n * 1e6)
    finally:
        for driver in drivers.values():
            driver.close()
        for proc, _url in servers.values():
            proc.terminate()
        for proc, _url in servers.values():
            proc.wait(20)
    for label, data in (("wall-clock latency", wall), ("server CPU", cpu)):
        added_u = [u - b for u, b in zip(data["usual"], data["bare"], strict=True)]
        med = {v: statistics.median(data[v]) for v in variants}
        figures = ", ".join(f"{v} {_fmt(data[v])}" for v in variants)
        print(f"{kind} {label} µs/request (min / median of {rounds} rounds): {figures}")
        for v in variants[1:]:
            if v == "usual":
                continue
            added = [t - b for t, b in zip(data[v], data["bare"], strict=True)]
            ratios = [t / u for t, u in zip(added, added_u, strict=True) if u > 0]
            of_medians = (med[v] - med["bare"]) / (med["usual"] - med["bare"])
            print(f"  {v}: added {_fmt(added)} vs usual {_fmt(added_u)}; ratio per round "
                  f"min {min(ratios):.2f} median {statistics.median(ratios):.2f}, of the "
                  f"medians {of_medians:.2f} (target <= 0.20)")  # fmt: skip


def run_real(n: int, rounds: int, chunk: int = 200, base_src: str | None = None) -> None:
    port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, str(HERE / "overhead_servers.py"), "receiver", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{endpoint}/stats")
        print(f"{n} requests per round in chunks of {chunk}, load average "
              f"{os.getloadavg()[0]:.1f}")  # fmt: skip
        measure("asgi", endpoint, n, rounds, chunk, base_src)
        measure("wsgi", endpoint, n, rounds, chunk, base_src)
        with urllib.request.urlopen(f"{endpoint}/stats") as response:
            stats = json.load(response)
        for path, (calls, size) in sorted(stats.items()):
            print(f"receiver {path}: {calls} requests, {size / 1e6:.1f} MB")
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        receiver.terminate()
        receiver.wait(10)


if __name__ == "__main__":
    if sys.argv[1] == "receiver":
        receiver(int(sys.argv[2]))
    elif sys.argv[1] == "load":
        load(sys.argv[2])
