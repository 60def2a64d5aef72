"""Trace and log query latency on a store of 10^6 spans and 10^6 log records, over HTTP.

Run: ``.venv/bin/python benchmarks/store_query.py [--n 1000000]``. Fills a temporary store
(removed at the end) through the span/log store API with generated data (100,000 traces of 10
spans over 24 hours; 1,000,000 log records, 10% with a trace id), starts a real `tripod serve` on
it and times, from a client on the same machine:

- ``GET /api/v1/traces/<id>`` for 300 random trace ids (p50/p95/p99);
- trace search and log search with typical filters (p50 of 20 runs each);
- readers vs writers: the latency of small OTLP span posts alone, and while two threads run log
  searches that scan every record back to back.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
from tests.helpers.procs import free_port  # noqa: E402

from tripod.server.app import open_context  # noqa: E402
from tripod.server.config import ServerConfig, StorageConfig  # noqa: E402

DAY_NS = 86_400 * 10**9
SERVICES = ["checkout", "cart", "payments", "search", "users"]
LEVELS = [("info", 9), ("debug", 5), ("warn", 13), ("error", 17)]


def fill(data: Path, n: int) -> list[str]:
    """Write ``n`` spans and ``n`` log records; return the trace ids."""
    ctx = open_context(ServerConfig(data_dir=data, storage=StorageConfig(retention_time_s=0)))
    rng = np.random.default_rng(3)
    t0 = time.time_ns() - DAY_NS
    traces = [os.urandom(16).hex() for _ in range(n // 10)]
    chunk = 100_000
    for start in range(0, n, chunk):
        idx = np.arange(start, min(n, start + chunk))
        m = len(idx)
        trace_idx = idx // 10
        begin = t0 + trace_idx * (DAY_NS // max(1, n // 10)) + (idx % 10) * 1000
        dur = rng.integers(10_000, 500_000_000, size=m)
        trace_ids = [traces[i] for i in trace_idx]
        ctx.spans.append({
            "trace_id": trace_ids,
            "tid": [int.from_bytes(bytes.fromhex(t[:16]), "big", signed=True) for t in trace_ids],
            "span_id": [f"{i:016x}" for i in idx],
            "parent_span_id": ["" if i % 10 == 0 else f"{i - i % 10:016x}" for i in idx],
            "name": [f"GET /api/{i % 37}" for i in idx],
            "kind": ["server" if i % 10 == 0 else "internal" for i in idx],
            "service": [SERVICES[i % 5] for i in trace_idx],
            "start_ns": begin.tolist(), "end_ns": (begin + dur).tolist(),
            "duration_ns": dur.tolist(),
            "status_code": ["error" if i % 97 == 0 else "unset" for i in idx],
            "status_message": [""] * m,
            "attributes": [f'{{"http.route":"/api/{i % 37}","http.response.status_code":200,'
                           f'"user.id":"u{i % 5000}"}}' for i in idx],
            "events": ["[]"] * m, "links": ["[]"] * m,
            "resource": ['{"service.name":"x"}'] * m, "scope": ['{"name":"bench"}'] * m,
        })  # fmt: skip
        levels = [LEVELS[i % 4] for i in idx]
        ctx.logs.append({
            "time_ns": (t0 + idx * (DAY_NS // n)).tolist(), "observed_ns": [t0] * m,
            "service": [SERVICES[i % 5] for i in idx],
            "severity_number": [lv[1] for lv in levels], "severity_text": [""] * m,
            "level": [lv[0] for lv in levels],
            "body": [f"request {i} handled by worker {i % 17} in {i % 997} ms" for i in idx],
            "body_json": [False] * m,
            "trace_id": [traces[i // 10] if i % 10 == 0 else "" for i in idx],
            "span_id": [""] * m, "attributes": [f'{{"logger":"app.{i % 11}"}}' for i in idx],
            "resource": ["{}"] * m, "scope": ["{}"] * m,
        })  # fmt: skip
    with ctx.db.write_lock:
        ctx.db.con.execute("CHECKPOINT")
    ctx.db.close()
    return traces


def timed(client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> float:
    start = time.perf_counter()
    r = client.get(path, params=params)
    elapsed = time.perf_counter() - start
    if r.status_code != 200:
        raise SystemExit(f"{path} {params}: {r.status_code} {r.text[:300]}")
    return elapsed * 1000


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tripod-query-"))
    try:
        run_all(tmp, args.n)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_all(tmp: Path, n: int) -> None:
    start = time.perf_counter()
    traces = fill(tmp / "data", n)
    print(f"filled {n:,} spans + {n:,} logs in {time.perf_counter() - start:.1f}s; "
          f"file {(tmp / 'data' / 'tripod.duckdb').stat().st_size / 1e6:.0f} MB")  # fmt: skip
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tripod", "serve", "--data-dir", str(tmp / "data"),
         "--port", str(port), "--retention-time", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        with httpx.Client(base_url=url, timeout=60) as client:
            rng = np.random.default_rng(5)
            for t in rng.choice(traces, 20):
                timed(client, f"/api/v1/traces/{t}")  # warm-up
            by_id = [timed(client, f"/api/v1/traces/{t}") for t in rng.choice(traces, 300)]
            print(f"trace by id ({n:,} spans): p50 {pct(by_id, 50):.1f} ms, "
                  f"p95 {pct(by_id, 95):.1f} ms, p99 {pct(by_id, 99):.1f} ms")  # fmt: skip
            queries: list[tuple[str, str, dict[str, Any]]] = [
                ("trace search service+min_duration", "/api/v1/traces",
                 {"service": "payments", "min_duration": "400ms", "limit": 20}),
                ("trace search attr", "/api/v1/traces", {"attr.user.id": "u42", "limit": 20}),
                ("trace search status=error, last hour", "/api/v1/traces",
                 {"status": "error", "start": time.time() - 3600, "limit": 20}),
                ("log search newest 100", "/api/v1/logs", {"limit": 100}),
                ("log search level+service", "/api/v1/logs",
                 {"level": "error", "service": "cart", "limit": 100}),
                ("log search contains (rare)", "/api/v1/logs",
                 {"contains": "worker 16 in 996 ms", "limit": 100}),
                ("log search trace_id", "/api/v1/logs", {"trace_id": traces[1234]}),
                ("log search attr", "/api/v1/logs", {"attr.logger": "app.3", "limit": 100}),
            ]  # fmt: skip
            for label, path, params in queries:
                runs = [timed(client, path, params) for _ in range(20)]
                print(f"{label}: p50 {statistics.median(runs):.1f} ms, max {max(runs):.1f} ms")
            readers_vs_writers(url, client)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def readers_vs_writers(url: str, client: httpx.Client) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from ingest import span_request

    bodies = [span_request(i, n=100) for i in range(60)]
    headers = {"Content-Type": "application/x-protobuf"}

    def post_latencies() -> list[float]:
        out = []
        for body in bodies:
            start = time.perf_counter()
            r = client.post("/v1/traces", content=body, headers=headers)
            out.append((time.perf_counter() - start) * 1000)
            assert r.status_code == 200
        return out

    alone = post_latencies()
    stop = threading.Event()
    scans = [0]

    def reader() -> None:
        with httpx.Client(base_url=url, timeout=120) as c:
            while not stop.is_set():
                c.get("/api/v1/logs", params={"contains": "no such text", "limit": 10})
                scans[0] += 1

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    busy = post_latencies()
    stop.set()
    for t in threads:
        t.join()
    print(f"span post (100 spans) alone: p50 {statistics.median(alone):.1f} ms; while 2 readers "
          f"scan all logs ({scans[0]} scans): p50 {statistics.median(busy):.1f} ms, "
          f"max {max(busy):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
