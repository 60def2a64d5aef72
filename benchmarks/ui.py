"""Time to first render of the UI's home page over a large store, in Debian's chromium.

Loads a `tripod serve` with ``--spans`` spans (OTLP protobuf, 10,000 per request, over 200
services) and ``--series`` series of ``http_server_request_duration_seconds`` (50 jobs x routes
x status codes x 14 buckets/sum/count, two samples each, via the import API), then opens ``/``
``--runs`` times in a fresh browser page and measures from navigation start until the services
table has its first row and until every figure is in (``aria-busy`` false): ``performance.now()``
in the page at those moments, the wall clock around it, and tripod serve's CPU time. The peer in
the same run is the same page over a small store (1,000 spans, 1,400 series), measured
interleaved with the large one.

    .venv/bin/python benchmarks/ui.py                       # 10^6 spans, 10^5 series
    .venv/bin/python benchmarks/ui.py --spans 100000 --series 14000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.procs import Proc, start_tripod_serve  # noqa: E402
from tests.ui.conftest import CHROMIUM_ARGS, chromium_path  # noqa: E402

BATCH = 10_000
SERVICES = 200
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf")


def load_spans(url: str, total: int) -> float:
    """Send ``total`` spans; returns seconds taken."""
    started = time.perf_counter()
    now = time.time_ns() - 60 * 10**9
    sent = 0
    with httpx.Client(timeout=120) as client:
        while sent < total:
            req = trace_pb.ExportTraceServiceRequest()
            n = min(BATCH, total - sent)
            per_service = max(1, n // 10)
            for first in range(0, n, per_service):
                rs = req.resource_spans.add()
                kv = rs.resource.attributes.add()
                kv.key = "service.name"
                kv.value.string_value = f"svc-{(sent + first) // per_service % SERVICES}"
                ss = rs.scope_spans.add()
                for i in range(first, min(first + per_service, n)):
                    k = sent + i
                    span = ss.spans.add()
                    span.trace_id = (k // 10).to_bytes(16, "big")
                    span.span_id = (k + 1).to_bytes(8, "big")
                    if k % 10:
                        span.parent_span_id = (k // 10 * 10 + 1).to_bytes(8, "big")
                    span.name = f"GET /route/{k % 25}"
                    span.kind = 2
                    span.start_time_unix_nano = now + k * 1000
                    span.end_time_unix_nano = now + k * 1000 + 2_000_000
            response = client.post(url + "/v1/traces", content=req.SerializeToString(),
                                   headers={"Content-Type": "application/x-protobuf"})  # fmt: skip
            response.raise_for_status()
            sent += n
    return time.perf_counter() - started


def load_series(url: str, total: int) -> float:
    """``total`` series with two samples each (a minute apart); returns seconds taken."""
    started = time.perf_counter()
    now_ms = int(time.time() * 1000)
    per_combo = len(BUCKETS) + 2
    combos = max(1, total // per_combo)
    lines: list[str] = []
    name = "http_server_request_duration_seconds"
    with httpx.Client(timeout=300) as client:

        def flush() -> None:
            if lines:
                body = "\n".join(lines) + "\n"
                client.post(url + "/api/v1/import/prometheus", content=body).raise_for_status()
                lines.clear()

        statuses = ("200", "404", "500", "503", "201")
        for c in range(combos):
            job, route, status = c % 50, c // 50 % 25, statuses[c // 1250 % 5]
            labels = (
                f'job="job-{job}",http_route="/route/{route}-{c // 6250}",'
                f'http_response_status_code="{status}"'
            )
            for step, ts in enumerate((now_ms - 60_000, now_ms)):
                count = 100 * (step + 1)
                for le in BUCKETS:
                    lines.append(f'{name}_bucket{{{labels},le="{le}"}} {count} {ts}')
                lines.append(f"{name}_count{{{labels}}} {count} {ts}")
                lines.append(f"{name}_sum{{{labels}}} {count * 0.05} {ts}")
            if len(lines) >= 40_000:
                flush()
        flush()
    return time.perf_counter() - started


def cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_render(page: Page, url: str) -> tuple[float, float, float]:
    """ms from navigation start (in the page) until the services table has its first row, and
    until every figure is in (``aria-busy`` false); and the wall-clock ms of the latter."""
    started = time.perf_counter()
    page.goto(url + "/")
    page.wait_for_selector("table.home-services tbody tr", timeout=120_000)
    first = float(page.evaluate("performance.now()"))
    page.wait_for_selector('table.home-services[aria-busy="false"]', timeout=120_000)
    complete = float(page.evaluate("performance.now()"))
    return first, complete, (time.perf_counter() - started) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        servers: dict[str, Proc] = {}
        sizes = {"large": (args.spans, args.series), "small": (1_000, 1_400)}
        try:
            for label, (spans, series) in sizes.items():
                config = Path(tmp) / f"{label}.yaml"
                config.write_text(f"limits:\n  max_series_per_metric: {max(series * 2, 10_000)}\n")
                proc = start_tripod_serve(Path(tmp) / label / "data", "--config", str(config))
                servers[label] = proc
                cpu0 = cpu_s(proc.proc.pid)
                span_s = load_spans(proc.url, spans)
                series_s = load_series(proc.url, series)
                cpu = cpu_s(proc.proc.pid) - cpu0
                print(f"{label}: {spans:,} spans loaded in {span_s:.1f} s, {series:,} series in "
                      f"{series_s:.1f} s (tripod serve CPU {cpu:.1f} s)")  # fmt: skip
            results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in servers}
            serve_cpu = dict.fromkeys(servers, 0.0)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
                print(f"chromium {browser.version}")
                for run in range(args.runs + 1):  # the first round warms caches: not counted
                    for label, proc in servers.items():
                        page = browser.new_page(viewport={"width": 1400, "height": 900})
                        before = cpu_s(proc.proc.pid)
                        measured = first_render(page, proc.url)
                        page.close()
                        if run:
                            results[label].append(measured)
                            serve_cpu[label] += cpu_s(proc.proc.pid) - before
                browser.close()
        finally:
            for proc in servers.values():
                proc.stop()
    medians = {}
    for label, rows in results.items():
        first = statistics.median(r[0] for r in rows)
        complete = statistics.median(r[1] for r in rows)
        wall = statistics.median(r[2] for r in rows)
        medians[label] = complete
        cpu_ms = serve_cpu[label] / len(rows) * 1000
        print(f"home, {label} store: first row {first:.0f} ms, every figure {complete:.0f} ms "
              f"(median in page; {wall:.0f} ms wall; tripod serve CPU {cpu_ms:.0f} ms per "
              f"render), runs {[round(r[1]) for r in rows]}")  # fmt: skip
    print(f"ratio large/small: {medians['large'] / medians['small']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
