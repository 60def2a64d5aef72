"""Soak: `tripod serve` under steady remote write + OTLP span ingest with retention active and
queries running; prints the server's memory curve every minute and checks that nothing
acknowledged was lost.

Run: .venv/bin/python benchmarks/soak.py [--minutes 10] [--samples-per-s 250000]
     [--spans-per-s 25000] [--retention 3m] [--curve out.jsonl]

Rates: half the ingest targets of issue 3 (P3 ≥ 50,000 spans/s, P4 ≥ 500,000 samples/s), both at
once. Remote write in Prometheus's shape: 2,000 series x 1 sample per request (``--series`` in
all, each sender process owning its own shards so every series arrives in order). Spans: 512 per
request, 8 attributes, 20 traces per request. Senders are separate processes that patch the
timestamps (and trace/span ids) into bodies encoded once, so the benchmark's own Python is not
the bottleneck; the rates they reach are printed (a loaded machine falls short of the targets).
Queries: a range query over the series and a trace search, back to back with 1 s pauses.

The server runs with a probe thread (this file, ``--probe-serve``) that writes one JSON line a
second: RSS, glibc's heap (``mallinfo2``), DuckDB's jemalloc (``stats.resident``), DuckDB's own
memory (``duckdb_memory()``) and blocks (``pragma_database_size``), Python's gc counts, the read
cache's counters, and each retention pass. Investigation knobs: ``--env KEY=VALUE`` for the
server's environment (e.g. ``MALLOC_ARENA_MAX=2``; ``SOAK_PROBE_TRIM_S=5``: the probe calls
``malloc_trim(0)`` that often; ``SOAK_PROBE_SMAPS=1``: resident memory by kind of mapping;
``SOAK_DUCKDB_CONFIG=name=value,...``: extra DuckDB settings), ``--no-queries``.

Warm-up: until retention has deleted once, and at least ``--warmup`` (3 min) and ``--retention``
plus one check interval (1 min). After it, every RSS sample should be within ±10% of the
post-warm-up median; the report says how many are.

Lost: two traces of every span request acknowledged in the last minute are read back by id,
each with all its spans, and ``count_over_time`` over the last minute must equal the samples
acknowledged in it.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import http.client
import json
import multiprocessing as mp
import os
import statistics
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RW_HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
              "X-Prometheus-Remote-Write-Version": "0.1.0"}  # fmt: skip
PB_HEADERS = {"Content-Type": "application/x-protobuf"}
PER_REQUEST = 2000  # series (= samples) per remote-write request
SPANS = 512
TRACES = 20
TS_SENTINEL = (1 << 41) + 0x1234567  # ms; any ms time 1971-2109 is a 6-byte varint
V_SENTINEL = 1.2345678901234567e-300
NS_SENTINEL = 0x1122334455667788
TRACE_SENTINEL = bytes.fromhex("a55ac33c96695aa5")
SPAN_SENTINEL = bytes.fromhex("c33ca55a")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _offsets(body: bytes, needle: bytes, skip: int) -> list[int]:
    """Offsets of ``needle`` in ``body`` plus ``skip`` (the tag bytes before the payload)."""
    found, at = [], body.find(needle)
    while at >= 0:
        found.append(at + skip)
        at = body.find(needle, at + 1)
    return found


class _Patcher:
    """A body encoded once; :meth:`patch` writes new bytes at recorded offsets."""

    def __init__(self, body: bytes) -> None:
        import numpy as np

        self.np = np
        self.body = np.frombuffer(body, np.uint8).copy()
        self.fields: dict[str, Any] = {}

    def field(self, name: str, offsets: list[int], width: int, expected: int) -> None:
        if len(offsets) != expected:
            msg = f"{name}: {len(offsets)} sentinels in the template, expected {expected}"
            raise RuntimeError(msg)
        np = self.np
        self.fields[name] = np.asarray(offsets)[:, None] + np.arange(width)

    def patch(self, name: str, values: bytes) -> None:
        """The same bytes at every offset, or one row per offset (len = offsets * width)."""
        idx = self.fields[name]
        arr = self.np.frombuffer(values, self.np.uint8)
        self.body[idx] = arr if arr.size == idx.shape[1] else arr.reshape(idx.shape)

    def bytes(self) -> bytes:
        return self.body.tobytes()


def _rw_templates(first: int, shards: int) -> list[_Patcher]:
    from tripod.server.ingest._prompb import WriteRequest

    out = []
    for shard in range(shards):
        req = WriteRequest()
        for i in range(first + shard * PER_REQUEST, first + (shard + 1) * PER_REQUEST):
            series = req.timeseries.add()
            series.labels.add(name="__name__", value="soak_requests_total")
            series.labels.add(
                name="instance", value=f"10.{i // 62500}.{i // 250 % 250}.{i % 250}:1"
            )
            series.labels.add(name="job", value="soak")
            series.samples.add(timestamp=TS_SENTINEL, value=V_SENTINEL)
        body = req.SerializeToString()
        p = _Patcher(body)
        p.field("ts", _offsets(body, b"\x10" + _varint(TS_SENTINEL), 1), 6, PER_REQUEST)
        p.field("v", _offsets(body, b"\x09" + struct.pack("<d", V_SENTINEL), 1), 8, PER_REQUEST)
        out.append(p)
    return out


def _span_template() -> _Patcher:
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_pb

    req = trace_pb.ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "soak"
    scope = rs.scope_spans.add()
    for i in range(SPANS):
        span = scope.spans.add()
        span.trace_id = TRACE_SENTINEL + (i % TRACES).to_bytes(8, "big")
        span.span_id = SPAN_SENTINEL + (i + 1).to_bytes(4, "big")
        span.name = f"op{i % 7}"
        span.start_time_unix_nano = NS_SENTINEL
        span.end_time_unix_nano = NS_SENTINEL + 1
        for a in range(8):
            attr = span.attributes.add()
            attr.key, attr.value.string_value = f"attr{a}", f"value{(i + a) % 50}"
    body = req.SerializeToString()
    p = _Patcher(body)
    p.field("trace", _offsets(body, b"\x0a\x10" + TRACE_SENTINEL, 2), 8, SPANS)
    p.field("span", _offsets(body, b"\x12\x08" + SPAN_SENTINEL, 2), 4, SPANS)
    p.field("start", _offsets(body, b"\x39" + struct.pack("<Q", NS_SENTINEL), 1), 8, SPANS)
    p.field("end", _offsets(body, b"\x41" + struct.pack("<Q", NS_SENTINEL + 1), 1), 8, SPANS)
    return p


def trace_ids(sender: int, batch: int) -> list[str]:
    prefix = ((sender << 48) | batch).to_bytes(8, "big").hex()
    return [prefix + t.to_bytes(8, "big").hex() for t in range(TRACES)]


class _Conn:
    """One keep-alive HTTP connection (http.client: far less client CPU than httpx)."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:  # fmt: skip
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
                if attempt:
                    raise
        raise AssertionError


