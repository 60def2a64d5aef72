"""The web UI's Home over 100,000 series: its API calls (tripod vs a real Prometheus 2.42 on the
same data, in the same run) and its first render in Chromium.

Data (seeded): the SDK's request histogram, ``http_server_request_duration_seconds`` (the
catalog's 14 buckets + ``+Inf``, ``_count``, ``_sum``), for 20 jobs x 50 routes x 6 status
codes: 6,000 label sets, 102,000 series, over the last hour at 2-minute steps (3.2 M samples).
It is written once as OpenMetrics, backfilled into Prometheus with ``promtool tsdb
create-blocks-from openmetrics`` and imported into tripod through ``/api/v1/import/prometheus``.

Timed:
- API: the five calls Home makes at once (job label values; the rate as a 1 h range query at
  60 s, which is also the sparkline; the 5xx rate and p95 as instant queries; the alerts), sent
  concurrently as the browser does; wall clock until the last answer; then each call alone.
  Median of ``--runs`` rounds after a warm-up; each round times both servers, the first one
  alternating.
- Browser: Chromium (Debian's, through Playwright) opens ``/`` on tripod serve; time from
  navigation start until the table lists every service (first render: the names come from a
  fast label lookup) and until every figure is in (``aria-busy`` false). Median of ``--runs``
  fresh pages.
  Prometheus has no such page: there is no peer for this figure.

Home reads no spans, so the issue's "10^6 spans" do not change these numbers and are left out.

Run: ``.venv/bin/python benchmarks/ui_home.py [--runs 7] [--scale 1.0]``
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from benchmarks.promql import load_tripod  # noqa: E402
from tests.conformance.harness import create_blocks  # noqa: E402
from tests.helpers.procs import start_prometheus, start_tripod_serve  # noqa: E402

from tripod.catalog import HTTP_SERVER_REQUEST_DURATION, le_label  # noqa: E402

METRIC = HTTP_SERVER_REQUEST_DURATION.name
BOUNDS = HTTP_SERVER_REQUEST_DURATION.buckets or ()
CODES = ("200", "201", "204", "404", "500", "503")
STEP = 120
SPAN = 3600
RATE = f"sum by (job) (rate({METRIC}_count[5m]))"
ERRORS = f'sum by (job) (rate({METRIC}_count{{http_response_status_code=~"5.."}}[5m]))'
P95 = f"histogram_quantile(0.95, sum by (job, le) (rate({METRIC}_bucket[5m])))"


def _lines(name: str, labels: str, times: list[int], values: list[float]) -> str:
    return "".join(f"{name}{{{labels}}} {v:.6g} {t}\n" for t, v in zip(times, values, strict=True))


def write_data(path: Path, end: int, scale: float, rng: np.random.Generator) -> tuple[int, int]:
    """The histogram for jobs x routes x codes; returns (jobs, series)."""
    jobs = 20
    routes = max(1, round(50 * scale))
    times = np.arange(end - SPAN, end + 1, STEP).tolist()
    les = [le_label(b) for b in BOUNDS] + ["+Inf"]
    # each bucket holds a growing share of the requests (cumulative); +Inf holds them all
    shares = np.linspace(0.05, 1.0, len(les)) ** 0.5
    series = 0
    with path.open("w") as out:
        out.write(f"# HELP {METRIC} Duration of HTTP server requests.\n")
        out.write(f"# TYPE {METRIC} histogram\n")
        for j in range(jobs):
            for r in range(routes):
                for code in CODES:
                    base = f'job="svc-{j:02d}",http_route="/api/r{r:02d}",http_request_method="GET"'
                    base += f',http_response_status_code="{code}"'
                    weight = 20.0 if code == "200" else 1.0
                    count = np.cumsum(rng.poisson(weight * STEP / 10, len(times)))
                    for le, share in zip(les, shares, strict=True):
                        values = np.floor(count * share).tolist()
                        out.write(_lines(f"{METRIC}_bucket", f'{base},le="{le}"', times, values))
                    out.write(_lines(f"{METRIC}_count", base, times, count.tolist()))
                    out.write(_lines(f"{METRIC}_sum", base, times, (count * 0.12).tolist()))
                    series += len(les) + 2
        out.write("# EOF\n")
    return jobs, series


def home_calls(end: float) -> list[tuple[str, dict[str, str]]]:
    """The calls of ui/src/pages/home/index.tsx (plus /api/v1/alerts)."""
    instant = {"time": f"{end:.3f}"}
    window = {"start": f"{end - SPAN:.3f}", "end": f"{end:.3f}", "step": "60"}
    return [
        ("/api/v1/label/job/values", {"match[]": f"{METRIC}_count"}),
        ("/api/v1/query_range", {"query": RATE, **window}),
        ("/api/v1/query", {"query": ERRORS, **instant}),
        ("/api/v1/query", {"query": P95, **instant}),
        ("/api/v1/alerts", {}),
    ]


async def one_round(client: httpx.AsyncClient, calls: list[tuple[str, dict[str, str]]]) -> float:
    start = time.perf_counter()
    replies = await asyncio.gather(*(client.get(path, params=p) for path, p in calls))
    elapsed = time.perf_counter() - start
    for r in replies:
        r.raise_for_status()
        if r.json().get("status") != "success":
            raise RuntimeError(f"{r.url}: {r.text[:300]}")
    return elapsed


async def api_rounds(urls: list[str], end: float, runs: int) -> list[list[float]]:
    calls = home_calls(end)
    clients = [httpx.AsyncClient(base_url=u, timeout=600) for u in urls]
    try:
        for c in clients:
            await one_round(c, calls)  # warm-up
        samples: list[list[float]] = [[] for _ in urls]
        for r in range(runs):
            for k in range(len(clients)):
                i = (r + k) % len(clients)
                samples[i].append(await one_round(clients[i], calls))
        return samples
    finally:
        for c in clients:
            await c.aclose()


def per_call(urls: list[str], end: float, runs: int) -> list[tuple[str, list[float]]]:
    """Median seconds of each call alone, per server (rounds interleaved as in api_rounds)."""
    out = []
    clients = [httpx.Client(base_url=u, timeout=600) for u in urls]
    try:
        for path, params in home_calls(end):
            samples: list[list[float]] = [[] for _ in urls]
            for r in range(runs):
                for k in range(len(clients)):
                    i = (r + k) % len(clients)
                    t = time.perf_counter()
                    clients[i].get(path, params=params).raise_for_status()
                    samples[i].append(time.perf_counter() - t)
            label = params.get("query", path)
            out.append((label, [statistics.median(x) for x in samples]))
    finally:
        for c in clients:
            c.close()
    return out


Rounds = tuple[list[float], list[float], str]


def browser_rounds(url: str, jobs: int, runs: int, end: int) -> Rounds:
    """Seconds from navigation start until every service is listed (first render), and until
    every figure is in (the table's aria-busy goes false), per fresh page."""
    from playwright.sync_api import sync_playwright

    first: list[float] = []
    done: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/lib/chromium/chromium",
                                    args=["--no-sandbox"])  # fmt: skip
        version = browser.version
        try:
            for i in range(runs + 1):
                page = browser.new_page()
                # the data's own hour, as absolute from/to: the data need not be "now"
                page.goto(f"{url}/?from={(end - SPAN) * 1000}&to={end * 1000}", wait_until="commit")
                page.locator(".home-services tbody tr").nth(jobs - 1).wait_for(timeout=300_000)
                listed = page.evaluate("performance.now()")
                page.locator('.home-services[aria-busy="false"]').wait_for(timeout=300_000)
                complete = page.evaluate("performance.now()")
                if i:  # the first page warms the server's caches and the browser's
                    first.append(listed / 1000)
                    done.append(complete / 1000)
                page.close()
        finally:
            browser.close()
    return first, done, version


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the routes")
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    end = int(time.time()) // STEP * STEP
    with tempfile.TemporaryDirectory(prefix="tripod-bench-home-") as tmp:
        work = Path(tmp)
        data = work / "data.om"
        t = time.perf_counter()
        jobs, series = write_data(data, end, args.scale, rng)
        print(f"data: {series:,} series, {data.stat().st_size / 1e6:.0f} MB in "
              f"{time.perf_counter() - t:.1f}s")  # fmt: skip
        t = time.perf_counter()
        create_blocks(data, work / "prom" / "tsdb")
        print(f"promtool backfill: {time.perf_counter() - t:.1f}s")
        prom = start_prometheus(work / "prom", "scrape_configs: []\n",
                                "--storage.tsdb.retention.time=100y",
                                storage=work / "prom" / "tsdb")  # fmt: skip
        tripod = start_tripod_serve(work / "tripod" / "data")
        try:
            print(f"tripod import: {load_tripod(tripod.url, data):.1f}s")
            at = float(end)
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            samples = asyncio.run(api_rounds([prom.url, tripod.url], at, args.runs))
            p_s, t_s = (statistics.median(s) for s in samples)
            print(f"\nHome's 5 API calls, concurrent, median of {args.runs} rounds "
                  f"(load {load}):")  # fmt: skip
            print(f"  prometheus {p_s * 1000:8.1f} ms   tripod {t_s * 1000:8.1f} ms   "
                  f"ratio {t_s / p_s:.2f}x")  # fmt: skip
            for label, (p_c, t_c) in per_call([prom.url, tripod.url], at, args.runs):
                print(f"  {p_c * 1000:8.1f} ms {t_c * 1000:8.1f} ms {t_c / p_c:6.2f}x  {label}")
            first, done, version = browser_rounds(tripod.url, jobs, args.runs, end)
            print(f"\nHome in Chromium {version} ({jobs} services, {series:,} series), median of "
                  f"{args.runs} fresh pages after a warm-up:")  # fmt: skip
            for what, times in (("every service listed", first), ("every figure in", done)):
                print(f"  {what:<22} {statistics.median(times) * 1000:8.0f} ms "
                      f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})")  # fmt: skip
            cpu = os.times()
            print(f"benchmark process CPU: {cpu.user + cpu.system:.1f}s")
        finally:
            tripod.stop()
            prom.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
