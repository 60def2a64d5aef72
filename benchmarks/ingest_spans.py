"""Span ingest in issue 13's shape: OTel SDK-shaped batches from two sender processes.

Run: ``.venv/bin/python benchmarks/ingest_spans.py [--requests 60] [--runs 2]
[--base-src /tmp/base-spans/src]``

Each run starts a fresh `tripod serve` (temporary data directory, ``--retention-time 0``) and two
sender processes, each holding its own pre-encoded ``ExportTraceServiceRequest`` bodies: 512
spans per request from 20 traces, 8 span attributes (OTel HTTP semantic conventions, ``url.path``
different in every span), an OTel SDK resource (``telemetry.sdk.*``, ``service.name``,
``service.instance.id``) and an instrumentation scope. Both senders start together and post their
bodies back to back over keep-alive connections (like an exporter's one request in flight); when
both are done, one more request carries a marker span, and the clock stops when
``GET /api/v1/traces/<marker trace id>`` returns it. Spans stored per second = all spans sent ÷
that wall-clock time; per server CPU-second = the same ÷ the CPU time the `tripod serve` process
used (``/proc``, all threads), which load skews much less.

``--base-src`` runs a second server from another checkout's ``src`` (``git worktree add``) in
the same session, rounds interleaved (base first in odd runs, head first in even ones), and
prints the ratios. After every run one trace of the load is read back and its span count
checked, and once the server has shut down (DuckDB checkpoints at close) the data directory's
bytes per stored span are printed.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.ingest import start_server  # noqa: E402

SPANS_PER_REQUEST = 512
TRACES_PER_REQUEST = 20
HEADERS = {"Content-Type": "application/x-protobuf"}


def span_request(seed: int, n: int = SPANS_PER_REQUEST, traces: int = TRACES_PER_REQUEST,
                 trace_ids: list[bytes] | None = None) -> bytes:  # fmt: skip
    """One OTel SDK-shaped export: ``n`` spans of ``traces`` traces (a server root span each,
    the rest client/internal children), 8 attributes per span."""
    rnd = random.Random(seed)
    req = trace_pb.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    for key, value in (
        ("telemetry.sdk.language", "python"),
        ("telemetry.sdk.name", "opentelemetry"),
        ("telemetry.sdk.version", "1.27.0"),
        ("service.name", "checkout"),
        ("service.instance.id", f"pod-{seed % 2}"),
    ):
        kv = rs.resource.attributes.add()
        kv.key, kv.value.string_value = key, value
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = "opentelemetry.instrumentation.flask", "0.48b0"
    now = time.time_ns()
    tids = trace_ids or [rnd.randbytes(16) for _ in range(traces)]
    roots = [rnd.randbytes(8) for _ in tids]
    for i in range(n):
        t = i % len(tids)
        span = ss.spans.add()
        span.trace_id = tids[t]
        if i < len(tids):
            span.span_id, span.kind = roots[t], 2  # type: ignore[assignment]
            span.name = "GET /api/orders/{id}"
        else:
            span.span_id, span.parent_span_id = rnd.randbytes(8), roots[t]
            span.kind = 3 if i % 3 else 1  # type: ignore[assignment]
            span.name = ("SELECT orders", "GET inventory", "render")[i % 3]
        span.start_time_unix_nano = now + i * 1000
        span.end_time_unix_nano = now + i * 1000 + rnd.randrange(50_000, 5_000_000)
        span.status.code = 2 if i % 97 == 0 else 0  # type: ignore[assignment]
        for key, value in (
            ("http.request.method", "GET"),
            ("url.path", f"/api/orders/{rnd.randrange(10**9)}"),
            ("http.route", "/api/orders/{id}"),
            ("url.scheme", "http"),
            ("server.address", "orders.internal"),
            ("network.protocol.version", "1.1"),
        ):
            kv = span.attributes.add()
            kv.key, kv.value.string_value = key, value
        for key, number in (("http.response.status_code", 200), ("server.port", 8080)):
            kv = span.attributes.add()
            kv.key, kv.value.int_value = key, number
    return req.SerializeToString()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sender(port: int, bodies_file: str) -> None:
    """Sender process: load the bodies, say ready, wait for "go" on stdin, post them all."""
    data = Path(bodies_file).read_bytes()
    bodies, i = [], 0
    while i < len(data):
        size = int.from_bytes(data[i : i + 4], "big")
        bodies.append(data[i + 4 : i + 4 + size])
        i += 4 + size
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    print("ready", flush=True)
    sys.stdin.readline()
    for body in bodies:
        conn.request("POST", "/v1/traces", body=body, headers=HEADERS)
        resp = conn.getresponse()
        reply = resp.read()
        if resp.status != 200:
            print(f"error {resp.status} {reply[:200]!r}", flush=True)
            return
    print("done", flush=True)


def one_run(label: str, src: Path | None, files: list[Path], total: int, tmp: Path,
            check_trace: bytes) -> tuple[float, float, float]:  # fmt: skip
    """(spans/s wall-clock, spans per server CPU-second, bytes on disk per span) for one fresh
    server; the bytes are the data directory's after the server shut down."""
    data = tmp / f"data-{label}-{time.monotonic_ns()}"
    proc, url = start_server(data, src)
    port = int(url.rsplit(":", 1)[1])
    senders = [
        subprocess.Popen(
            [sys.executable, __file__, "--sender", str(port), str(f)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    try:
        for s in senders:
            assert s.stdout is not None
            if s.stdout.readline().strip() != "ready":
                raise SystemExit("a sender did not start")
        marker_tid = os.urandom(16)
        marker = span_request(-1, n=1, traces=1, trace_ids=[marker_tid])
        cpu0 = cpu_seconds(proc.pid)
        start = time.perf_counter()
        for s in senders:
            assert s.stdin is not None
            s.stdin.write("go\n")
            s.stdin.flush()
        for s in senders:
            assert s.stdout is not None
            line = s.stdout.readline().strip()
            if line != "done":
                raise SystemExit(f"sender: {line}")
        with httpx.Client(base_url=url, timeout=60) as client:
            r = client.post("/v1/traces", content=marker, headers=HEADERS)
            r.raise_for_status()
            deadline = time.monotonic() + 120
            while True:
                got = client.get(f"/api/v1/traces/{marker_tid.hex()}")
                if got.status_code == 200 and got.json()["data"]["spans"]:
                    break
                if time.monotonic() > deadline:
                    msg = f"marker span not readable: {got.status_code} {got.text[:200]}"
                    raise SystemExit(msg)
                time.sleep(0.001)
            elapsed = time.perf_counter() - start
            used = cpu_seconds(proc.pid) - cpu0
            spans = client.get(f"/api/v1/traces/{check_trace.hex()}").json()["data"]["spans"]
            expected = -(-SPANS_PER_REQUEST // TRACES_PER_REQUEST)
            if len(spans) != expected:
                raise SystemExit(f"trace {check_trace.hex()}: {len(spans)} spans, not {expected}")
    finally:
        for s in senders:
            s.kill()
            s.wait()
        proc.terminate()
        proc.wait(timeout=60)
    size = sum(f.stat().st_size for f in data.rglob("*") if f.is_file())
    shutil.rmtree(data, ignore_errors=True)
    return (total + 1) / elapsed, (total + 1) / used, size / (total + 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=60, help="requests per sender")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--base-src", type=Path, help="src/ of another checkout to compare")
    parser.add_argument("--sender", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:
        sender(int(args.sender[0]), args.sender[1])
        return
    with tempfile.TemporaryDirectory(prefix="tripod-spans-") as name:
        tmp = Path(name)
        files = []
        first_trace = b""
        for w in range(2):
            chunks = []
            for r in range(args.requests):
                body = span_request(w * 1_000_000 + r)
                chunks.append(len(body).to_bytes(4, "big") + body)
            if w == 0:
                req = trace_pb.ExportTraceServiceRequest.FromString(chunks[0][4:])
                first_trace = req.resource_spans[0].scope_spans[0].spans[0].trace_id
            f = tmp / f"bodies-{w}.bin"
            f.write_bytes(b"".join(chunks))
            files.append(f)
        total = 2 * args.requests * SPANS_PER_REQUEST
        size = files[0].stat().st_size / args.requests / 1e3
        print(f"{total:,} spans: 2 sender processes x {args.requests} requests x "
              f"{SPANS_PER_REQUEST} spans ({TRACES_PER_REQUEST} traces, 8 attributes; "
              f"{size:.0f} kB per body)")  # fmt: skip
        results: dict[str, list[tuple[float, float, float]]] = {"base": [], "head": []}
        for run in range(args.runs):
            order = [("base", args.base_src), ("head", None)] if args.base_src else [("head", None)]
            for label, src in order if run % 2 == 0 else order[::-1]:
                load = os.getloadavg()[0]
                stamp = time.strftime("%H:%M:%S", time.gmtime())
                wall, per_cpu, per_span = one_run(label, src, files, total, tmp, first_trace)
                results[label].append((wall, per_cpu, per_span))
                print(f"run {run + 1} {label}: {wall:,.0f} spans/s wall-clock, {per_cpu:,.0f} "
                      f"per server CPU-second, {per_span:.0f} bytes on disk per span (load "
                      f"average {load:.1f} before, {os.getloadavg()[0]:.1f} after; started "
                      f"{stamp} UTC)", flush=True)  # fmt: skip
        if args.base_src:
            pairs = zip(results["base"], results["head"], strict=True)
            for i, ((bw, bc, bb), (hw, hc, hb)) in enumerate(pairs):
                print(f"run {i + 1} head/base: wall-clock {hw / bw:.2f}x, per CPU-second "
                      f"{hc / bc:.2f}x, bytes per span {hb / bb:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
