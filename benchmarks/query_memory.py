"""Peak memory and time of one wide range query, read in batches of series or in one piece.

The soak's query (``sum by (job) (rate(soak_requests_total[1m]))`` over the last 5 minutes at a
15 s step, 20,000 series) materialised every selected sample at once; the engine now reads and
evaluates a range function over more than ``FIRST_BATCH`` series in batches of about
``BATCH_SAMPLES`` samples (promql/engine.py). This
measures both ways on the same DuckDB data directory:

* the data: ``--series`` counters (``--jobs`` jobs) with one sample every ``--interval-ms`` for
  ``--minutes`` minutes, appended in time order into a fresh store;
* each measurement is a new process that opens the store, runs the query once (``first``: read
  from DuckDB) and ``--repeat`` more times (``warm``), and reports the rise of its peak resident
  memory (``VmHWM``, reset through ``/proc/self/clear_refs`` after the store is open) and the
  wall-clock and CPU time of each run;
* modes alternate (one piece, batched, one piece, ...) for ``--rounds`` rounds, so load changes
  hit both alike; the answers of the two modes are compared bit for bit.

Run: ``.venv/bin/python benchmarks/query_memory.py [--series 20000] [--interval-ms 1000]
[--minutes 6] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

QUERY = "sum by (job) (rate(bench_requests_total[1m]))"


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def build(data: Path, series: int, jobs: int, interval_ms: int, minutes: float, end_ms: int) -> int:
    from tripod.server.store.db import Database
    from tripod.server.store.samples import DuckSampleStore

    db = Database(data)
    try:
        store = DuckSampleStore(db)
        refs = np.array(
            [
                store.ref(
                    {"__name__": "bench_requests_total", "job": f"job{i % jobs}", "i": str(i)}
                )
                for i in range(series)
            ],
            dtype=np.int64,
        )
        points = int(minutes * 60_000 // interval_ms)
        rng = np.random.default_rng(1)
        totals = rng.integers(0, 1000, series).astype(np.float64)
        start = end_ms - points * interval_ms
        block = max(1, 2_000_000 // series)  # about 2 M samples per append
        for k in range(0, points, block):
            n = min(block, points - k)
            stamps = np.repeat(start + (k + np.arange(n, dtype=np.int64)) * interval_ms, series)
            steps = rng.integers(0, 5, (n, series)).astype(np.float64)
            values = (totals + np.cumsum(steps, axis=0)).ravel()
            totals = values[-series:].copy()
            store.append_refs(np.tile(refs, n), stamps, values)
        return points * series
    finally:
        db.close()


class _OnePiece:
    def __init__(self, store: Any) -> None:
        self.select_flat = store.select_flat


def measure(data: Path, batch: int, end_ms: int, repeat: int) -> dict[str, object]:
    """One process, one mode: peak memory rise and times."""
    from tripod.server.promql.engine import Engine
    from tripod.server.store.db import Database
    from tripod.server.store.samples import DuckSampleStore

    db = Database(data)
    try:
        store = DuckSampleStore(db)
        # batch 0: the one-piece path (a reader without select_ids, as the rules' cache is)
        engine = Engine(_OnePiece(store) if batch == 0 else store, batch_series=batch or 1)  # type: ignore[arg-type]
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS
        base = _status("VmRSS")
        times = []
        result = None
        for _ in range(1 + repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            result = engine.range(QUERY, end_ms - 300_000, end_ms, 15_000)
            times.append((time.perf_counter() - w0, time.process_time() - c0))
        peak = _status("VmHWM")
        assert result is not None
        vec = result.value
        answer = {
            "labels": [list(map(list, lab)) for lab in vec.labels],  # type: ignore[union-attr]
            "bits": np.where(vec.present, vec.values.view(np.int64), 0).tolist(),  # type: ignore[union-attr]
        }
        return {
            "rise_mb": (peak - base) / 1e6,
            "base_mb": base / 1e6,
            "times": times,
            "answer": answer,
        }
    finally:
        db.close()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--series", type=int, default=20_000)
    ap.add_argument("--jobs", type=int, default=10)
    ap.add_argument("--interval-ms", type=int, default=1_000)
    ap.add_argument("--minutes", type=float, default=6.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument(
        "--batch", type=int, default=0, help="most series per batch (default: the engine's)"
    )
    ap.add_argument("--child", nargs=3, metavar=("DATA", "BATCH", "END_MS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        data, batch, end_ms = args.child
        out = measure(Path(data), int(batch), int(end_ms), args.repeat)
        print(json.dumps(out))
        return
    from tripod.server.promql.engine import BATCH_SERIES

    batch = args.batch or BATCH_SERIES
    end_ms = (int(time.time() * 1000) // 15_000) * 15_000
    with tempfile.TemporaryDirectory(prefix="tripod-qmem-") as tmp:
        data = Path(tmp) / "data"
        t0 = time.perf_counter()
        n = build(data, args.series, args.jobs, args.interval_ms, args.minutes, end_ms)
        print(
            f"stored {n:,} samples of {args.series:,} series in {time.perf_counter() - t0:.1f} s; "
            f"query: {QUERY} over 5 min at 15 s; load {os.getloadavg()[0]:.1f}"
        )
        modes = {"one piece": 0, f"batches (≤ {batch:,} series)": batch}
        runs: dict[str, list[dict[str, object]]] = {m: [] for m in modes}
        answers = {}
        for _ in range(args.rounds):
            for mode, size in modes.items():
                proc = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--repeat",
                        str(args.repeat),
                        "--child",
                        str(data),
                        str(size),
                        str(end_ms),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                out = json.loads(proc.stdout)
                answers[mode] = out.pop("answer")
                runs[mode].append(out)
        same = len({json.dumps(a) for a in answers.values()}) == 1
        print(f"answers equal bit for bit: {same}; load {os.getloadavg()[0]:.1f}")
        print(
            f"{'mode':<20} {'peak rise MB':>14} {'first wall s':>13} {'first CPU s':>12} "
            f"{'warm wall s':>12} {'warm CPU s':>11}"
        )
        for mode, rs in runs.items():
            rise = statistics.median(float(r["rise_mb"]) for r in rs)  # type: ignore[arg-type]
            first = [r["times"][0] for r in rs]  # type: ignore[index]
            warm = [t for r in rs for t in r["times"][1:]]  # type: ignore[index]
            print(
                f"{mode:<20} {rise:>14.0f} {statistics.median(f[0] for f in first):>13.2f} "
                f"{statistics.median(f[1] for f in first):>12.2f} "
                f"{statistics.median(w[0] for w in warm) if warm else float('nan'):>12.2f} "
                f"{statistics.median(w[1] for w in warm) if warm else float('nan'):>11.2f}"
            )
        print(
            f"(medians of {args.rounds} processes per mode; max RSS of this parent "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB)"
        )
        if not same:
            sys.exit("the two modes answered differently")


if __name__ == "__main__":
    main()
