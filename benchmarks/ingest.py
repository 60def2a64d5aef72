"""Ingest throughput of a real `tripod serve` over loopback, and what the data costs on disk.

Run: ``.venv/bin/python benchmarks/ingest.py [--quick] [--only spans|logs|samples]``. Starts
`tripod serve` on a free port with a temporary data directory (removed at the end) and prints:

- spans/s over OTLP/HTTP protobuf (1,000 spans per request, 2 concurrent senders);
- log records/s over OTLP/HTTP protobuf (1,000 records per request, 2 senders);
- samples/s through ``POST /api/v1/import/prometheus`` (text with timestamps, 100,000 samples
  per request, 2 senders);

The senders are threads in this process, so on 2 cores they share the CPU with the server:
the figures are for the whole loop on one machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_pb
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.helpers.procs import free_port  # noqa: E402

PB = {"Content-Type": "application/x-protobuf"}


def start_server(data: Path, src: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """A `tripod serve` on a free port (``src``: another checkout's ``src`` directory), ready."""
    port = free_port()
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tripod", "serve", "--data-dir", str(data), "--port", str(port),
         "--retention-time", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("tripod serve did not start")


def span_request(batch: int, n: int = 1000) -> bytes:
    req = trace_pb.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    for key, value in (("service.name", "bench"), ("service.instance.id", "i-1")):
        kv = rs.resource.attributes.add()
        kv.key, kv.value.string_value = key, value
    spans = rs.scope_spans.add().spans
    now = time.time_ns()
    for i in range(n):
        span = spans.add()
        span.trace_id = os.urandom(16)
        span.span_id = os.urandom(8)
        if i % 4:
            span.parent_span_id = os.urandom(8)
        span.name = f"GET /api/items/{i % 20}"
        span.kind = 2  # type: ignore[assignment]
        span.start_time_unix_nano = now + i * 1000
        span.end_time_unix_nano = now + i * 1000 + 250_000
        for key, value in (("http.request.method", "GET"), ("url.path", f"/api/items/{i}"),
                           ("http.route", "/api/items/{id}")):  # fmt: skip
            kv = span.attributes.add()
            kv.key, kv.value.string_value = key, value
        kv = span.attributes.add()
        kv.key, kv.value.int_value = "http.response.status_code", 200
    return req.SerializeToString()


def log_request(batch: int, n: int = 1000) -> bytes:
    req = logs_pb.ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    kv = rl.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "bench"
    records = rl.scope_logs.add().log_records
    now = time.time_ns()
    for i in range(n):
        rec = records.add()
        rec.time_unix_nano = now + i
        rec.severity_number = 9  # type: ignore[assignment]
        rec.severity_text = "INFO"
        rec.body.string_value = f"request {batch}-{i} handled in {i % 97} ms"
        rec.trace_id = os.urandom(16)
        rec.span_id = os.urandom(8)
        kv = rec.attributes.add()
        kv.key, kv.value.string_value = "logger", "app.requests"
    return req.SerializeToString()


def import_body(batch: int, series: int = 5_000, points: int = 20) -> bytes:
    """Body ``batch``: sender ``batch % 2``'s own 5,000 series, the next 20 scrapes of them."""
    sender, step = batch % 2, batch // 2
    lines = []
    for p in range(points):
        ts = 1_700_000_000_000 + (step * points + p) * 15_000
        for s in range(series):
            value = (step * points + p) * 3 + s % 7
            labels = (f'job="api-{sender}",instance="10.0.{s // 250}.{s % 250}:9100",'
                      f'code="{200 + s % 5}",path="/p{s % 40}"')  # fmt: skip
            lines.append(f"bench_requests_total{{{labels}}} {value} {ts}\n")
    return "".join(lines).encode()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) the process has used: a figure load cannot skew."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(url: str, path: str, bodies: list[bytes], headers: dict[str, str], per_body: int) -> float:
    """Items per second posting ``bodies`` with 2 threads (worker w sends, in order,
    the bodies whose index is w modulo 2)."""
    errors: list[str] = []

    def worker(mine: list[bytes]) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            for body in mine:
                r = client.post(path, content=body, headers=headers)
                if r.status_code >= 300:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=worker, args=(bodies[w::2],)) for w in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit(f"{path}: {errors[0]}")
    return len(bodies) * per_body / elapsed


def measure(name: str, make: Callable[[int], bytes], count: int) -> list[bytes]:
    bodies = [make(i) for i in range(count)]
    print(f"  built {count} {name} bodies ({sum(map(len, bodies)) / count / 1e3:.0f} kB each)")
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer requests (smoke run)")
    parser.add_argument("--only", choices=["spans", "logs", "samples"], help="one phase")
    args = parser.parse_args()
    scale = 1 if args.quick else 5
    tmp = Path(tempfile.mkdtemp(prefix="tripod-bench-"))
    try:
        measure_all(tmp, scale, args.only)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure_all(tmp: Path, scale: int, only: str | None = None) -> None:
    proc, url = start_server(tmp / "data")
    try:
        print(f"tripod serve at {url}, data in {tmp}")
        phases: list[tuple[str, str, Callable[[int], bytes], int, dict[str, str], int]] = [
            ("spans", "/v1/traces", span_request, 20 * scale, PB, 1000),
            ("logs", "/v1/logs", log_request, 20 * scale, PB, 1000),
            ("samples", "/api/v1/import/prometheus", import_body, 4 * scale, {}, 100_000),
        ]  # the first 2 import bodies create the series
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        for name, path, make, count, headers, per_body in phases:
            if only and name != only:
                continue
            bodies = measure(name, make, count)
            cpu, rss = cpu_seconds(proc.pid), rss_mb(proc.pid)
            half = len(bodies) // 2
            rate = run(url, path, bodies[:half], headers, per_body)
            rss_half = rss_mb(proc.pid)
            rate = (rate + run(url, path, bodies[half:], headers, per_body)) / 2
            used = cpu_seconds(proc.pid) - cpu
            print(f"{name}/s via {path} ({per_body:,}/request): {rate:,.0f} wall-clock; "
                  f"{count * per_body / used:,.0f} per server CPU-second; server RSS "
                  f"{rss:.0f} -> {rss_half:.0f} -> {rss_mb(proc.pid):.0f} MB")  # fmt: skip
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    size = (tmp / "data" / "tripod.duckdb").stat().st_size
    print(f"database file after the run: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
