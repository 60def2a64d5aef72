"""PromQL query latency: tripod vs a real Prometheus 2.42 on the same data, in the same run.

Data (seeded): 1,000 counter series x 6 h at 15 s, a classic histogram (20 instances x 12
buckets, same span), and 100,000 gauge series with the last 2 minutes of samples. It is written
once as OpenMetrics, backfilled into Prometheus with ``promtool tsdb create-blocks-from
openmetrics`` and imported into tripod through ``POST /api/v1/import/prometheus``.

Timed (median and min of ``--runs`` after one warm-up, wall clock over HTTP on 127.0.0.1, and
the server process's CPU time from /proc; the warm-up call is shown as ``first``, which for
tripod includes reading the samples from DuckDB into its read cache; each round times every
server once, in a rotating order, so a change of load hits them alike):
  range   sum by (job) (rate(bench_requests_total[5m]))                       6 h, step 60 s
  range   histogram_quantile(0.99, sum by (le) (rate(bench_latency_seconds_bucket[5m])))
  instant sum by (job) (bench_wide)                                           100,000 series

Run: ``.venv/bin/python benchmarks/promql.py [--runs 7] [--scale 1.0] [--baseline-src DIR]
[--range-only]`` (``--range-only``: no wide gauge family, only the two range queries).

``--baseline-src DIR`` also starts a `tripod serve` from another checkout's ``src`` (e.g. one
made with ``git archive HEAD~1``) on the same data and times it in the same rounds: a refactor's
before and after, under the same load.

``--compress-samples true|false`` runs every tripod with that ``storage: compress_samples:``
(default: each server's own default; ``--baseline-compress-samples`` sets the baseline's
apart); the timing then starts once the servers' background compaction after the import is
over (their CPU idle). ``--cold N`` adds N cold rounds: every tripod restarted on its data
(nothing cached), then each range query's first call timed.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conformance.compare import diff  # noqa: E402
from tests.conformance.harness import OPENMETRICS_TYPE, Answer, create_blocks  # noqa: E402
from tests.helpers.procs import Proc, start_prometheus, start_tripod_serve  # noqa: E402

EPOCH = 1_706_745_600  # 2024-02-01T00:00:00Z, aligned to 2 h blocks
SPAN = 6 * 3600
STEP = 15
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf")
MAX_CHUNK_LINES = 100_000


def _series_lines(name: str, labels: str, times: np.ndarray, values: np.ndarray) -> list[str]:
    prefix = f"{name}{{{labels}}} "
    return [f"{prefix}{v:.17g} {t}" for t, v in zip(times.tolist(), values.tolist(), strict=True)]


def write_data(
    path: Path, scale: float, rng: np.random.Generator, *, wide: bool = True
) -> dict[str, int]:
    """Write the benchmark data set; returns series counts by family."""
    times = np.arange(EPOCH, EPOCH + SPAN + 1, STEP)
    n_counter = max(10, int(1000 * scale))
    n_hist_inst = max(2, int(20 * scale))
    n_wide = max(100, int(100_000 * scale)) if wide else 0
    with path.open("w") as out:
        out.write("# HELP bench_requests Requests.\n# TYPE bench_requests counter\n")
        for i in range(n_counter):
            values = np.cumsum(rng.poisson(10.0, len(times))).astype(float)
            labels = f'job="job{i % 10}",instance="inst{i}"'
            out.write("\n".join(_series_lines("bench_requests_total", labels, times, values)))
            out.write("\n")
        out.write("# HELP bench_latency_seconds Latency.\n# TYPE bench_latency_seconds histogram\n")
        bounds = np.array([float(b) for b in BUCKETS[:-1]])
        for i in range(n_hist_inst):
            obs_per_step = rng.poisson(50, len(times))
            counts = np.zeros((len(times), len(BUCKETS)))
            for k, n in enumerate(obs_per_step):
                idx = np.searchsorted(bounds, rng.lognormal(math.log(0.1), 1.0, n))
                counts[k] = np.bincount(idx, minlength=len(BUCKETS))
            cumulative = np.cumsum(np.cumsum(counts, axis=0), axis=1)
            base = f'job="job{i % 4}",instance="inst{i}"'
            for b, le in enumerate(BUCKETS):
                lines = _series_lines("bench_latency_seconds_bucket", f'{base},le="{le}"',
                                      times, cumulative[:, b])  # fmt: skip
                out.write("\n".join(lines) + "\n")
            sums = np.cumsum(rng.gamma(2.0, 2.5, len(times)))
            out.write("\n".join(_series_lines("bench_latency_seconds_sum", base, times, sums)))
            out.write("\n")
            out.write("\n".join(_series_lines("bench_latency_seconds_count", base, times,
                                              cumulative[:, -1])) + "\n")  # fmt: skip
        out.write("# HELP bench_wide Many series.\n# TYPE bench_wide gauge\n")
        recent = times[-9:]
        for i in range(n_wide):
            labels = f'job="job{i % 10}",instance="inst{i // 100}",shard="s{i}"'
            values = rng.random(len(recent)).round(4)
            out.write("\n".join(_series_lines("bench_wide", labels, recent, values)) + "\n")
        out.write("# EOF\n")
    return {"bench_requests_total": n_counter, "bench_latency_seconds_bucket":
            n_hist_inst * len(BUCKETS), "bench_wide": n_wide}  # fmt: skip


def import_chunks(path: Path) -> list[bytes]:
    """Split the file into import bodies: whole series, a TYPE header each, ending in EOF."""
    bodies: list[bytes] = []
    header: list[str] = []
    lines: list[str] = []
    last_series = ""

    def flush() -> None:
        if lines:
            bodies.append(("\n".join([*header, *lines, "# EOF"]) + "\n").encode())
            lines.clear()

    with path.open() as src:
        for raw in src:
            line = raw.rstrip("\n")
            if line == "# EOF":
                break
            if line.startswith("# HELP"):
                flush()
                header = [line]
                continue
            if line.startswith("# TYPE"):
                header.append(line)
                continue
            series = line.rsplit(" ", 2)[0]
            if series != last_series and len(lines) >= MAX_CHUNK_LINES:
                flush()
            last_series = series
            lines.append(line)
    flush()
    return bodies


def load_tripod(url: str, path: Path) -> float:
    start = time.perf_counter()
    with httpx.Client(base_url=url, timeout=600.0) as client:
        for body in import_chunks(path):
            r = client.post("/api/v1/import/prometheus", content=body,
                            headers={"Content-Type": OPENMETRICS_TYPE})  # fmt: skip
            if r.status_code >= 300:
                msg = f"tripod import answered {r.status_code}: {r.text[:300]}"
                raise RuntimeError(msg)
    return time.perf_counter() - start


def answer(client: httpx.Client, path: str, params: dict[str, str]) -> Answer:
    """The warm-up request, which must succeed; its answer is compared across servers."""
    r = client.get(path, params=params)
    try:
        body = r.json()
    except ValueError:
        body = {}
    if body.get("status") != "success":
        msg = f"{client.base_url}{path} {params['query']!r} failed: {r.text[:300]}"
        raise RuntimeError(msg)
    return Answer.from_response(r)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a server process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(
    clients: list[httpx.Client], pids: list[int], path: str, params: dict[str, str], runs: int
) -> list[tuple[float, float, float]]:
    """Per client: (median wall s, min wall s, median server CPU s) over ``runs`` rounds; a
    round times every client once, the first of them rotating, so load that comes and goes is
    shared out evenly."""
    wall: list[list[float]] = [[] for _ in clients]
    cpu: list[list[float]] = [[] for _ in clients]
    for r in range(runs):
        for k in range(len(clients)):
            i = (r + k) % len(clients)
            c = cpu_seconds(pids[i])
            t = time.perf_counter()
            clients[i].get(path, params=params).raise_for_status()
            wall[i].append(time.perf_counter() - t)
            cpu[i].append(cpu_seconds(pids[i]) - c)
    return [
        (statistics.median(w), min(w), statistics.median(c)) for w, c in zip(wall, cpu, strict=True)
    ]


def start_tripod(root: Path, src: Path | None, config: Path | None) -> Proc:
    """A `tripod serve` on ``root``; from ``src`` (a checkout's ``src``) if given."""
    saved = os.environ.get("PYTHONPATH")
    if src is not None:
        os.environ["PYTHONPATH"] = str(src.resolve())
    extra = ("--config", str(config)) if config is not None else ()
    try:
        return start_tripod_serve(root, "--retention-time", "0", *extra)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


@contextlib.contextmanager
def tripod_server(root: Path, src: Path | None, config: Path | None = None) -> Iterator[Proc]:
    """A `tripod serve` on an empty data directory; from ``src`` (a checkout's ``src``) if given."""
    proc = start_tripod(root, src, config)
    try:
        yield proc
    finally:
        proc.stop()


def wait_idle(pids: list[int], quiet_s: float = 2.0, limit_s: float = 600.0) -> float:
    """Wait until none of ``pids`` used more than 2% of a CPU for ``quiet_s`` (a background
    compaction is over); returns the seconds waited."""
    start = time.perf_counter()
    last = [cpu_seconds(p) for p in pids]
    calm = 0.0
    while calm < quiet_s and time.perf_counter() - start < limit_s:
        time.sleep(0.5)
        now = [cpu_seconds(p) for p in pids]
        busy = any(b - a > 0.01 for a, b in zip(last, now, strict=True))
        calm = 0.0 if busy else calm + 0.5
        last = now
    return time.perf_counter() - start


def cold_rounds(
    servers: list[tuple[Path, Path | None, Path | None]],
    rounds: int,
    queries: list[tuple[str, str]],
) -> None:
    """Per round: every tripod restarted on its data, then each range query's first call
    timed (wall and server CPU), the servers in a rotating order."""
    end = EPOCH + SPAN
    ranges = [q for kind, q in queries if kind == "range"]
    wall: list[list[list[float]]] = [[[] for _ in servers] for _ in ranges]
    cpu: list[list[list[float]]] = [[[] for _ in servers] for _ in ranges]
    for r in range(rounds):
        procs = [start_tripod(root, src, config) for root, src, config in servers]
        try:
            for q, query in enumerate(ranges):
                params = {"query": query, "start": str(EPOCH), "end": str(end), "step": "60"}
                for k in range(len(procs)):
                    i = (r + k) % len(procs)
                    with httpx.Client(base_url=procs[i].url, timeout=600) as client:
                        c = cpu_seconds(procs[i].proc.pid)
                        t = time.perf_counter()
                        client.get("/api/v1/query_range", params=params).raise_for_status()
                        wall[q][i].append(time.perf_counter() - t)
                        cpu[q][i].append(cpu_seconds(procs[i].proc.pid) - c)
        finally:
            for proc in procs:
                proc.stop()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\ncold: first call after a restart, median (min) of {rounds} rounds; load {load}")
    names = ["tripod", "baseline"]
    for q, query in enumerate(ranges):
        print(f"range {query}")
        for i, name in enumerate(names[: len(servers)]):
            walls, cpus = wall[q][i], cpu[q][i]
            med_w, med_c = statistics.median(walls) * 1000, statistics.median(cpus) * 1000
            print(f"  {name:<10} wall {med_w:8.1f} ms (min {min(walls) * 1000:7.1f}) "
                  f"cpu {med_c:7.1f} ms")  # fmt: skip


def stored(root: Path) -> str:
    """Where a stopped tripod's samples are: head rows and samples in chunks."""
    con = duckdb.connect(str(root / "tripod.duckdb"), read_only=True)
    try:
        head = con.execute("SELECT count(*) FROM samples").fetchone()
        row = con.execute("SELECT coalesce(sum(n), 0), count(*) FROM chunks").fetchone()
    finally:
        con.close()
    assert head is not None
    assert row is not None
    return f"{head[0]:,} head rows, {row[0]:,} samples in {row[1]:,} chunks"


QUERIES = (
    ("range", "sum by (job) (rate(bench_requests_total[5m]))"),
    ("range", "histogram_quantile(0.99, sum by (le) (rate(bench_latency_seconds_bucket[5m])))"),
    ("instant", "sum by (job) (bench_wide)"),
)


def _config(path: Path, compress_samples: str | None) -> Path | None:
    """A --config file setting ``storage: compress_samples:``, or None to keep the default."""
    if compress_samples is None:
        return None
    path.write_text(f"storage: {{compress_samples: {compress_samples}}}\n")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the series counts")
    parser.add_argument("--range-only", action="store_true", help="skip the wide instant query")
    parser.add_argument("--baseline-src", type=Path, default=None,
                        help="another checkout's src/ to time alongside")  # fmt: skip
    parser.add_argument("--compress-samples", choices=("true", "false"), default=None,
                        help="storage: compress_samples: for every tripod")  # fmt: skip
    parser.add_argument("--baseline-compress-samples", choices=("true", "false"), default=None,
                        help="the baseline's own (default: --compress-samples)")  # fmt: skip
    parser.add_argument("--cold", type=int, default=0, metavar="N",
                        help="N rounds of first calls after a restart")  # fmt: skip
    args = parser.parse_args()
    rng = np.random.default_rng(12345)
    with tempfile.TemporaryDirectory(prefix="tripod-bench-promql-") as tmp:
        work = Path(tmp)
        data = work / "data.om"
        t = time.perf_counter()
        counts = write_data(data, args.scale, rng, wide=not args.range_only)
        print(f"data: {counts}, {data.stat().st_size / 1e6:.0f} MB written in "
              f"{time.perf_counter() - t:.1f}s")  # fmt: skip
        t = time.perf_counter()
        create_blocks(data, work / "prom" / "tsdb")
        print(f"promtool backfill: {time.perf_counter() - t:.1f}s")
        # min = max block duration switches off compaction, which would otherwise merge the
        # three 2 h blocks into one 6 h block a minute after start, in the middle of the timing.
        flags = ("--storage.tsdb.retention.time=100y", "--storage.tsdb.min-block-duration=2h",
                 "--storage.tsdb.max-block-duration=2h")  # fmt: skip
        prom = start_prometheus(work / "prom", "scrape_configs: []\n", *flags,
                                storage=work / "prom" / "tsdb")  # fmt: skip
        roots: list[tuple[Path, Path | None, Path | None]] = [
            (work / "tripod", None, _config(work / "tripod.yml", args.compress_samples))
        ]
        if args.baseline_src is not None:
            flag = args.baseline_compress_samples or args.compress_samples
            roots.append((work / "baseline", args.baseline_src, _config(work / "base.yml", flag)))
        queries = [q for q in QUERIES if q[0] == "range" or not args.range_only]
        try:
            with contextlib.ExitStack() as stack:
                servers = [stack.enter_context(tripod_server(*root)) for root in roots]
                for server in servers:
                    print(f"tripod import ({server.url}): {load_tripod(server.url, data):.1f}s")
                if any(config is not None for _, _, config in roots):
                    waited = wait_idle([s.proc.pid for s in servers])
                    print(f"servers idle (background compaction over) after {waited:.1f}s")
                run_queries([prom, *servers], args.runs, queries)
            for root, _, _ in roots:
                print(f"{root.name}: {stored(root)}")
            if args.cold:
                cold_rounds(roots, args.cold, queries)
        finally:
            prom.stop()
    return 0


def run_queries(servers: list[Proc], runs: int, queries: list[tuple[str, str]]) -> None:
    """``servers``: Prometheus, tripod, then optionally the baseline tripod."""
    end = EPOCH + SPAN
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nmedian (min) wall clock and median server CPU of {runs} rounds after 1 warm-up "
          f"(first = the warm-up call); ratio = tripod / prometheus; load {load}")  # fmt: skip
    names = ["prometheus", "tripod", "baseline"][: len(servers)]
    clients = [httpx.Client(base_url=s.url, timeout=600) for s in servers]
    pids = [s.proc.pid for s in servers]
    with contextlib.ExitStack() as stack:
        for client in clients:
            stack.enter_context(client)
        for kind, query in queries:
            if kind == "range":
                path = "/api/v1/query_range"
                params = {"query": query, "start": str(EPOCH), "end": str(end), "step": "60"}
            else:
                path, params = "/api/v1/query", {"query": query, "time": str(end)}
            answers, firsts = [], []
            for c in clients:
                t = time.perf_counter()
                answers.append(answer(c, path, params))
                firsts.append(time.perf_counter() - t)
            figures = timed(clients, pids, path, params, runs)
            differences = [d for a in answers[1:] for d in diff(answers[0], a)]
            same = "same answer" if not differences else f"DIFFERENT: {differences[0]}"
            print(f"{kind} {query}  ({len(answers[0].result)} series; {same})")
            p_med, p_min, p_cpu = figures[0]
            for name, first, (med, low, cpu) in zip(names, firsts, figures, strict=True):
                ratio = (f"  ratio wall {med / p_med:.2f}x (min {low / p_min:.2f}x) "
                         f"cpu {cpu / p_cpu:.2f}x") if name != "prometheus" else ""  # fmt: skip
                print(f"  {name:<10} wall {med * 1000:8.1f} ms (min {low * 1000:7.1f}) "
                      f"cpu {cpu * 1000:7.1f} ms  first {first * 1000:8.1f} ms{ratio}")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
