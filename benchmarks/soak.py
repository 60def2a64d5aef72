"""Soak: `tripod serve` under steady remote write + OTLP span ingest with retention active and
queries running; prints the server's resident memory curve and checks nothing acknowledged was
lost.

Run: .venv/bin/python benchmarks/soak.py [--minutes 10] [--samples-per-s 20000]
     [--spans-per-s 5000] [--retention 3m]

Remote write: 2,000 series x 1 sample per request (Prometheus's shape). Spans: 512 per request,
8 attributes, 20 traces per request. Queries: a range query over the series and a trace search,
back to back. At the end, every trace acknowledged in the last minute is read back by id, and
``count_over_time`` over the last minute must equal the samples acknowledged in it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import cramjam
import httpx
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.procs import start_tripod_serve

from tripod.server.ingest._prompb import WriteRequest

RW = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"}
PB = {"Content-Type": "application/x-protobuf"}
SERIES = 2000


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def write_body(ts_ms: int, step: int) -> bytes:
    req = WriteRequest()
    for i in range(SERIES):
        series = req.timeseries.add()
        series.labels.add(name="__name__", value="soak_requests_total")
        series.labels.add(name="instance", value=f"10.0.{i // 250}.{i % 250}:9100")
        series.labels.add(name="job", value="soak")
        series.samples.add(timestamp=ts_ms, value=float(step))
    return bytes(cramjam.snappy.compress_raw(req.SerializeToString()))


def span_body(batch: int) -> tuple[bytes, list[str]]:
    req = trace_pb.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "soak"
    scope = rs.scope_spans.add()
    now = time.time_ns()
    traces = [f"{batch:016x}{t:016x}" for t in range(20)]
    for i in range(512):
        span = scope.spans.add()
        span.trace_id = bytes.fromhex(traces[i % 20])
        span.span_id = (batch * 1000 + i + 1).to_bytes(8, "big")
        span.name = f"op{i % 7}"
        span.start_time_unix_nano, span.end_time_unix_nano = now, now + 1_000_000
        for a in range(8):
            attr = span.attributes.add()
            attr.key, attr.value.string_value = f"attr{a}", f"value{(i + a) % 50}"
    return req.SerializeToString(), traces


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--samples-per-s", type=int, default=20_000)
    parser.add_argument("--spans-per-s", type=int, default=5_000)
    parser.add_argument("--retention", default="3m")
    args = parser.parse_args()
    stop = threading.Event()
    acked_samples: list[int] = []  # timestamps (ms) of acknowledged write requests
    acked_traces: list[tuple[float, list[str]]] = []
    errors: list[str] = []
    queries = [0]
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_tripod_serve(Path(tmp) / "data", "--retention-time", args.retention) as proc,
    ):
        url = proc.url

        def writer() -> None:
            interval = SERIES / args.samples_per_s
            step = 0
            with httpx.Client(base_url=url, timeout=60) as client:
                while not stop.is_set():
                    start = time.monotonic()
                    ts = int(time.time() * 1000)
                    r = client.post("/api/v1/write", content=write_body(ts, step), headers=RW)
                    if r.status_code == 204:
                        acked_samples.append(ts)
                    else:
                        errors.append(f"write {r.status_code} {r.text[:200]}")
                    step += 1
                    stop.wait(max(0.0, interval - (time.monotonic() - start)))

        def spanner() -> None:
            interval = 512 / args.spans_per_s
            batch = 0
            with httpx.Client(base_url=url, timeout=60) as client:
                while not stop.is_set():
                    start = time.monotonic()
                    body, traces = span_body(batch)
                    r = client.post("/v1/traces", content=body, headers=PB)
                    if r.status_code == 200 and not r.content:
                        acked_traces.append((time.time(), traces))
                    else:
                        errors.append(f"spans {r.status_code} {r.content[:200]!r}")
                    batch += 1
                    stop.wait(max(0.0, interval - (time.monotonic() - start)))

        def querier() -> None:
            with httpx.Client(base_url=url, timeout=60) as client:
                while not stop.is_set():
                    now = time.time()
                    r = client.get("/api/v1/query_range", params={
                        "query": "sum by (job) (rate(soak_requests_total[1m]))",
                        "start": now - 300, "end": now, "step": 15})  # fmt: skip
                    r2 = client.get("/api/v1/traces", params={"service": "soak", "limit": 20})
                    if r.status_code != 200 or r2.status_code != 200:
                        errors.append(f"query {r.status_code}/{r2.status_code}")
                    queries[0] += 1
                    stop.wait(1.0)

        threads = [threading.Thread(target=f) for f in (writer, spanner, querier)]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        curve: list[tuple[float, float]] = []
        while time.monotonic() - t0 < args.minutes * 60:
            time.sleep(10)
            curve.append((time.monotonic() - t0, rss_mb(proc.proc.pid)))
            print(f"{curve[-1][0]:5.0f} s  RSS {curve[-1][1]:7.1f} MB  samples acked "
                  f"{len(acked_samples) * SERIES:,}  spans acked {len(acked_traces) * 512:,}  "
                  f"queries {queries[0]}  errors {len(errors)}  load "
                  f"{os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        stop.set()
        for t in threads:
            t.join()
        lost = verify(url, acked_samples, acked_traces)
    warm = [mb for at, mb in curve if at >= 120]
    if warm:
        mid = (max(warm) + min(warm)) / 2
        spread = (max(warm) - min(warm)) / 2 / mid * 100
        print(f"RSS after 2 min warm-up: {min(warm):.1f}-{max(warm):.1f} MB "
              f"({spread:.1f}% either side of {mid:.1f} MB)")  # fmt: skip
    print(f"errors: {len(errors)} {errors[:3]}; acknowledged but lost: {lost}")


def verify(url: str, acked_samples: list[int], acked_traces: list[tuple[float, list[str]]]) -> str:
    """What was acknowledged in the last minute and cannot be read back."""
    now_ms = int(time.time() * 1000)
    since = now_ms - 60_000
    recent = [t for t in acked_samples if t > since]
    with httpx.Client(base_url=url, timeout=60) as client:
        query = "sum(count_over_time(soak_requests_total[1m]))"
        r = client.get("/api/v1/query", params={"query": query, "time": now_ms / 1000})
        result = r.json()["data"]["result"]
        got = int(float(result[0]["value"][1])) if result else 0
        missing_traces = 0
        checked = 0
        for at, traces in acked_traces:
            if at * 1000 > since:
                for trace_id in traces[:2]:
                    checked += 1
                    if client.get(f"/api/v1/traces/{trace_id}").status_code != 200:
                        missing_traces += 1
    return (f"samples {len(recent) * SERIES - got} of {len(recent) * SERIES} in the last minute; "
            f"traces {missing_traces} of {checked} checked")  # fmt: skip


if __name__ == "__main__":
    main()
