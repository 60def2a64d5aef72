"""Multi-process servers: tripod vs prometheus_client's multiprocess mode, same run.

1. /metrics scrape time after many worker deaths (default):
   .venv/bin/python benchmarks/multiprocess.py [--restarts 1000] [--series 20]
2. Per-request cost under real gunicorn with 4 sync workers (``--overhead``, about 2 min):
   .venv/bin/python benchmarks/multiprocess.py --overhead [--requests 2000] [--rounds 5]
   Three servers run side by side, each a Flask app under ``gunicorn -w 4``: bare; tripod
   (``tripod.init()`` + ``tripod.instrument(app)``, the multi-process directory found by
   itself); the usual stack (OpenTelemetry's WSGI middleware with the SDK's
   ``BatchSpanProcessor`` + ``OTLPSpanExporter``, a prometheus_client histogram in
   multiprocess mode served through ``MultiProcessCollector``, and a JSON access line). Both
   instrumented servers export spans to one local OTLP/HTTP receiver in this process
   (``OTEL_BSP_SCHEDULE_DELAY=200``). Per round, each server gets the same N GETs from 4
   client threads (the variant order rotates between rounds); the figures are the mean
   wall-clock time per request seen by the client and the CPU of the master and its workers
   (from /proc, after the exporters' interval) per request. ratio = tripod's added cost over
   bare / the usual stack's added cost over bare, per round; min and median are printed.

Scrape mode:

Each "worker" is a forked process that increments one counter series (of --series) and exits,
as under gunicorn ``--max-requests 1``. prometheus_client gets ``mark_process_dead`` for each
dead pid, as its docs ask (gunicorn's ``child_exit`` hook); tripod gets nothing (a scrape every
100 restarts folds the dead). Prints the first and last scrape time (best of 5), the files left
in the directory, and checks both totals equal the restarts + 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

_PROM = """
import os, sys, time
from prometheus_client import CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.parser import text_string_to_metric_families
restarts, series = int(sys.argv[1]), int(sys.argv[2])
counter = Counter("jobs", "Jobs.", ["s"])
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry)
def scrape():
    best = min(_timed() for _ in range(5))
    return best
def _timed():
    t = time.perf_counter(); generate_latest(registry); return time.perf_counter() - t
counter.labels("0").inc()
first = scrape()
for i in range(restarts):
    pid = os.fork()
    if pid == 0:
        counter.labels(str(i % series)).inc(); os._exit(0)
    os.waitpid(pid, 0)
    multiprocess.mark_process_dead(pid)
last = scrape()
text = generate_latest(registry).decode()
total = sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
            if s.name == "jobs_total")