def _pace(next_at: float, interval: float) -> float:
    """Sleep until ``next_at``; the next slot (never more than 1 s of backlog)."""
    now = time.monotonic()
    if next_at > now:
        time.sleep(next_at - now)
        now = next_at
    return max(next_at + interval, now - 1.0)


def rw_sender(index: int, url: str, first: int, shards: int, rate: float,
              stop: Any, out: Any) -> None:  # fmt: skip
    """Remote write: cycle over this sender's shards of 2,000 series at ``rate`` samples/s;
    puts (acknowledged request timestamps in ms, errors, client CPU s) on ``out``."""
    import cramjam

    templates = _rw_templates(first, shards)
    conn = _Conn(url)
    interval = PER_REQUEST / rate
    acked: list[int] = []
    errors: list[str] = []
    last = [0] * shards
    step = 0
    next_at = time.monotonic()
    while not stop.is_set():
        shard = step % shards
        ts = max(int(time.time() * 1000), last[shard] + 1)
        last[shard] = ts
        p = templates[shard]
        p.patch("ts", _varint(ts))
        p.patch("v", struct.pack("<d", float(step // shards)))
        body = bytes(cramjam.snappy.compress_raw(p.bytes()))
        status, text = conn.request("POST", "/api/v1/write", body, RW_HEADERS)
        if status == 204:
            acked.append(ts)
        else:
            errors.append(f"write {status} {text[:200]!r}")
        step += 1
        next_at = _pace(next_at, interval)
    out.put(("rw", index, acked, errors, time.process_time()))


def span_sender(index: int, url: str, rate: float, stop: Any, out: Any) -> None:
    """OTLP spans at ``rate`` spans/s; puts (acknowledged (wall time, batch), errors, CPU)."""
    p = _span_template()
    conn = _Conn(url)
    interval = SPANS / rate
    acked: list[tuple[float, int]] = []
    errors: list[str] = []
    batch = 0
    next_at = time.monotonic()
    while not stop.is_set():
        p.patch("trace", ((index << 48) | batch).to_bytes(8, "big"))
        p.patch("span", ((index << 24) | (batch & 0xFFFFFF)).to_bytes(4, "big"))
        now = time.time_ns()
        p.patch("start", struct.pack("<Q", now))
        p.patch("end", struct.pack("<Q", now + 1_000_000))
        status, text = conn.request("POST", "/v1/traces", p.bytes(), PB_HEADERS)
        if status == 200 and not text:
            acked.append((time.time(), batch))
        else:
            errors.append(f"spans {status} {text[:200]!r}")
        batch += 1
        next_at = _pace(next_at, interval)
    out.put(("spans", index, acked, errors, time.process_time()))


def querier(url: str, stop: Any, out: Any, run: bool = True) -> None:
    conn = _Conn(url)
    rounds, errors, slow = 0, [], 0.0
    while run and not stop.is_set():
        now = time.time()
        t0 = time.monotonic()
        q = urlencode({"query": "sum by (job) (rate(soak_requests_total[1m]))",
                       "start": now - 300, "end": now, "step": 15})  # fmt: skip
        s1, b1 = conn.request("GET", "/api/v1/query_range?" + q)
        s2, b2 = conn.request("GET", "/api/v1/traces?service=soak&limit=20")
        if s1 != 200 or s2 != 200:
            errors.append(f"query {s1} {b1[:100]!r} / {s2} {b2[:100]!r}")
        rounds += 1
        slow = max(slow, time.monotonic() - t0)
        stop.wait(1.0)
    out.put(("queries", 0, rounds, errors, slow))


# ---- the probe, inside the server process -------------------------------------------------


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]  # fmt: skip


def _jemalloc_stats() -> Any:
    """DuckDB's bundled jemalloc's counters (MB), or None where its symbols are not there."""
    import duckdb

    so = next(Path(duckdb.__file__).parent.parent.glob("_duckdb*.so"), None)
    mallctl = getattr(ctypes.CDLL(str(so)), "duckdb_je_mallctl", None) if so else None
    if mallctl is None:
        return None

    def read() -> dict[str, float]:
        epoch = ctypes.c_uint64(1)
        mallctl(b"epoch", None, None, ctypes.byref(epoch), ctypes.c_size_t(8))
        out = {}
        for name in ("allocated", "active", "resident", "retained"):
            value, size = ctypes.c_size_t(0), ctypes.c_size_t(ctypes.sizeof(ctypes.c_size_t))
            if mallctl(f"stats.{name}".encode(), ctypes.byref(value), ctypes.byref(size),
                       None, ctypes.c_size_t(0)) == 0:  # fmt: skip
                out[name] = round(value.value / 2**20, 1)
        return out

    return read


def _status_kb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _smaps_mb() -> dict[str, float]:
    """Resident anonymous memory by kind of mapping: the main heap, 64 MB glibc arena heaps,
    1 MB mappings (Python's object arenas), other anonymous mappings."""
    out = {"heap": 0.0, "arenas": 0.0, "py": 0.0, "anon": 0.0}
    kind, size = "", 0
    for line in Path("/proc/self/smaps").read_text().splitlines():
        first = line.split(maxsplit=6)
        if "-" in first[0] and len(first) >= 5 and ":" in first[3]:  # a mapping's header
            lo, hi = (int(x, 16) for x in first[0].split("-"))
            size = hi - lo
            name = first[5] if len(first) > 5 else ""
            if name == "[heap]":
                kind = "heap"
            elif name:
                kind = ""
            elif size == 64 << 20 or size == 128 << 20:
                kind = "arenas"
            elif size == 1 << 20:
                kind = "py"
            else:
                kind = "anon"
        elif kind and first[0] == "Rss:":
            out[kind] += int(first[1]) / 1024
    return {k: round(v, 1) for k, v in out.items()}


def _probe_loop(path: Path, ctx_box: list[Any], events: list[dict[str, Any]]) -> None:
    libc = ctypes.CDLL("libc.so.6")
    mallinfo2 = getattr(libc, "mallinfo2", None)
    if mallinfo2 is not None:
        mallinfo2.restype = _Mallinfo2
    jemalloc = _jemalloc_stats()
    trim_s = float(os.environ.get("SOAK_PROBE_TRIM_S", "0"))  # experiment: malloc_trim(0)
    last_trim = time.monotonic()
    with path.open("a") as f:
        while True:
            time.sleep(1.0)
            row: dict[str, Any] = {"t": time.time(), "rss_mb": rss_mb(os.getpid()),
                                   "anon_mb": _status_kb("RssAnon")}  # fmt: skip
            if trim_s and time.monotonic() - last_trim >= trim_s:
                t0 = time.perf_counter()
                libc.malloc_trim(0)
                row["trim_ms"] = round((time.perf_counter() - t0) * 1000, 1)
                last_trim = time.monotonic()
            if mallinfo2 is not None:
                mi = mallinfo2()
                row["heap_used_mb"] = (mi.uordblks + mi.hblkhd) / 2**20
                row["heap_free_mb"] = mi.fordblks / 2**20
            if jemalloc is not None:
                row["je"] = jemalloc()
            if os.environ.get("SOAK_PROBE_SMAPS"):
                row["smaps"] = _smaps_mb()
            if ctx_box:
                cache = ctx_box[0].samples.read_cache
                row["cache"] = [cache.hits, cache.misses, cache._size]
            row["gc"] = gc.get_count()
            row["gc_collections"] = [s["collections"] for s in gc.get_stats()]
            while events:
                row.setdefault("events", []).append(events.pop(0))
            if ctx_box:
                db = ctx_box[0].db
                with contextlib.suppress(Exception), db.gate.shared():
                    cur = db.con.cursor()
                    try:
                        mem = cur.execute(
                            "SELECT tag, memory_usage_bytes, temporary_storage_bytes "
                            "FROM duckdb_memory() WHERE memory_usage_bytes > 0"
                        ).fetchall()
                        row["duck_mb"] = sum(m[1] for m in mem) / 2**20
                        row["duck_tags"] = {m[0]: round(m[1] / 2**20, 1) for m in mem}
                        size = cur.execute(
                            "SELECT block_size, total_blocks, used_blocks, free_blocks, "
                            "wal_size, memory_usage FROM pragma_database_size()"
                        ).fetchone()
                        if size:
                            row["db_blocks"] = [int(size[1]), int(size[2]), int(size[3])]
                            row["wal"] = str(size[4])
                    finally:
                        cur.close()
            f.write(json.dumps(row) + "\n")
            f.flush()


def probe_serve(probe_path: Path, argv: list[str]) -> None:
    """Run `tripod serve` in this process with the probe thread; retention passes are recorded
    as events (what was deleted, whether the file was compacted, how long it took)."""
    import tripod.server.app as app_module
    import tripod.server.store.retention as retention_module
    from tripod.cli import main as tripod_main

    ctx_box: list[Any] = []
    events: list[dict[str, Any]] = []
    real_open = app_module.open_context
    real_retention = retention_module.apply_retention

    def open_context(config: Any) -> Any:
        ctx = real_open(config)
        ctx_box.append(ctx)
        return ctx

    def apply_retention(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        report = real_retention(*args, **kwargs)
        events.append({"retention": report.deleted, "compacted": report.compacted,
                       "took_s": round(time.perf_counter() - t0, 2)})  # fmt: skip
        return report

    app_module.open_context = open_context
    retention_module.apply_retention = apply_retention
    extra = os.environ.get("SOAK_DUCKDB_CONFIG")  # experiment: "name=value,name=value"
    if extra:
        import duckdb

        from tripod.server.store.db import Database

        settings = dict(kv.split("=", 1) for kv in extra.split(","))

        def connect(self: Any) -> Any:
            config = {"memory_limit": self.memory_limit, **settings}
            return duckdb.connect(str(self.path), config=config)

        Database._connect = connect  # type: ignore[method-assign]
    threading.Thread(target=_probe_loop, args=(probe_path, ctx_box, events), daemon=True).start()
    tripod_main(["serve", *argv])


# ---- the run ----------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_duration(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    for unit in ("ms", "s", "m", "h"):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "").isdigit():
            return float(text[: -len(unit)]) * units[unit]
    raise SystemExit(f"soak: --retention {text!r} is not a duration like 3m")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--probe-serve":
        probe_serve(Path(sys.argv[2]), sys.argv[3:])
        return
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--samples-per-s", type=int, default=250_000)
    parser.add_argument("--spans-per-s", type=int, default=25_000)
    parser.add_argument("--series", type=int, default=20_000, help="multiple of 4,000")
    parser.add_argument("--rw-senders", type=int, default=2)
    parser.add_argument("--span-senders", type=int, default=1)
    parser.add_argument("--retention", default="3m")
    parser.add_argument("--warmup", type=float, default=180.0, help="seconds, at least")
    parser.add_argument("--config", help="a --config YAML for tripod serve")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server")
    parser.add_argument("--queries", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--curve", help="write the per-second probe rows here (JSON lines)")
    args = parser.parse_args()
    shards = args.series // (PER_REQUEST * args.rw_senders)
    if shards < 1 or shards * PER_REQUEST * args.rw_senders != args.series:
        parser.error(f"--series must be a multiple of {PER_REQUEST * args.rw_senders}")
    retention_s = parse_duration(args.retention)
    warmup_s = max(args.warmup, retention_s + 60.0)

    from tests.helpers.procs import Proc, free_port

    with tempfile.TemporaryDirectory() as tmp:
        probe_path = Path(args.curve) if args.curve else Path(tmp) / "probe.jsonl"
        probe_path.unlink(missing_ok=True)
        port = free_port()
        serve_args = ["--data-dir", str(Path(tmp) / "data"), "--host", "127.0.0.1",
                      "--port", str(port), "--retention-time", args.retention,
                      "--log-level", "info"]  # fmt: skip
        if args.config:
            serve_args += ["--config", args.config]
        env = dict(kv.split("=", 1) for kv in args.env)
        proc = Proc([sys.executable, __file__, "--probe-serve", str(probe_path), *serve_args],
                    f"http://127.0.0.1:{port}", Path(tmp) / "serve.log", env)  # fmt: skip
        try:
            proc.wait_ready("/-/ready")
            result = run(args, proc, shards, warmup_s, probe_path)
        finally:
            proc.stop()
    print(result)


def run(args: argparse.Namespace, proc: Any, shards: int, warmup_s: float,
        probe_path: Path) -> str:  # fmt: skip
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    out = ctx.Queue()
    workers = [
        ctx.Process(target=rw_sender, args=(i, proc.url, i * shards * PER_REQUEST, shards,
                                            args.samples_per_s / args.rw_senders, stop, out))
        for i in range(args.rw_senders)
    ] + [
        ctx.Process(target=span_sender, args=(i, proc.url, args.spans_per_s / args.span_senders,
                                              stop, out))
        for i in range(args.span_senders)
    ] + [ctx.Process(target=querier, args=(proc.url, stop, out, args.queries))]  # fmt: skip
    for w in workers:
        w.start()
    pid = proc.proc.pid
    t0 = time.monotonic()
    wall0 = time.time()
    cpu0 = cpu_s(pid)
    curve: list[tuple[float, float, float]] = []  # (s since start, RSS MB, load)
    print(f"start {time.strftime('%H:%M:%S', time.gmtime())} UTC, server pid {pid}, "
          f"warm-up {warmup_s:.0f} s", flush=True)  # fmt: skip
    while time.monotonic() - t0 < args.minutes * 60:
        time.sleep(1.0 - (time.monotonic() - t0) % 1.0)
        curve.append((time.monotonic() - t0, rss_mb(pid), os.getloadavg()[0]))
        if len(curve) % 30 == 0:
            print(f"{curve[-1][0]:5.0f} s  RSS {curve[-1][1]:7.1f} MB  load {curve[-1][2]:.1f}",
                  flush=True)  # fmt: skip
    stop.set()
    server_cpu = cpu_s(pid) - cpu0
    elapsed = time.monotonic() - t0
    results = [out.get(timeout=300) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    acked_ts = sorted(ts for kind, _, acked, _, _ in results if kind == "rw" for ts in acked)
    acked_spans = [(at, i, b) for kind, i, acked, _, _ in results if kind == "spans"
                   for at, b in acked]  # fmt: skip
    errors = [e for _, _, _, errs, _ in results for e in errs]
    rounds = sum(r[2] for r in results if r[0] == "queries")
    slowest = max(r[4] for r in results if r[0] == "queries")
    sender_cpu = sum(r[4] for r in results if r[0] != "queries")
    lost = verify(proc.url, acked_ts, acked_spans, parse_duration(args.retention))
    probe = [json.loads(line) for line in probe_path.read_text().splitlines() if line.strip()]
    return report(args, curve, probe, wall0, warmup_s, elapsed, acked_ts, acked_spans, errors,
                  rounds, slowest, server_cpu, sender_cpu, lost)  # fmt: skip


def report(args: argparse.Namespace, curve: list[tuple[float, float, float]],
           probe: list[dict[str, Any]], wall0: float, warmup_s: float, elapsed: float,
           acked_ts: list[int], acked_spans: list[tuple[float, int, int]], errors: list[str],
           rounds: int, slowest: float, server_cpu: float, sender_cpu: float,
           lost: str) -> str:  # fmt: skip
    passes = [(r["t"] - wall0, e) for r in probe for e in r.get("events", [])]
    deleted_at = [at for at, e in passes if e["retention"]]
    if deleted_at:
        warmup_s = max(warmup_s, deleted_at[0])
    head = (
        "| minute | RSS median MB | min | max | glibc heap used / free MB | jemalloc "
        "resident MB | DuckDB buffers MB | samples/s | spans/s | load |"
    )
    lines = ["", head, "|---|---|---|---|---|---|---|---|---|---|"]
    wall_ms0 = wall0 * 1000

    def med(rows: list[dict[str, Any]], key: str, sub: str | None = None) -> float:
        values = [(r.get(key) or {}).get(sub, 0) if sub else r.get(key, 0) for r in rows]
        return statistics.median(values) if values else 0.0

    for m in range(int(elapsed // 60)):
        rss = [mb for at, mb, _ in curve if m * 60 <= at < (m + 1) * 60]
        load = [ld for at, _, ld in curve if m * 60 <= at < (m + 1) * 60]
        rows = [r for r in probe if m * 60 <= r["t"] - wall0 < (m + 1) * 60]
        n_s = sum(1 for ts in acked_ts if m * 60_000 <= ts - wall_ms0 < (m + 1) * 60_000)
        n_sp = sum(1 for at, _, _ in acked_spans if m * 60 <= at - wall0 < (m + 1) * 60)
        tag = " (warm-up)" if (m + 1) * 60 <= warmup_s else ""
        lines.append(f"| {m}-{m + 1}{tag} | {statistics.median(rss):.0f} | {min(rss):.0f} | "
                     f"{max(rss):.0f} | {med(rows, 'heap_used_mb'):.0f} / "
                     f"{med(rows, 'heap_free_mb'):.0f} | {med(rows, 'je', 'resident'):.0f} | "
                     f"{med(rows, 'duck_mb'):.0f} | {n_s * PER_REQUEST / 60:,.0f} | "
                     f"{n_sp * SPANS / 60:,.0f} | {min(load):.1f}-{max(load):.1f} |")  # fmt: skip
    lines.append(f"\nretention passes: {len(passes)}, deleting {len(deleted_at)}, compacting "
                 f"{sum(1 for _, e in passes if e['compacted'])}; first deletion at "
                 f"{deleted_at[0] if deleted_at else float('nan'):.0f} s; longest pass "
                 f"{max((e['took_s'] for _, e in passes), default=0):.1f} s")  # fmt: skip
    warm = [mb for at, mb, _ in curve if at >= warmup_s]
    if warm:
        mid = statistics.median(warm)
        lo, hi = (min(warm) / mid - 1) * 100, (max(warm) / mid - 1) * 100
        inside = sum(1 for mb in warm if abs(mb / mid - 1) <= 0.10) / len(warm) * 100
        verdict = "MET" if max(abs(lo), abs(hi)) <= 10 else "NOT met"
        lines.append(f"RSS after warm-up ({warmup_s:.0f} s): median {mid:.0f} MB, "
                     f"{min(warm):.0f}-{max(warm):.0f} MB ({lo:+.0f}% / {hi:+.0f}%), "
                     f"{inside:.0f}% of 1 s samples within ±10%: {verdict}")  # fmt: skip
    total_s = len(acked_ts) * PER_REQUEST
    lines.append(f"achieved: {total_s / elapsed:,.0f} samples/s (target {args.samples_per_s:,}), "
                 f"{len(acked_spans) * SPANS / elapsed:,.0f} spans/s (target "
                 f"{args.spans_per_s:,}); server CPU {server_cpu / elapsed:.2f} cores, "
                 f"senders {sender_cpu / elapsed:.2f} cores; load "
                 f"{min(c[2] for c in curve):.1f}-{max(c[2] for c in curve):.1f}")  # fmt: skip
    lines.append(f"acknowledged: {total_s:,} samples, {len(acked_spans) * SPANS:,} spans; "
                 f"{rounds} query rounds (slowest {slowest:.1f} s); errors {len(errors)} "
                 f"{errors[:3]}")  # fmt: skip
    lines.append(f"acknowledged but lost: {lost}")
    return "\n".join(lines)


def verify(
    url: str, acked_ts: list[int], acked_spans: list[tuple[float, int, int]], retention_s: float
) -> str:
    """What was acknowledged in the last minute and cannot be read back."""
    now_ms = int(time.time() * 1000)
    # the window stays 30 s clear of retention's edge: a retention pass running during this
    # check would otherwise delete the window's oldest samples (a short --retention 1m run once
    # reported 1,000 "lost" samples that way)
    window_s = max(10, min(60, int(retention_s) - 30))
    since = now_ms - window_s * 1000
    recent = sum(1 for t in acked_ts if t >= since) * PER_REQUEST
    conn = _Conn(url)
    query = f"sum(count_over_time(soak_requests_total[{window_s}s]))"
    q = urlencode({"query": query, "time": now_ms / 1000})
    status, body = conn.request("GET", "/api/v1/query?" + q)
    result = json.loads(body)["data"]["result"] if status == 200 else []
    got = int(float(result[0]["value"][1])) if result else 0
    missing = checked = 0
    failures: list[str] = []
    t0 = time.monotonic()
    for at, sender, batch in acked_spans:
        # with a short --retention, a trace could age out while this loop runs: skip those
        if at * 1000 > max(since, now_ms - (retention_s - 30) * 1000):
            for t, trace_id in enumerate(trace_ids(sender, batch)[:2]):
                checked += 1
                status, body = conn.request("GET", f"/api/v1/traces/{trace_id}")
                want = len(range(t, SPANS, TRACES))
                got_spans = len(json.loads(body)["data"]["spans"]) if status == 200 else 0
                if got_spans != want:
                    missing += 1
                    if len(failures) < 3:
                        age = time.time() - at
                        failures.append(f"{trace_id} acked {age:.0f} s before: HTTP {status}, "
                                        f"{got_spans} of {want} spans")  # fmt: skip
    return (
        f"samples {recent - got} of {recent:,} in the last {window_s} s; traces {missing} of "
        f"{checked} checked (each with all its spans; {time.monotonic() - t0:.0f} s)"
    )


if __name__ == "__main__":
    main()
