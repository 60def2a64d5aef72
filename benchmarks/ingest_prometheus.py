"""Prometheus ingest figures for docs/benchmarks.md: remote-write sample rate into a real
`tripod serve` over loopback, where the time goes (decode vs store), and the scrape
parse+store rate for a large target.

Run: .venv/bin/python benchmarks/ingest_prometheus.py [--samples 1000000] [--series 20000]
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
import numpy as np
from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.procs import Proc, start_prometheus, start_tripod_serve

from tripod.server._http import decode_content
from tripod.server.config import Limits, ServerConfig, parse_scrape_configs
from tripod.server.deps import ServerContext
from tripod.server.ingest._prom_remote import LabelCache, decode_write_request
from tripod.server.ingest._prompb import WriteRequest
from tripod.server.ingest.scrape import TargetWriter, targets_for
from tripod.server.store import Database, DuckSampleStore

HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def _labels(i: int) -> list[tuple[str, str]]:
    return [
        ("__name__", f"http_requests_{i % 20}_total"),
        ("instance", f"10.0.{i % 7}.{i % 251}:9100"),
        ("job", "api"),
        ("method", ("GET", "POST", "PUT")[i % 3]),
        ("path", f"/api/v1/items/{i % 97}"),
        ("series", str(i)),
        ("status", str(200 + i % 5)),
    ]


def build_bodies(series: int, per_request: int, points: int, rounds: int, t0: int) -> list[bytes]:
    """Snappy WriteRequests like Prometheus's shards send: ``per_request`` series of
    ``points`` samples each, the whole series set once per round, time moving forward."""
    bodies = []
    labels = [_labels(i) for i in range(series)]
    for r in range(rounds):
        for start in range(0, series, per_request):
            req = WriteRequest()
            for i in range(start, min(start + per_request, series)):
                ts = req.timeseries.add()
                for name, value in labels[i]:
                    ts.labels.add(name=name, value=value)
                for p in range(points):
                    ts.samples.add(timestamp=t0 + (r * points + p) * 15_000, value=float(i + r + p))
            bodies.append(bytes(cramjam.snappy.compress_raw(req.SerializeToString())))
    return bodies


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc), load-independent."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def remote_write_e2e(
    bodies: list[bytes], samples: int, clients: int, blocks: int, peer: bool = False
) -> tuple[float, float]:
    """Samples/s stored by a real `tripod serve` fed by ``clients`` concurrent senders, and
    samples per CPU-second of the server process (what load on the machine cannot skew).

    Like Prometheus's shards, each sender always carries the same series (request ``i`` holds
    series block ``i % blocks``), so every series arrives in time order.
    """
    warm = blocks * max(1, len(bodies) // blocks // 10)  # whole rounds: they create the series
    rest = list(enumerate(bodies))[warm:]
    if not rest:
        msg = "too few samples for a warm-up round and a measured part: raise --samples"
        raise SystemExit(msg)
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, _server(Path(tmp), peer) as proc:
        url = proc.url + "/api/v1/write"
        with httpx.Client() as client:
            for body in bodies[:warm]:
                client.post(url, content=body, headers=HEADERS).raise_for_status()

        def send(chunk: list[bytes]) -> None:
            with httpx.Client(timeout=60) as client:
                for body in chunk:
                    r = client.post(url, content=body, headers=HEADERS)
                    if r.status_code != 204:
                        failures.append(r.text)

        per = [[b for i, b in rest if (i % blocks) % clients == c] for c in range(clients)]
        cpu = _cpu_seconds(proc.proc.pid)
        start = time.perf_counter()
        threads = [threading.Thread(target=send, args=(chunk,)) for chunk in per]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
        cpu = _cpu_seconds(proc.proc.pid) - cpu
    if failures:
        print(f"  {len(failures)} requests failed, e.g. {failures[0][:200]}")
    measured = samples * (len(rest) / len(bodies))
    return measured / elapsed, measured / cpu


def _server(tmp: Path, peer: bool) -> Proc:
    """`tripod serve`, or (``peer``) Prometheus 2.42 with its remote-write receiver on."""
    if peer:
        flags = ("--web.enable-remote-write-receiver", "--storage.tsdb.retention.time=30d")
        return start_prometheus(tmp / "prom", "global:\n  scrape_interval: 1h\n", *flags)
    return start_tripod_serve(tmp / "data", "--retention-time", "0")


def remote_write_breakdown(
    bodies: list[bytes], samples: int, general: bool = False
) -> tuple[float, float, float]:
    """In one process: samples per CPU-second decoding (snappy + protobuf + labels) and
    appending (process CPU time, DuckDB's threads included, so machine load barely skews it)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "data")
        store = DuckSampleStore(db, Limits(), 0.0)
        cache = LabelCache(Limits(), store.ref)
        if general:  # the general path only (what every request took before the fast path)
            cache.fast.decode = lambda series, max_ts: None  # type: ignore[method-assign]
        decode_s = append_s = 0.0
        for body in bodies:
            t = time.process_time()
            raw = decode_content(body, "snappy", Limits().max_body_bytes * 8)
            d = decode_write_request(raw, Limits(), cache)
            sids = np.array(d.keys, dtype=np.int64)
            stamps = np.array(d.stamps, dtype=np.int64)
            values = np.array(d.values, dtype=np.float64)
            t2 = time.process_time()
            store.append_refs(sids, stamps, values)
            append_s += time.process_time() - t2
            decode_s += t2 - t
        db.close()
    return samples / decode_s, samples / append_s, samples / (decode_s + append_s)


def _exposition(series: int, scrape: int) -> str:
    lines = ["# HELP app_requests_total Requests.", "# TYPE app_requests_total counter"]
    for i in range(series):
        lines.append(
            f'app_requests_total{{method="GET",path="/api/v1/item/{i}",status="200"}} {i + scrape}'
        )
    return "\n".join(lines) + "\n"


def scrape_rate(series: int, scrapes: int) -> tuple[float, float]:
    """Samples per CPU-second a target writer parses and stores for a ``series``-series target
    (the first scrape creates the series; later scrapes are the steady state)."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "data")
        store = DuckSampleStore(db, Limits(max_series_per_metric=10**7), 0.0)
        ctx = ServerContext(
            config=ServerConfig(data_dir=Path(tmp)),
            db=db,
            samples=store,
            spans=None,
            logs=None,
            registry=CollectorRegistry(),
        )
        (cfg,) = parse_scrape_configs(
            [{"job_name": "big", "static_configs": [{"targets": ["h:1"]}]}]
        )
        (target,) = targets_for(cfg, cfg.static_configs).values()
        writer = TargetWriter(ctx, cfg, target)
        bodies = [_exposition(series, s) for s in range(scrapes)]
        t0 = int(time.time() * 1000) - scrapes * 15_000
        start = time.process_time()
        writer.success(bodies[0], False, t0, 0.01)
        first = series / (time.process_time() - start)
        start = time.process_time()
        for s in range(1, scrapes):
            result = writer.success(bodies[s], False, t0 + s * 15_000, 0.01)
            if not result.up or result.stored.accepted < series:
                raise RuntimeError(f"scrape {s} was not stored whole: {result}")
        steady = series * (scrapes - 1) / (time.process_time() - start)
        db.close()
    return first, steady


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--series", type=int, default=20_000)
    parser.add_argument("--per-request", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--scrape-series", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1, help="interleaved tripod/Prometheus runs")
    parser.add_argument("--points", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--e2e-only", action="store_true", help="skip the in-process parts")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    t0 = int(time.time() * 1000) - 86_400_000
    for points in args.points:
        rounds = max(1, args.samples // (args.series * points))
        bodies = build_bodies(args.series, args.per_request // points, points, rounds, t0)
        samples = rounds * args.series * points
        blocks = -(-args.series // (args.per_request // points))
        for run in range(args.runs):  # interleaved, so both see the same machine load
            rate, per_cpu = remote_write_e2e(bodies, samples, args.clients, blocks)
            peer_rate, peer_cpu = remote_write_e2e(bodies, samples, args.clients, blocks, True)
            print(
                f"remote write run {run + 1}, {points} sample(s)/series, {args.per_request} "
                f"samples/request, {args.clients} clients, {args.series} series, "
                f"{samples:,} samples: tripod {rate:,.0f}/s wall-clock ({per_cpu:,.0f} per "
                f"server CPU-second); Prometheus {peer_rate:,.0f}/s ({peer_cpu:,.0f} per CPU-s); "
                f"ratio {rate / peer_rate:.2f} wall-clock, {per_cpu / peer_cpu:.2f} per CPU-s",
                flush=True,
            )
        if args.e2e_only:
            continue
        for general in (False, True):
            dec, app, both = remote_write_breakdown(bodies, samples, general)
            print(
                f"  in-process, {'general path' if general else 'fast path'}, per CPU-second: "
                f"decode {dec:,.0f} samples, store append_refs {app:,.0f} samples, together "
                f"{both:,.0f} samples"
            )
    if args.e2e_only:
        return
    first, steady = scrape_rate(args.scrape_series, 6)
    print(
        f"scrape parse+store, {args.scrape_series} series target, per CPU-second: first scrape "
        f"{first:,.0f} samples, steady state {steady:,.0f} samples "
        f"({args.scrape_series / steady * 1000:.0f} CPU-ms per scrape)"
    )


if __name__ == "__main__":
    main()