print(first, last, len(os.listdir(os.environ["PROMETHEUS_MULTIPROC_DIR"])), total)
"""


def _tripod(directory: str, restarts: int, series: int) -> tuple[float, float, int, float]:
    from prometheus_client.parser import text_string_to_metric_families

    from tripod.sdk.metrics import MetricsRegistry
    from tripod.sdk.metrics._instruments import Counter
    from tripod.sdk.metrics._multiprocess import MultiProcessValueFactory

    factory = MultiProcessValueFactory(directory, process_metrics=False)
    registry = MetricsRegistry(factory=factory)
    counter = registry.register(lambda f: Counter("jobs", "Jobs.", ["s"], "", factory=f), Counter)

    def scrape() -> float:
        return min(_timed(lambda: registry.render(openmetrics=False)) for _ in range(5))

    counter.labels("0").inc()
    first = scrape()
    for i in range(restarts):
        pid = os.fork()
        if pid == 0:
            counter.labels(str(i % series)).inc()
            os._exit(0)
        os.waitpid(pid, 0)
        if i % 100 == 99:
            registry.render(openmetrics=False)
    last = scrape()
    text = registry.render(openmetrics=False).decode()
    total = sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "jobs_total"
    )
    return first, last, len(os.listdir(directory)), total


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def make_app(variant: str) -> Any:
    """The WSGI app gunicorn loads (``multiprocess:make_app('tripod')``), in each worker."""
    from flask import Flask

    app = Flask("bench")

    @app.get("/items/<item_id>")
    def get_item(item_id: str) -> str:
        return f"item {item_id}"

    if variant == "bare":
        return app
    if variant == "tripod":
        import tripod

        tripod.init(service_name="bench")
        return tripod.instrument(app)
    return _usual(app)


def _usual(app: Any) -> Any:
    import json

    import prometheus_client
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from prometheus_client import multiprocess

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    hist = prometheus_client.Histogram(
        "http_server_request_duration_seconds", "Request time.", ["method", "route", "status"]
    )
    out = sys.stdout

    def metrics(start_response: Any) -> list[bytes]:
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = prometheus_client.generate_latest(registry)
        start_response("200 OK", [("Content-Type", prometheus_client.CONTENT_TYPE_LATEST)])
        return [body]

    inner = app.wsgi_app

    def timed(environ: Any, start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/metrics":
            return metrics(start_response)
        start, status = time.perf_counter(), ["500"]

        def sr(code: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, exc_info)

        body = inner(environ, sr)
        took = time.perf_counter() - start
        hist.labels(environ["REQUEST_METHOD"], "/items/<item_id>", status[0]).observe(took)
        line = {"event": "access", "path": environ.get("PATH_INFO"), "status": status[0]}
        out.write(json.dumps({**line, "duration_ms": took * 1e3}) + "\n")
        return body

    app.wsgi_app = OpenTelemetryMiddleware(timed, tracer_provider=provider)
    return app


_RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def _cpu(master: int) -> float:
    """CPU seconds (user + system) of the master and its live workers."""
    pids = [master, *(int(p) for p in _read(f"/proc/{master}/task/{master}/children").split())]
    ticks = 0
    for pid in pids:
        fields = _read(f"/proc/{pid}/stat").rsplit(")", 1)[-1].split()
        ticks += int(fields[11]) + int(fields[12]) if fields else 0
    return ticks / os.sysconf("SC_CLK_TCK")


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


def _load(port: int, n: int, threads: int = 4) -> float:
    """Send n GETs from ``threads`` keep-alive clients; the wall-clock seconds it took."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor

    def client(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for i in range(count):
            try:
                conn.request("GET", f"/items/{i % 50}")
                response = conn.getresponse()
                response.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(client, [n // threads] * threads))
    return time.perf_counter() - start


def overhead(requests: int, rounds: int) -> None:
    import statistics

    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    receiver_port = _free_port()  # a local OTLP/HTTP endpoint in its own process
    receiver = subprocess.Popen([sys.executable, "-c", _RECEIVER, str(receiver_port)])
    endpoint = f"http://127.0.0.1:{receiver_port}"
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for variant in ("bare", "tripod", "usual"):
                port = _free_port()
                prom_dir = os.path.join(tmp, f"prom-{variant}")
                os.mkdir(prom_dir)
                env = {**os.environ, "PYTHONPATH": os.pathsep.join([here, root]),
                       "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200",
                       "TMPDIR": tmp, "TRIPOD_MULTIPROC_DIR": ""}  # fmt: skip
                if variant == "usual":
                    env["PROMETHEUS_MULTIPROC_DIR"] = prom_dir
                argv = [sys.executable, "-m", "gunicorn", f"multiprocess:make_app('{variant}')",
                        "--bind", f"127.0.0.1:{port}", "--workers", "4",
                        "--log-level", "warning"]  # fmt: skip
                proc = subprocess.Popen(
                    argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                servers[variant] = (proc, port)
            for proc, port in servers.values():
                _wait_up(port, proc)
                _load(port, 200)  # warm-up: every worker imported and served
            tripod_url = f"http://127.0.0.1:{servers['tripod'][1]}/metrics"
            before = _counted(tripod_url)
            figures: dict[str, list[tuple[float, float]]] = {v: [] for v in servers}
            order = list(servers)
            for r in range(rounds):
                for variant in order[r % 3 :] + order[: r % 3]:
                    proc, port = servers[variant]
                    cpu = _cpu(proc.pid)
                    wall = _load(port, requests)
                    time.sleep(0.6)  # the exporters' interval: their CPU counts too
                    figures[variant].append((wall / requests, (_cpu(proc.pid) - cpu) / requests))
            counted = _counted(tripod_url) - before
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(30)
            receiver.terminate()
            receiver.wait(30)
    print(f"gunicorn -w 4 (sync), Flask, {requests} GETs x {rounds} rounds, 4 client threads")
    print(f"tripod /metrics counted {counted:.0f} of {rounds * requests} requests sent")
    for variant, rows in figures.items():
        per_round = "  ".join(f"{w * 1e6:.0f}/{c * 1e6:.0f}" for w, c in rows)
        print(f"  {variant:7s} per round, wall/CPU us per request: {per_round}")
    for variant, rows in figures.items():
        wall = statistics.median(w for w, _ in rows)
        cpu = statistics.median(c for _, c in rows)
        print(f"{variant:7s} wall {wall * 1e6:7.0f} us/req  CPU {cpu * 1e6:7.0f} us/req (median)")
    for i, what in ((0, "wall"), (1, "CPU")):
        ratios = [
            (t[i] - b[i]) / (u[i] - b[i])
            for b, t, u in zip(figures["bare"], figures["tripod"], figures["usual"], strict=True)
            if u[i] > b[i]
        ]
        if ratios:
            print(
                f"ratio {what} (tripod added / usual added): min {min(ratios):.2f} "
                f"median {statistics.median(ratios):.2f} over {len(ratios)} rounds"
            )


def _counted(url: str) -> float:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:
        text = response.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("http_server_request_duration_seconds_count")
    )


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"gunicorn on {port} exited {proc.returncode}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/items/0", timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    msg = f"gunicorn on {port} did not answer"
    raise RuntimeError(msg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--restarts", type=int, default=1000)
    parser.add_argument("--series", type=int, default=20)
    parser.add_argument("--overhead", action="store_true", help="per-request cost, gunicorn -w 4")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.overhead:
        overhead(args.requests, args.rounds)
        return
    with tempfile.TemporaryDirectory() as ours, tempfile.TemporaryDirectory() as theirs:
        first, last, files, total = _tripod(ours, args.restarts, args.series)
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": theirs}
        done = subprocess.run(
            [sys.executable, "-c", _PROM, str(args.restarts), str(args.series)],
            env=env, capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
        p_first, p_last, p_files, p_total = (float(x) for x in done.stdout.split())
    expected = args.restarts + 1
    assert total == expected, (total, expected)
    assert p_total == expected, (p_total, expected)
    print(f"{args.restarts} worker restarts, {args.series} series; scrape time best of 5")
    print(
        f"tripod            first {first * 1e3:7.2f} ms  last {last * 1e3:7.2f} ms  files {files}"
    )
    print(
        f"prometheus_client first {p_first * 1e3:7.2f} ms  last {p_last * 1e3:7.2f} ms  "
        f"files {int(p_files)}"
    )


if __name__ == "__main__":
    main()
